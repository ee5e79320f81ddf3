//! The in-process admission check: an immutable snapshot of the enforced elements that
//! kordon's own listeners (the API, the proxies, later DNS) ask for every client, and the
//! shared handle the ipfilter plane publishes new snapshots through.
//!
//! A permit covering the address wins over any block; an element whose expiry has passed no
//! longer counts, even before the plane removes it.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::Expiry;
use crate::prefix::PrefixTable;

/// Permits and blocks by network, each with its expiry.
#[derive(Debug, Default, Clone)]
pub struct IpFilterSnapshot {
    permits: PrefixTable<Expiry>,
    blocks: PrefixTable<Expiry>,
}

impl IpFilterSnapshot {
    pub fn new(permits: PrefixTable<Expiry>, blocks: PrefixTable<Expiry>) -> Self {
        Self { permits, blocks }
    }

    /// Whether `client` may connect at `now` (unix seconds).
    pub fn admits_at(&self, client: IpAddr, now: i64) -> bool {
        self.permits.any_match(client, |e| e.is_live(now))
            || !self.blocks.any_match(client, |e| e.is_live(now))
    }

    /// Whether `client` may connect now.
    pub fn admits(&self, client: IpAddr) -> bool {
        self.admits_at(client, crate::rutime::now())
    }

    /// Number of permit and block elements.
    pub fn len(&self) -> (usize, usize) {
        (self.permits.len(), self.blocks.len())
    }

    pub fn is_empty(&self) -> bool {
        self.permits.is_empty() && self.blocks.is_empty()
    }
}

/// The current snapshot, shared by the plane that publishes it and every listener that checks
/// clients. Cheap to clone; reading never blocks the publisher and the other way round.
#[derive(Debug, Clone, Default)]
pub struct AdmissionHandle {
    current: Arc<ArcSwap<IpFilterSnapshot>>,
}

impl AdmissionHandle {
    /// A handle holding an empty snapshot (everyone admitted) until the first publish.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `client` may connect now, by the latest snapshot.
    pub fn admits(&self, client: IpAddr) -> bool {
        self.current.load().admits(client)
    }

    /// The latest snapshot, to ask many questions of the same one.
    pub fn current(&self) -> Arc<IpFilterSnapshot> {
        self.current.load_full()
    }

    /// Replaces the snapshot for every holder of the handle.
    pub fn publish(&self, snapshot: IpFilterSnapshot) {
        self.current.store(Arc::new(snapshot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn permit_wins_and_expiry_counts_at_check_time() {
        let blocks = [
            ("10.0.0.0/8".parse().unwrap(), Expiry::Never),
            ("192.0.2.7/32".parse().unwrap(), Expiry::At(100)),
        ]
        .into_iter()
        .collect();
        let permits = [("10.1.2.3/32".parse().unwrap(), Expiry::At(200))]
            .into_iter()
            .collect();
        let snapshot = IpFilterSnapshot::new(permits, blocks);
        assert!(!snapshot.admits_at(ip("10.9.9.9"), 50));
        assert!(snapshot.admits_at(ip("10.1.2.3"), 50), "permit wins");
        assert!(!snapshot.admits_at(ip("10.1.2.3"), 200), "permit expired");
        assert!(!snapshot.admits_at(ip("192.0.2.7"), 99));
        assert!(snapshot.admits_at(ip("192.0.2.7"), 100), "block expired");
        assert!(snapshot.admits_at(ip("198.51.100.1"), 50));
        assert!(!snapshot.admits_at(ip("::ffff:10.0.0.1"), 50));
    }

    #[test]
    fn handle_publishes_to_every_clone() {
        let handle = AdmissionHandle::new();
        let reader = handle.clone();
        assert!(reader.admits(ip("10.0.0.1")));
        let blocks = [("10.0.0.0/8".parse().unwrap(), Expiry::Never)]
            .into_iter()
            .collect();
        handle.publish(IpFilterSnapshot::new(PrefixTable::default(), blocks));
        assert!(!reader.admits(ip("10.0.0.1")));
        assert_eq!(reader.current().len(), (0, 1));
    }
}
