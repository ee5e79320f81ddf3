//! The in-process admission check: an immutable snapshot of the enforced elements that
//! kordon's own listeners (the API, the proxies, later DNS) ask for every client, and the
//! shared handle the ipfilter plane publishes new snapshots through.
//!
//! A permit covering the address wins over any block; an element whose expiry has passed no
//! longer counts, even before the plane removes it.
//!
//! A snapshot is a shared base (every element when it was built) plus a small overlay of the
//! elements changed since (`None`: removed), so a change to one rule among a million costs a
//! table of the changes, not a rebuild of the million; the plane folds the overlay into a new
//! base when it grows.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::book::Element;
use super::{Action, Expiry};
use crate::prefix::{PrefixTable, PrefixTableBuilder};

#[derive(Debug, Default)]
struct Base {
    permits: PrefixTable<Expiry>,
    blocks: PrefixTable<Expiry>,
}

/// Permits and blocks by network, each with its expiry.
#[derive(Debug, Default, Clone)]
pub struct IpFilterSnapshot {
    base: Arc<Base>,
    permits_changed: PrefixTable<Option<Expiry>>,
    blocks_changed: PrefixTable<Option<Expiry>>,
}

/// Whether a live element of `base` as changed by `changed` covers `client`.
fn covers(
    base: &PrefixTable<Expiry>,
    changed: &PrefixTable<Option<Expiry>>,
    client: IpAddr,
    now: i64,
) -> bool {
    changed.any_match(client, |e| e.is_some_and(|e| e.is_live(now)))
        || base.any_match_in(client, |network, e| {
            e.is_live(now) && (changed.is_empty() || changed.get(&network).is_none())
        })
}

impl IpFilterSnapshot {
    pub fn new(permits: PrefixTable<Expiry>, blocks: PrefixTable<Expiry>) -> Self {
        Self {
            base: Arc::new(Base { permits, blocks }),
            permits_changed: PrefixTable::default(),
            blocks_changed: PrefixTable::default(),
        }
    }

    /// This snapshot's base with `changes` over it (each element's state now; `None`:
    /// removed). Any overlay this snapshot had is replaced, so pass every change since the
    /// base was built.
    pub fn with_changes<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a Element, &'a Option<Expiry>)>,
    ) -> Self {
        let mut permits = PrefixTableBuilder::new();
        let mut blocks = PrefixTableBuilder::new();
        for (element, state) in changes {
            match element.action {
                Action::Permit => permits.insert(element.network, *state),
                Action::Block => blocks.insert(element.network, *state),
            }
        }
        Self {
            base: self.base.clone(),
            permits_changed: permits.build(),
            blocks_changed: blocks.build(),
        }
    }

    /// Whether `client` may connect at `now` (unix seconds).
    pub fn admits_at(&self, client: IpAddr, now: i64) -> bool {
        covers(&self.base.permits, &self.permits_changed, client, now)
            || !covers(&self.base.blocks, &self.blocks_changed, client, now)
    }

    /// Whether `client` may connect now.
    pub fn admits(&self, client: IpAddr) -> bool {
        self.admits_at(client, crate::rutime::now())
    }

    /// Number of permit and block elements of the base, and of changes over it.
    pub fn len(&self) -> (usize, usize, usize) {
        (
            self.base.permits.len(),
            self.base.blocks.len(),
            self.permits_changed.len() + self.blocks_changed.len(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0, 0)
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
        assert_eq!(reader.current().len(), (0, 1, 0));
    }

    #[test]
    fn changes_over_the_base_replace_its_elements() {
        let blocks = [
            ("10.0.0.0/8".parse().unwrap(), Expiry::Never),
            ("192.0.2.0/24".parse().unwrap(), Expiry::Never),
        ]
        .into_iter()
        .collect();
        let base = IpFilterSnapshot::new(PrefixTable::default(), blocks);
        let element = |action, net: &str| Element {
            action,
            network: net.parse().unwrap(),
        };
        let changes = [
            (element(Action::Block, "10.0.0.0/8"), None),
            (
                element(Action::Block, "192.0.2.0/24"),
                Some(Expiry::At(100)),
            ),
            (element(Action::Permit, "192.0.2.9/32"), Some(Expiry::Never)),
            (
                element(Action::Block, "198.51.100.0/24"),
                Some(Expiry::Never),
            ),
        ];
        let snapshot = base.with_changes(changes.iter().map(|(e, s)| (e, s)));
        assert!(snapshot.admits_at(ip("10.1.1.1"), 50), "block removed");
        assert!(!snapshot.admits_at(ip("192.0.2.1"), 50));
        assert!(
            snapshot.admits_at(ip("192.0.2.1"), 100),
            "new expiry counts"
        );
        assert!(snapshot.admits_at(ip("192.0.2.9"), 50), "new permit wins");
        assert!(!snapshot.admits_at(ip("198.51.100.1"), 50), "new block");
        assert!(!base.admits_at(ip("10.1.1.1"), 50), "the base is untouched");
        assert_eq!(snapshot.len(), (0, 2, 4));
    }
}
