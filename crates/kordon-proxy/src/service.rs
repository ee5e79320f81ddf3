//! The running plane: one listener per active profile, each connection's session, and the
//! tasks that keep the plane's snapshots current.
//!
//! `manager` opens and closes listeners as the table changes, `listener` accepts and admits
//! connections, `ports` knows which ports carry traffic now (and cuts connections of a port
//! that starts rotating), `session` speaks SOCKS5/SOCKS4/HTTP to one client.

mod admission;
mod listener;
mod manager;
mod ports;
mod session;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use kordon_store::Store;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::egress::{watch_host, HostView, NameCache, PortActivity, DEFAULT_NAME_CACHE_CAPACITY};
use crate::guard::TargetGuard;
use crate::limits::LoginBuckets;
use crate::stats::PlaneStats;
use crate::table::{follow, ProxyTable, TableError, TableHandle};

pub use admission::{Admission, ClientAdmission};
pub use ports::PortGate;

/// The plane's settings.
#[derive(Debug, Clone)]
pub struct PlaneConfig {
    /// The address every profile's listener binds (its `port` is the profile's).
    pub bind: IpAddr,
    /// How long a client may take to authenticate and name its destination.
    pub handshake_timeout: Duration,
    /// How long a new connection waits for a port that is down or rotating.
    pub egress_wait: Duration,
    /// How long connecting to the destination may take.
    pub connect_timeout: Duration,
    /// Per attempt of a DNS question through the port's modem.
    pub dns_timeout: Duration,
    /// Where names are resolved; `None` is each port's modem (its LAN address, port 53).
    pub dns_server: Option<SocketAddr>,
    /// How many DNS answers the plane remembers (0: none, every name is asked each time).
    pub dns_cache_entries: usize,
    /// A relayed connection with no byte either way for this long is closed.
    pub idle_timeout: Option<Duration>,
    /// Destinations the operator allows although the guard would refuse them.
    pub permitted_networks: Vec<IpNet>,
    /// Clients the IP filter lets in (everyone by default).
    pub admission: Admission,
}

impl Default for PlaneConfig {
    fn default() -> Self {
        PlaneConfig {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            handshake_timeout: Duration::from_secs(10),
            egress_wait: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            dns_timeout: Duration::from_secs(2),
            dns_server: None,
            dns_cache_entries: DEFAULT_NAME_CACHE_CAPACITY,
            idle_timeout: Some(Duration::from_secs(600)),
            permitted_networks: Vec::new(),
            admission: Admission::default(),
        }
    }
}

/// What every listener and session of a running plane shares.
pub(crate) struct Plane {
    config: PlaneConfig,
    guard: TargetGuard,
    host: watch::Receiver<Arc<HostView>>,
    buckets: LoginBuckets,
    stats: Arc<PlaneStats>,
    ports: PortGate,
    names: NameCache,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaneError {
    #[error(transparent)]
    Table(#[from] TableError),
}

/// Runs the plane from the store's profiles until `shutdown`; then every listener and
/// connection is closed before it returns.
pub async fn run(
    store: Store,
    config: PlaneConfig,
    activity: Arc<dyn PortActivity>,
    stats: Arc<PlaneStats>,
    shutdown: CancellationToken,
) -> Result<(), PlaneError> {
    let handle = TableHandle::new(ProxyTable::load(&store).await?);
    let tasks = shutdown.child_token();
    tokio::spawn(follow(store, handle.clone(), tasks.clone()));
    run_table(handle, config, activity, stats, tasks).await;
    Ok(())
}

/// Runs the plane from a table someone else keeps current (tests, benchmarks).
pub async fn run_table(
    table: TableHandle,
    config: PlaneConfig,
    activity: Arc<dyn PortActivity>,
    stats: Arc<PlaneStats>,
    shutdown: CancellationToken,
) {
    let initial = tokio::task::spawn_blocking(HostView::read)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let (host_sender, host) = watch::channel(Arc::new(initial));
    let tasks = shutdown.child_token();
    tokio::spawn(watch_host(host_sender, tasks.clone()));
    let ports = PortGate::new(activity);
    tokio::spawn(ports.clone().watch(table.subscribe(), tasks.clone()));
    let plane = Arc::new(Plane {
        guard: TargetGuard::new(config.permitted_networks.clone()),
        names: NameCache::new(config.dns_cache_entries, stats.name_cache()),
        config,
        host,
        buckets: LoginBuckets::new(),
        stats,
        ports,
    });
    manager::run(plane, table, shutdown).await;
    tasks.cancel();
}
