//! Change events: after a write commits, the store says which kind of object changed. Planes
//! subscribe and rebuild their immutable snapshots; a lagging subscriber just rebuilds
//! everything.

use tokio::sync::broadcast;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Users,
    Ports,
    Proxies,
    ProxyLogins,
    ProxyIps,
    SiteLists,
    Catalog,
    History,
    /// ipfilter rules (their enforcement follows the journal, see `ipfilter::journal`).
    IpFilter,
}

#[derive(Clone)]
pub(crate) struct Events {
    sender: broadcast::Sender<Change>,
}

impl Events {
    pub(crate) fn new() -> Self {
        let (sender, _) = broadcast::channel(1024);
        Self { sender }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    pub(crate) fn emit(&self, change: Change) {
        // No subscriber is fine: nothing to rebuild.
        let _ = self.sender.send(change);
    }
}
