//! The rank index of the alive rules: one order-statistic set per list order, so a page at any
//! depth is found by rank (two-level B-trees with counted nodes) instead of by walking
//! `offset` entries of an SQLite index. Pure data: what it holds is told by the caller
//! (`catch_up` reads the table and the journal).
//!
//! Each order's entries sort exactly like the list's `ORDER BY`:
//! - `id`: the id;
//! - `ip`: `ip_key` as stored (family byte, then the address bytes; memcmp order, IPv4 keys
//!   shorter), then the prefix length, then the type code — unique, like the table's index;
//! - `type`: the type code, then the id — kept as one id set per type, laid end to end;
//! - `expires_time`: permanent rules (no expiry, SQLite's NULL) first by id, then the dated ones
//!   by expiry and id — kept as two sets laid end to end.
//!
//! Descending is the same order counted from the other end.
//!
//! Invariant: the index holds exactly the rules stored at journal position `seq` that are
//! alive at `pruned_at` (a rule is alive at `t` when it has no expiry or `expires_at > t`).

use std::ops::Range;

use indexset::BTreeSet;
use kordon_model::ipfilter::book::BookRule;

use super::list::RuleSort;

/// The longest `ip_key`: the family byte and an IPv6 address.
const KEY_BYTES: usize = 17;

/// A rule's place in the `ip` order: `ip_key` padded with zeros (the family byte differs
/// between an IPv4 and an IPv6 key, so padding never changes the memcmp order), the prefix
/// length and the type code. Unique among stored rules; `id` follows only to be read back.
/// Byte arrays keep the entry at 27 bytes (an `i64` would align it to 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct NetworkEntry {
    network: [u8; KEY_BYTES + 2],
    id: [u8; 8],
}

impl NetworkEntry {
    fn of(rule: &BookRule) -> Self {
        let mut network = [0u8; KEY_BYTES + 2];
        let key = super::network_key(&rule.network);
        network[..key.len()].copy_from_slice(&key);
        network[KEY_BYTES] = rule.network.prefix_len();
        // Type codes are 0, 1 and 2.
        network[KEY_BYTES + 1] = rule.kind.code() as u8;
        Self {
            network,
            id: rule.id.to_be_bytes(),
        }
    }
}

/// A dated rule's place in the `expires_time` order, with its `ip` entry so that expiring
/// it (found here by time) can take it out of the `ip` order too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct DatedEntry {
    expires_at: i64,
    id: i64,
    network: NetworkEntry,
}

/// What an order's entries give back: the rule id.
trait RuleId {
    fn rule_id(&self) -> i64;
}

impl RuleId for i64 {
    fn rule_id(&self) -> i64 {
        *self
    }
}

impl RuleId for NetworkEntry {
    fn rule_id(&self) -> i64 {
        i64::from_be_bytes(self.id)
    }
}

impl RuleId for DatedEntry {
    fn rule_id(&self) -> i64 {
        self.id
    }
}

/// One stretch of an order: a set whose entries are read by rank.
trait Ranked {
    fn count(&self) -> usize;
    /// Appends the ids of the entries ranked `ranks` (ascending).
    fn push_ids(&self, ranks: Range<usize>, ids: &mut Vec<i64>);
}

impl<T: Ord + RuleId> Ranked for BTreeSet<T> {
    fn count(&self) -> usize {
        self.len()
    }

    fn push_ids(&self, ranks: Range<usize>, ids: &mut Vec<i64>) {
        ids.extend(self.range_idx(ranks).map(RuleId::rule_id));
    }
}

/// Collects the whole table's rules (expired rows included: `RuleOrder::prune` takes them
/// out) into sorted runs, then fills each order from its run in ascending order. Filling
/// leaves every node half full with room for as many again; the sets are then copied, which
/// allocates only what is used and halves their resident size.
#[derive(Debug, Default)]
pub(crate) struct OrderBuilder {
    ids: Vec<i64>,
    by_kind: [Vec<i64>; 3],
    by_network: Vec<NetworkEntry>,
    undated: Vec<i64>,
    dated: Vec<DatedEntry>,
}

impl OrderBuilder {
    pub(crate) fn add(&mut self, rule: &BookRule) {
        let entries = Entries::of(rule);
        self.ids.push(entries.id);
        if let Some(ids) = self.by_kind.get_mut(entries.kind) {
            ids.push(entries.id);
        }
        self.by_network.push(entries.network);
        match entries.dated {
            None => self.undated.push(entries.id),
            Some(dated) => self.dated.push(dated),
        }
    }

    /// The index of the rules added, which are the table at journal position `seq`.
    pub(crate) fn finish(self, seq: i64) -> RuleOrder {
        RuleOrder {
            ids: sorted_set(self.ids),
            by_kind: self.by_kind.map(sorted_set),
            by_network: sorted_set(self.by_network),
            undated: sorted_set(self.undated),
            dated: sorted_set(self.dated),
            seq,
            pruned_at: i64::MIN,
        }
    }
}

/// A rule's entry in each order.
struct Entries {
    id: i64,
    /// The slot of its type in `by_kind`.
    kind: usize,
    network: NetworkEntry,
    /// `None` for a permanent rule (its entry is its id in `undated`).
    dated: Option<DatedEntry>,
}

impl Entries {
    fn of(rule: &BookRule) -> Self {
        let network = NetworkEntry::of(rule);
        Entries {
            id: rule.id,
            kind: kind_slot(rule),
            network,
            dated: rule.expiry.unix().map(|expires_at| DatedEntry {
                expires_at,
                id: rule.id,
                network,
            }),
        }
    }
}

/// The alive rules in every list order.
#[derive(Debug)]
pub(crate) struct RuleOrder {
    ids: BTreeSet<i64>,
    /// Indexed by type code.
    by_kind: [BTreeSet<i64>; 3],
    by_network: BTreeSet<NetworkEntry>,
    undated: BTreeSet<i64>,
    dated: BTreeSet<DatedEntry>,
    /// The journal position the index stands at.
    seq: i64,
    /// No indexed rule has expired at this time.
    pruned_at: i64,
}

impl RuleOrder {
    pub(crate) fn seq(&self) -> i64 {
        self.seq
    }

    pub(crate) fn pruned_at(&self) -> i64 {
        self.pruned_at
    }

    /// The number of alive rules (at `pruned_at`).
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// A journal entry of a rule that appeared; one expired by `pruned_at` stays out.
    pub(crate) fn insert(&mut self, rule: &BookRule) {
        if !rule.expiry.is_live(self.pruned_at) {
            return;
        }
        let entries = Entries::of(rule);
        self.ids.insert(entries.id);
        if let Some(ids) = self.by_kind.get_mut(entries.kind) {
            ids.insert(entries.id);
        }
        self.by_network.insert(entries.network);
        match entries.dated {
            None => self.undated.insert(entries.id),
            Some(dated) => self.dated.insert(dated),
        };
    }

    /// A journal entry of a rule that went away, with the values it had; one not indexed
    /// (expired before it was pruned) is no change.
    pub(crate) fn remove(&mut self, rule: &BookRule) {
        let entries = Entries::of(rule);
        match &entries.dated {
            None => self.undated.remove(&entries.id),
            Some(dated) => self.dated.remove(dated),
        };
        self.forget(entries.id, entries.kind, &entries.network);
    }

    /// Takes `id` out of the orders that are not found by expiry.
    fn forget(&mut self, id: i64, kind: usize, network: &NetworkEntry) {
        self.ids.remove(&id);
        if let Some(ids) = self.by_kind.get_mut(kind) {
            ids.remove(&id);
        }
        self.by_network.remove(network);
    }

    /// Takes out every rule expired at `now` (the front of the dated order). `now` must not
    /// be earlier than `pruned_at`: a rule taken out cannot come back (the caller rebuilds).
    pub(crate) fn prune(&mut self, now: i64) {
        let expired = match now.checked_add(1) {
            Some(later) => {
                let first_alive = DatedEntry {
                    expires_at: later,
                    id: i64::MIN,
                    network: NetworkEntry {
                        network: [0; KEY_BYTES + 2],
                        id: [0; 8],
                    },
                };
                if self.dated.first().is_some_and(|first| first < &first_alive) {
                    let alive = self.dated.split_off(&first_alive);
                    std::mem::replace(&mut self.dated, alive)
                } else {
                    BTreeSet::new()
                }
            }
            None => std::mem::take(&mut self.dated),
        };
        for entry in expired.iter() {
            let kind = usize::from(entry.network.network[KEY_BYTES + 1]);
            self.forget(entry.id, kind, &entry.network);
        }
        self.pruned_at = self.pruned_at.max(now);
    }

    /// Moves the journal position on (after entries were applied).
    pub(crate) fn advance(&mut self, seq: i64) {
        self.seq = seq;
    }

    /// The ids of the rules at positions `offset .. offset + take` of `sort` (counted from
    /// the last entry when `descending`), in page order.
    pub(crate) fn page_ids(
        &self,
        sort: RuleSort,
        descending: bool,
        offset: usize,
        take: usize,
    ) -> Vec<i64> {
        let total = self.len();
        let start = offset.min(total);
        let end = offset.saturating_add(take).min(total);
        let ranks = if descending {
            total - end..total - start
        } else {
            start..end
        };
        let mut ids = Vec::with_capacity(ranks.len());
        let stretches: Vec<&dyn Ranked> = match sort {
            RuleSort::Id => vec![&self.ids],
            RuleSort::Ip => vec![&self.by_network],
            RuleSort::Type => self.by_kind.iter().map(|set| set as &dyn Ranked).collect(),
            RuleSort::ExpiresTime => vec![&self.undated, &self.dated],
        };
        // The stretches are laid end to end: `first` is the rank of a stretch's first entry.
        let mut first = 0;
        for stretch in stretches {
            let count = stretch.count();
            let from = ranks.start.max(first);
            let to = ranks.end.min(first + count);
            if from < to {
                stretch.push_ids(from - first..to - first, &mut ids);
            }
            first += count;
        }
        if descending {
            ids.reverse();
        }
        ids
    }
}

/// The slot of a rule's type in `by_kind` (type codes are 0, 1 and 2).
fn kind_slot(rule: &BookRule) -> usize {
    usize::try_from(rule.kind.code()).unwrap_or(usize::MAX)
}

/// A set of `entries` (sorted here), its nodes allocated to their length.
fn sorted_set<T: Ord + Clone>(mut entries: Vec<T>) -> BTreeSet<T> {
    entries.sort_unstable();
    let mut set = BTreeSet::new();
    for entry in entries {
        set.insert(entry);
    }
    set.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kordon_model::ipfilter::{Expiry, RuleKind};

    fn rule(id: i64, net: &str, kind: RuleKind, expires_at: Option<i64>) -> BookRule {
        BookRule {
            id,
            network: net.parse().unwrap(),
            kind,
            expiry: Expiry::from_unix(expires_at),
        }
    }

    fn sample() -> Vec<BookRule> {
        vec![
            rule(1, "10.0.0.0/8", RuleKind::PermanentBlock, None),
            rule(2, "2001:db8::/64", RuleKind::TimedBlock, Some(300)),
            rule(3, "9.255.255.255/32", RuleKind::Permit, Some(100)),
            rule(4, "10.0.0.0/8", RuleKind::Permit, Some(200)),
            rule(5, "10.0.0.0/16", RuleKind::TimedBlock, Some(100)),
            rule(6, "::/0", RuleKind::PermanentBlock, None),
        ]
    }

    fn build(rules: &[BookRule], seq: i64) -> RuleOrder {
        let mut builder = OrderBuilder::default();
        rules.iter().for_each(|rule| builder.add(rule));
        builder.finish(seq)
    }

    fn all(order: &RuleOrder, sort: RuleSort, descending: bool) -> Vec<i64> {
        order.page_ids(sort, descending, 0, usize::MAX)
    }

    #[test]
    fn every_order_sorts_like_the_list() {
        let order = build(&sample(), 7);
        assert_eq!(order.seq(), 7);
        assert_eq!(all(&order, RuleSort::Id, false), [1, 2, 3, 4, 5, 6]);
        // 9.255.255.255 < 10.0.0.0/8 (type 0, then 2) < 10.0.0.0/16 < any IPv6.
        assert_eq!(all(&order, RuleSort::Ip, false), [3, 1, 4, 5, 6, 2]);
        assert_eq!(all(&order, RuleSort::Type, false), [1, 6, 2, 5, 3, 4]);
        assert_eq!(
            all(&order, RuleSort::ExpiresTime, false),
            [1, 6, 3, 5, 4, 2]
        );
        assert_eq!(all(&order, RuleSort::ExpiresTime, true), [2, 4, 5, 3, 6, 1]);
    }

    #[test]
    fn entries_stay_compact() {
        // 17 key bytes, prefix length, type, id; and expiry, id and the `ip` entry.
        assert_eq!(std::mem::size_of::<NetworkEntry>(), 27);
        assert_eq!(std::mem::size_of::<DatedEntry>(), 48);
    }

    #[test]
    fn pages_cross_the_stretches_of_an_order() {
        let order = build(&sample(), 0);
        assert_eq!(order.page_ids(RuleSort::Type, false, 1, 3), [6, 2, 5]);
        assert_eq!(order.page_ids(RuleSort::Type, true, 1, 3), [3, 5, 2]);
        assert_eq!(order.page_ids(RuleSort::ExpiresTime, true, 4, 100), [6, 1]);
        assert!(order.page_ids(RuleSort::Id, false, 6, 10).is_empty());
        assert!(order.page_ids(RuleSort::Id, true, 60, 10).is_empty());
    }

    #[test]
    fn expired_rules_leave_every_order_and_stay_out() {
        let mut order = build(&sample(), 0);
        order.prune(99);
        assert_eq!(order.len(), 6);
        order.prune(100);
        assert_eq!(order.pruned_at(), 100);
        for sort in [
            RuleSort::Id,
            RuleSort::Ip,
            RuleSort::Type,
            RuleSort::ExpiresTime,
        ] {
            let mut ids = all(&order, sort, false);
            ids.sort();
            assert_eq!(ids, [1, 2, 4, 6], "{sort:?}");
        }
        // An entry of a rule already expired is not indexed; removing an absent one is fine.
        order.insert(&rule(7, "10.9.0.0/16", RuleKind::TimedBlock, Some(100)));
        order.remove(&rule(5, "10.0.0.0/16", RuleKind::TimedBlock, Some(100)));
        assert_eq!(order.len(), 4);
        order.insert(&rule(8, "10.9.0.0/16", RuleKind::TimedBlock, Some(150)));
        order.remove(&rule(1, "10.0.0.0/8", RuleKind::PermanentBlock, None));
        assert_eq!(all(&order, RuleSort::Ip, false), [4, 8, 6, 2]);
        order.prune(i64::MAX);
        assert_eq!(all(&order, RuleSort::ExpiresTime, false), [6]);
    }
}
