//! What every handler can reach: the store, the supervisor, host facts, metrics, settings.

use std::net::SocketAddr;
use std::sync::Arc;

use ipnet::IpNet;
use kordon_host::SystemSampler;
use kordon_store::Store;
use kordon_supervisor::Supervisor;

use crate::ipfilter::admission::ClientAdmission;
use crate::ipfilter::IpFilterApi;
use crate::metrics::{LiveCounters, Metrics};
use crate::rotation::PortRotation;

/// API settings that come from kordon's configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Where the API listens: proxy profiles may not take this port.
    pub listen: SocketAddr,
    /// Other ports kordon itself listens on (DNS and the like), also off limits to proxies.
    pub reserved_ports: Vec<u16>,
    /// Client networks allowed to read `/metrics` without a key.
    pub metrics_allow: Vec<IpNet>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8000)),
            reserved_ports: Vec::new(),
            metrics_allow: vec![
                "127.0.0.0/8".parse().expect("valid literal"),
                "::1/128".parse().expect("valid literal"),
            ],
        }
    }
}

impl ApiConfig {
    /// Ports a proxy profile may not listen on because kordon already does.
    pub fn is_reserved_port(&self, port: u16) -> bool {
        self.listen.port() == port || self.reserved_ports.contains(&port)
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub supervisor: Supervisor,
    pub system: Arc<SystemSampler>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<ApiConfig>,
    /// IP rotation, when this build has the modem plane.
    pub rotation: Option<Arc<dyn PortRotation>>,
    /// The ipfilter dialect's tokens, clock and zone.
    pub ipfilter: IpFilterApi,
    /// The in-process ip filter for the API's clients, when the ipfilter plane runs.
    pub admission: Option<Arc<dyn ClientAdmission>>,
    /// Counters planes keep in memory, shown by `/metrics`.
    pub live_counters: Vec<Arc<dyn LiveCounters>>,
}

impl AppState {
    pub fn new(store: Store, supervisor: Supervisor, config: ApiConfig) -> Self {
        Self {
            store,
            supervisor,
            system: Arc::new(SystemSampler::new()),
            metrics: Arc::new(Metrics::new()),
            config: Arc::new(config),
            rotation: None,
            ipfilter: IpFilterApi::default(),
            admission: None,
            live_counters: Vec::new(),
        }
    }

    /// The state with `source`'s counters shown by `/metrics` too.
    pub fn with_live_counters(mut self, source: Arc<dyn LiveCounters>) -> Self {
        self.live_counters.push(source);
        self
    }

    /// The state with IP rotation handled by `rotation`.
    pub fn with_rotation(mut self, rotation: Arc<dyn PortRotation>) -> Self {
        self.rotation = Some(rotation);
        self
    }

    /// The state with the ipfilter dialect's settings (clock, zone, plane report).
    pub fn with_ipfilter(mut self, ipfilter: IpFilterApi) -> Self {
        self.ipfilter = ipfilter;
        self
    }

    /// The state with the API's clients checked by `admission`.
    pub fn with_admission(mut self, admission: Arc<dyn ClientAdmission>) -> Self {
        self.admission = Some(admission);
        self
    }
}
