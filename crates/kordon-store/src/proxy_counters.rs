//! Traffic counters of the proxy data plane, per profile and per login. The plane counts in
//! memory and flushes absolute totals here every few seconds; the API and `/metrics` read them,
//! and the plane starts from them after a restart.
//!
//! Counter writes emit no [`crate::Change`]: the plane's table follows change events and must
//! not rebuild on every flush. Rows go with their profile or login (`ON DELETE CASCADE`), and a
//! flush racing a delete skips the deleted object instead of failing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::json_rows;
use crate::proxies::push_port_scope;
use crate::{now, Result, Scope, Store, StoreError};

/// Every refusal reason the proxy plane counts, by the name the API and `/metrics` show.
/// Replies list all of them, zeros included, so clients see a stable set of keys.
pub const REFUSAL_REASONS: [&str; 11] = [
    "ip_filter",
    "auth",
    "client_address",
    "maxconn",
    "site",
    "target_port",
    "forbidden",
    "egress",
    "resolve",
    "connect",
    "protocol",
];

/// One proxy profile's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ProxyCounters {
    pub proxy_id: i64,
    /// Internet → client.
    pub bytes_in: i64,
    /// Client → internet.
    pub bytes_out: i64,
    /// Connections relayed in total.
    pub connections: i64,
    /// Connections open at the last flush (a gauge).
    pub open: i64,
    /// Refusals by reason name (see [`REFUSAL_REASONS`]). Zero counts are not stored, so a
    /// map read back holds only the reasons that happened.
    pub refusals: BTreeMap<String, i64>,
    /// Unix seconds of the last flush that changed the row; set by the store on save (the
    /// value given to [`Store::save_proxy_counters`] is ignored), 0 when never flushed.
    pub updated_at: i64,
}

/// One proxy login's counters, over every profile that uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginCounters {
    pub login_id: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub connections: i64,
    /// As [`ProxyCounters::updated_at`].
    pub updated_at: i64,
}

/// A visible profile's counters with its listen port; zeros when never flushed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedProxyCounters {
    pub listen_port: i64,
    pub counters: ProxyCounters,
}

/// A visible login's counters with its name; zeros when never flushed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedLoginCounters {
    pub login: String,
    pub counters: LoginCounters,
}

/// What [`Store::proxy_counter_listing`] answers: every profile and login the scope sees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterListing {
    pub proxies: Vec<ListedProxyCounters>,
    pub logins: Vec<ListedLoginCounters>,
}

/// Upserts every profile's totals from one JSON array (`?1`, see [`FlushProxy`]) in one
/// statement: one round trip to SQLite's worker thread per flush instead of one per profile.
/// The join on `proxies` drops profiles deleted since the plane counted them (instead of a
/// foreign key error), and the update's `WHERE` leaves an unchanged row alone, so an idle farm
/// writes almost no pages per flush. `WHERE true` resolves SQLite's parsing ambiguity between
/// a join's `ON` and the upsert's `ON CONFLICT`.
const UPSERT_PROXIES: &str = "INSERT INTO proxy_counters \
     (proxy_id, bytes_in, bytes_out, connections, open, refusals, updated_at) \
     SELECT p.id, r.value ->> 'bytes_in', r.value ->> 'bytes_out', \
     r.value ->> 'connections', r.value ->> 'open', r.value -> 'refusals', ?2 \
     FROM json_each(?1) r JOIN proxies p ON p.id = r.value ->> 'proxy_id' WHERE true \
     ON CONFLICT (proxy_id) DO UPDATE SET bytes_in = excluded.bytes_in, \
     bytes_out = excluded.bytes_out, connections = excluded.connections, \
     open = excluded.open, refusals = excluded.refusals, updated_at = excluded.updated_at \
     WHERE (bytes_in, bytes_out, connections, open, refusals) IS NOT \
     (excluded.bytes_in, excluded.bytes_out, excluded.connections, excluded.open, \
     excluded.refusals)";

/// As [`UPSERT_PROXIES`], for logins.
const UPSERT_LOGINS: &str = "INSERT INTO proxy_login_counters \
     (login_id, bytes_in, bytes_out, connections, updated_at) \
     SELECT l.id, r.value ->> 'bytes_in', r.value ->> 'bytes_out', \
     r.value ->> 'connections', ?2 \
     FROM json_each(?1) r JOIN proxy_logins l ON l.id = r.value ->> 'login_id' WHERE true \
     ON CONFLICT (login_id) DO UPDATE SET bytes_in = excluded.bytes_in, \
     bytes_out = excluded.bytes_out, connections = excluded.connections, \
     updated_at = excluded.updated_at \
     WHERE (bytes_in, bytes_out, connections) IS NOT \
     (excluded.bytes_in, excluded.bytes_out, excluded.connections)";

/// A profile's counters as JSON, `p` the profile and `c` its (possibly missing) counter row.
/// Rows come back as one JSON text each: sqlx hands every column across from its worker
/// thread separately, and the refusals are JSON already.
const PROXY_JSON: &str = "json_object('proxy_id', p.id, \
     'bytes_in', coalesce(c.bytes_in, 0), 'bytes_out', coalesce(c.bytes_out, 0), \
     'connections', coalesce(c.connections, 0), 'open', coalesce(c.open, 0), \
     'refusals', json(coalesce(c.refusals, '{}')), 'updated_at', coalesce(c.updated_at, 0))";

/// As [`PROXY_JSON`], `l` the login.
const LOGIN_JSON: &str = "json_object('login_id', l.id, \
     'bytes_in', coalesce(c.bytes_in, 0), 'bytes_out', coalesce(c.bytes_out, 0), \
     'connections', coalesce(c.connections, 0), 'updated_at', coalesce(c.updated_at, 0))";

/// One profile's totals as [`UPSERT_PROXIES`] reads them.
#[derive(Serialize)]
struct FlushProxy<'a> {
    proxy_id: i64,
    bytes_in: i64,
    bytes_out: i64,
    connections: i64,
    open: i64,
    /// Nonzero counts only, keys sorted (a `BTreeMap` serializes in key order), so equal maps
    /// are equal text and an unchanged row is recognised.
    refusals: BTreeMap<&'a str, i64>,
}

impl<'a> From<&'a ProxyCounters> for FlushProxy<'a> {
    fn from(row: &'a ProxyCounters) -> Self {
        Self {
            proxy_id: row.proxy_id,
            bytes_in: row.bytes_in,
            bytes_out: row.bytes_out,
            connections: row.connections,
            open: row.open,
            refusals: row
                .refusals
                .iter()
                .filter(|(_, count)| **count != 0)
                .map(|(reason, count)| (reason.as_str(), *count))
                .collect(),
        }
    }
}

fn encode_rows<T: Serialize>(rows: &[T]) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| StoreError::Db(sqlx::Error::Encode(Box::new(e))))
}

/// Runs one of the upserts over `rows` (JSON) with the flush's stamp.
async fn upsert(conn: &mut SqliteConnection, sql: &str, rows: String, stamp: i64) -> Result<()> {
    sqlx::query(sql)
        .bind(rows)
        .bind(stamp)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends ` AND l.owner_id = <user>` for a non-superuser (logins belong to their creator).
fn push_login_scope(query: &mut QueryBuilder<'_, Sqlite>, scope: Scope) {
    if let Scope::User(user) = scope {
        query.push(" AND l.owner_id = ");
        query.push_bind(user);
    }
}

/// How the counter tables are joined to their objects: only stored rows, or every object with
/// zeros for those never flushed.
#[derive(Clone, Copy)]
enum Rows {
    Stored,
    EveryObject,
}

impl Rows {
    fn join(self) -> &'static str {
        match self {
            Rows::Stored => "JOIN",
            Rows::EveryObject => "LEFT JOIN",
        }
    }
}

/// `SELECT <json> FROM proxies p … JOIN proxy_counters c`, scoped, optionally one profile.
fn proxy_query(
    select: &str,
    rows: Rows,
    scope: Scope,
    only: Option<i64>,
) -> QueryBuilder<'static, Sqlite> {
    let mut query = QueryBuilder::new(format!(
        "SELECT {select} FROM proxies p {} proxy_counters c ON c.proxy_id = p.id WHERE 1",
        rows.join()
    ));
    push_port_scope(&mut query, scope, "p.port_id");
    if let Some(id) = only {
        query.push(" AND p.id = ");
        query.push_bind(id);
    }
    query.push(" ORDER BY p.id");
    query
}

/// `SELECT <json> FROM proxy_logins l … JOIN proxy_login_counters c`, scoped, optionally only
/// the login of one profile (a profile on a port delegated to the caller may use a login the
/// caller does not own: it stays hidden, as in the logins list).
fn login_query(
    select: &str,
    rows: Rows,
    scope: Scope,
    of_proxy: Option<i64>,
) -> QueryBuilder<'static, Sqlite> {
    let mut query = QueryBuilder::new(format!(
        "SELECT {select} FROM proxy_logins l {} proxy_login_counters c ON c.login_id = l.id \
         WHERE 1",
        rows.join()
    ));
    push_login_scope(&mut query, scope);
    if let Some(id) = of_proxy {
        query.push(" AND l.id IN (SELECT p.login_id FROM proxies p WHERE p.id = ");
        query.push_bind(id);
        push_port_scope(&mut query, scope, "p.port_id");
        query.push(")");
    }
    query.push(" ORDER BY l.id");
    query
}

async fn fetch_decoded<T: for<'a> Deserialize<'a>>(
    store: &Store,
    mut query: QueryBuilder<'static, Sqlite>,
) -> Result<Vec<T>> {
    let rows: Vec<String> = query.build_query_scalar().fetch_all(store.pool()).await?;
    rows.iter().map(|row| json_rows::decode(row)).collect()
}

impl Store {
    /// Writes absolute totals (not deltas) in one transaction. Profiles and logins deleted
    /// meanwhile are skipped; unchanged rows are left as they are (their `updated_at` too).
    pub async fn save_proxy_counters(
        &self,
        proxies: &[ProxyCounters],
        logins: &[LoginCounters],
    ) -> Result<()> {
        if proxies.is_empty() && logins.is_empty() {
            return Ok(());
        }
        let flushed: Vec<FlushProxy> = proxies.iter().map(FlushProxy::from).collect();
        let proxy_rows = encode_rows(&flushed)?;
        let login_rows = encode_rows(logins)?;
        let stamp = now();
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        upsert(&mut tx, UPSERT_PROXIES, proxy_rows, stamp).await?;
        upsert(&mut tx, UPSERT_LOGINS, login_rows, stamp).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every stored row, by id (the plane restores its totals from them at start).
    pub async fn all_proxy_counters(&self) -> Result<(Vec<ProxyCounters>, Vec<LoginCounters>)> {
        self.proxy_counters(Scope::All).await
    }

    /// The stored rows of the profiles and logins `scope` sees: everything for a superuser;
    /// for anybody else the profiles of ports delegated to them and the logins they own.
    pub async fn proxy_counters(
        &self,
        scope: Scope,
    ) -> Result<(Vec<ProxyCounters>, Vec<LoginCounters>)> {
        let proxies =
            fetch_decoded(self, proxy_query(PROXY_JSON, Rows::Stored, scope, None)).await?;
        let logins =
            fetch_decoded(self, login_query(LOGIN_JSON, Rows::Stored, scope, None)).await?;
        Ok((proxies, logins))
    }

    /// Every profile and login `scope` sees, with listen port and login name, zeros for those
    /// never flushed. `proxy` narrows it to one profile and the login it uses (if the scope
    /// sees both); an id the scope does not see gives empty lists, like a missing one.
    pub async fn proxy_counter_listing(
        &self,
        scope: Scope,
        proxy: Option<i64>,
    ) -> Result<CounterListing> {
        let proxy_select =
            format!("json_object('listen_port', p.listen_port, 'counters', {PROXY_JSON})");
        let login_select = format!("json_object('login', l.login, 'counters', {LOGIN_JSON})");
        let proxies = fetch_decoded(
            self,
            proxy_query(&proxy_select, Rows::EveryObject, scope, proxy),
        )
        .await?;
        let logins = fetch_decoded(
            self,
            login_query(&login_select, Rows::EveryObject, scope, proxy),
        )
        .await?;
        Ok(CounterListing { proxies, logins })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushed_refusals_drop_zeros_and_sort() {
        let row = ProxyCounters {
            proxy_id: 4,
            refusals: BTreeMap::from([
                ("site".to_string(), 2),
                ("auth".to_string(), 0),
                ("connect".to_string(), 5),
            ]),
            ..ProxyCounters::default()
        };
        let text = encode_rows(&[FlushProxy::from(&row)]).unwrap();
        assert!(
            text.contains(r#""refusals":{"connect":5,"site":2}"#),
            "{text}"
        );
    }
}
