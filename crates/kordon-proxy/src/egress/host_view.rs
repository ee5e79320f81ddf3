//! What the plane knows of the host's interfaces: each port interface's state and modem
//! address, and every network the host is attached to. Read from the kernel every
//! [`REFRESH`] by [`watch_host`] and published as an immutable snapshot, so connections never
//! read `/sys` or call `getifaddrs` themselves.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often the host's interfaces are read again. A port that comes back up is usable within
/// this time; connections waiting for it poll more often than this.
pub const REFRESH: Duration = Duration::from_millis(500);

/// One interface as the plane needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub up: bool,
    pub ipv4: Option<Ipv4Addr>,
    /// The modem's address on the port's LAN (its router, DNS forwarder and web interface).
    pub gateway: Option<Ipv4Addr>,
}

impl Link {
    /// Whether a connection can leave through this interface now.
    pub fn carries_traffic(&self) -> bool {
        self.up && self.ipv4.is_some()
    }
}

/// The host's interfaces at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostView {
    links: HashMap<String, Link>,
    /// Every network an interface of this host has an address in (the host's own addresses,
    /// the farm's LAN, each modem's LAN).
    networks: Vec<IpNet>,
}

impl HostView {
    pub fn new(links: HashMap<String, Link>, networks: Vec<IpNet>) -> HostView {
        HostView { links, networks }
    }

    /// Reads the kernel's view now.
    pub fn read() -> Result<HostView, kordon_host::net::HostError> {
        let links = kordon_host::net::interfaces()?
            .into_iter()
            .map(|interface| {
                (
                    interface.name,
                    Link {
                        up: interface.is_up,
                        ipv4: interface.ipv4,
                        gateway: interface.gateway,
                    },
                )
            })
            .collect();
        let networks = kordon_host::net::addresses()?
            .into_values()
            .flatten()
            .filter_map(|address| IpNet::new(address.ip, address.prefix_len).ok())
            .collect();
        Ok(HostView { links, networks })
    }

    pub fn link(&self, ifname: &str) -> Option<&Link> {
        self.links.get(ifname)
    }

    /// Whether `ip` is in a network the host is attached to.
    pub fn is_attached(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(&ip))
    }
}

/// Rereads the host's interfaces every [`REFRESH`] into `sender` until `shutdown`.
pub async fn watch_host(sender: watch::Sender<Arc<HostView>>, shutdown: CancellationToken) {
    let mut failing = false;
    loop {
        match tokio::task::spawn_blocking(HostView::read).await {
            Ok(Ok(view)) => {
                failing = false;
                sender.send_if_modified(|current| {
                    if **current == view {
                        return false;
                    }
                    *current = Arc::new(view);
                    true
                });
            }
            Ok(Err(error)) if !failing => {
                failing = true;
                tracing::warn!(%error, "cannot read the host's interfaces; keeping the last view");
            }
            _ => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(REFRESH) => {}
        }
    }
}
