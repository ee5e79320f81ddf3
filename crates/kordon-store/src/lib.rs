//! kordon's store: one SQLite database (WAL mode) behind `sqlx`, its migrations, the seeded
//! catalogues, one repository module per kind of object, and the change events other planes
//! rebuild their snapshots from.
//!
//! Every read that a non-superuser can trigger takes a [`Scope`], and the scope is applied in
//! SQL, so isolation between panel users does not depend on handlers remembering a check.

pub mod catalog;
pub mod error;
pub mod events;
pub mod history;
pub mod ipfilter;
mod json_rows;
pub mod listing;
pub mod ports;
pub mod proxies;
pub mod proxy_counters;
pub mod proxy_ips;
pub mod proxy_logins;
pub mod proxy_plane;
pub mod site_lists;
pub mod users;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use error::StoreError;
pub use events::Change;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Who a query is for: everything (superusers, the planes themselves) or what one panel user
/// has been delegated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    User(i64),
}

/// Connections in the pool. WAL lets readers run in parallel; more connections than about
/// twice the cores only add page caches, not throughput.
const POOL_CONNECTIONS: u32 = 4;

/// The shared handle: a connection pool, the change-event sender and the ipfilter list's
/// rank index. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    events: events::Events,
    /// Built at the first need (see `open_dir`), then caught up from the journal by each list.
    ipfilter_order: Arc<tokio::sync::Mutex<Option<ipfilter::order::RuleOrder>>>,
}

impl Store {
    /// Opens (creating if needed) `kordon.db` in `data_dir`, applies migrations and seeds the
    /// catalogues.
    pub async fn open_dir(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("kordon.db"))
            .create_if_missing(true);
        let store = Self::open_with(options, POOL_CONNECTIONS).await?;
        // Build the ipfilter list's rank index now, in the background beside the planes'
        // own start, so that the server's first list does not pay seconds for it at a
        // million rules. A short-lived command that opens the store too stops the build when
        // it closes the store (or its runtime ends); the index is only in memory. Stores
        // opened by URL (tests) build it at their first list.
        store.spawn_ipfilter_warm();
        Ok(store)
    }

    /// Opens a database by `sqlite:` URL (tests use `sqlite::memory:`).
    pub async fn open_url(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        // An in-memory database lives per connection: keep exactly one.
        let max = if url.contains(":memory:") {
            1
        } else {
            POOL_CONNECTIONS
        };
        Self::open_with(options, max).await
    }

    async fn open_with(options: SqliteConnectOptions, max_connections: u32) -> Result<Self> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // Each connection has its own page cache: keep it small, resident memory is a
            // budget (see BENCHMARKS.md); the OS page cache holds the rest of the file.
            .pragma("cache_size", "-2000")
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .min_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let store = Self {
            pool,
            events: events::Events::new(),
            ipfilter_order: Arc::default(),
        };
        catalog::seed(&store).await?;
        Ok(store)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Subscribes to change events (emitted after each committed write).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, change: Change) {
        self.events.emit(change);
    }

    /// Housekeeping: folds the WAL back into the database and refreshes planner statistics.
    pub async fn maintain(&self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.pool)
            .await?;
        sqlx::query("PRAGMA optimize").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Current unix time in seconds.
pub fn now() -> i64 {
    kordon_model::rutime::now()
}
