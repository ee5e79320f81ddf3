//! An immutable table of IPv4 and IPv6 networks with a value each, answering which of them
//! contain an address: the longest, or every one from the longest to the shortest.
//!
//! Networks are grouped by prefix length, one hash map per length that has any entry, keyed by
//! the masked address. A lookup masks the address once per present length, longest first, so it
//! costs at most one hash probe per distinct length (a handful in practice, 33 or 129 at worst),
//! whatever the number of networks. Real rule sets (millions of /32s and some hundreds of wider
//! networks) keep few lengths; building is one pass, `longest_match` and `any_match` never allocate.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rustc_hash::FxHasher;

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The networks of one prefix length, keyed by their (masked) address bits.
#[derive(Debug, Clone)]
struct Level<K, V> {
    len: u8,
    mask: K,
    entries: FxMap<K, V>,
}

/// The levels of one address family, longest prefix first.
#[derive(Debug, Clone)]
struct Family<K, V> {
    levels: Vec<Level<K, V>>,
}

impl<K, V> Default for Family<K, V> {
    fn default() -> Self {
        Self { levels: Vec::new() }
    }
}

/// The integer form of an address family, for masking.
trait Bits: Copy + Eq + std::hash::Hash + std::ops::BitAnd<Output = Self> {
    fn mask(len: u8) -> Self;
}

impl Bits for u32 {
    fn mask(len: u8) -> Self {
        u32::MAX.checked_shl(u32::from(32 - len)).unwrap_or(0)
    }
}

impl Bits for u128 {
    fn mask(len: u8) -> Self {
        u128::MAX.checked_shl(u32::from(128 - len)).unwrap_or(0)
    }
}

impl<K: Bits, V> Family<K, V> {
    fn level_mut(&mut self, len: u8) -> &mut Level<K, V> {
        let position = match self.levels.binary_search_by(|l| len.cmp(&l.len)) {
            Ok(found) => found,
            Err(free) => {
                self.levels.insert(
                    free,
                    Level {
                        len,
                        mask: K::mask(len),
                        entries: FxMap::default(),
                    },
                );
                free
            }
        };
        &mut self.levels[position]
    }

    fn get(&self, bits: K, len: u8) -> Option<&V> {
        self.levels
            .iter()
            .find(|l| l.len == len)
            .and_then(|l| l.entries.get(&(bits & l.mask)))
    }

    /// Every entry containing `bits`, longest prefix first.
    fn matches(&self, bits: K) -> impl Iterator<Item = (K, u8, &V)> + '_ {
        self.levels.iter().filter_map(move |level| {
            let key = bits & level.mask;
            level.entries.get(&key).map(|value| (key, level.len, value))
        })
    }

    fn len(&self) -> usize {
        self.levels.iter().map(|l| l.entries.len()).sum()
    }
}

/// Networks with values; build it with [`PrefixTableBuilder`] or `collect()`.
#[derive(Debug, Clone)]
pub struct PrefixTable<V> {
    v4: Family<u32, V>,
    v6: Family<u128, V>,
}

impl<V> Default for PrefixTable<V> {
    fn default() -> Self {
        Self {
            v4: Family::default(),
            v6: Family::default(),
        }
    }
}

/// Collects networks; a network inserted twice keeps the value `merge` makes of both.
#[derive(Debug, Clone)]
pub struct PrefixTableBuilder<V> {
    table: PrefixTable<V>,
}

impl<V> Default for PrefixTableBuilder<V> {
    fn default() -> Self {
        Self {
            table: PrefixTable::default(),
        }
    }
}

impl<V> PrefixTableBuilder<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `network` (its host bits are ignored); when it is already present, `merge` folds
    /// the new value into the stored one.
    pub fn insert_with(&mut self, network: IpNet, value: V, merge: impl FnOnce(&mut V, V)) {
        match network.trunc() {
            IpNet::V4(net) => {
                let level = self.table.v4.level_mut(net.prefix_len());
                upsert(&mut level.entries, u32::from(net.addr()), value, merge);
            }
            IpNet::V6(net) => {
                let level = self.table.v6.level_mut(net.prefix_len());
                upsert(&mut level.entries, u128::from(net.addr()), value, merge);
            }
        }
    }

    /// Adds `network`; a repeated network keeps the last value.
    pub fn insert(&mut self, network: IpNet, value: V) {
        self.insert_with(network, value, |old, new| *old = new);
    }

    pub fn build(self) -> PrefixTable<V> {
        self.table
    }
}

fn upsert<K: Bits, V>(map: &mut FxMap<K, V>, key: K, value: V, merge: impl FnOnce(&mut V, V)) {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(mut slot) => merge(slot.get_mut(), value),
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(value);
        }
    }
}

impl<V> FromIterator<(IpNet, V)> for PrefixTable<V> {
    fn from_iter<I: IntoIterator<Item = (IpNet, V)>>(iter: I) -> Self {
        let mut builder = PrefixTableBuilder::new();
        for (network, value) in iter {
            builder.insert(network, value);
        }
        builder.build()
    }
}

fn v4_net(bits: u32, len: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(bits), len))
}

fn v6_net(bits: u128, len: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from(bits), len))
}

impl<V> PrefixTable<V> {
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value stored for exactly `network`.
    pub fn get(&self, network: &IpNet) -> Option<&V> {
        match network {
            IpNet::V4(net) => self.v4.get(u32::from(net.addr()), net.prefix_len()),
            IpNet::V6(net) => self.v6.get(u128::from(net.addr()), net.prefix_len()),
        }
    }

    /// Every network containing `address`, longest prefix first. An IPv4-mapped IPv6
    /// address (`::ffff:192.0.2.1`, what a dual-stack socket reports) is looked up as IPv4.
    pub fn matches(&self, address: IpAddr) -> Box<dyn Iterator<Item = (IpNet, &V)> + '_> {
        match address.to_canonical() {
            IpAddr::V4(v4) => Box::new(
                self.v4
                    .matches(u32::from(v4))
                    .map(|(bits, len, value)| (v4_net(bits, len), value)),
            ),
            IpAddr::V6(v6) => Box::new(
                self.v6
                    .matches(u128::from(v6))
                    .map(|(bits, len, value)| (v6_net(bits, len), value)),
            ),
        }
    }

    /// The most specific network containing `address`.
    pub fn longest_match(&self, address: IpAddr) -> Option<(IpNet, &V)> {
        match address.to_canonical() {
            IpAddr::V4(v4) => self
                .v4
                .matches(u32::from(v4))
                .next()
                .map(|(bits, len, value)| (v4_net(bits, len), value)),
            IpAddr::V6(v6) => self
                .v6
                .matches(u128::from(v6))
                .next()
                .map(|(bits, len, value)| (v6_net(bits, len), value)),
        }
    }

    /// Whether any network containing `address` has a value for which `accept` holds; stops
    /// at the first one. No allocation.
    pub fn any_match(&self, address: IpAddr, accept: impl Fn(&V) -> bool) -> bool {
        match address.to_canonical() {
            IpAddr::V4(v4) => self
                .v4
                .matches(u32::from(v4))
                .any(|(_, _, value)| accept(value)),
            IpAddr::V6(v6) => self
                .v6
                .matches(u128::from(v6))
                .any(|(_, _, value)| accept(value)),
        }
    }

    /// Like [`PrefixTable::any_match`], with each candidate's network given to `accept` too.
    pub fn any_match_in(&self, address: IpAddr, accept: impl Fn(IpNet, &V) -> bool) -> bool {
        match address.to_canonical() {
            IpAddr::V4(v4) => self
                .v4
                .matches(u32::from(v4))
                .any(|(bits, len, value)| accept(v4_net(bits, len), value)),
            IpAddr::V6(v6) => self
                .v6
                .matches(u128::from(v6))
                .any(|(bits, len, value)| accept(v6_net(bits, len), value)),
        }
    }

    /// Every network with its value (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &V)> + '_ {
        let v4 = self.v4.levels.iter().flat_map(|level| {
            level
                .entries
                .iter()
                .map(move |(bits, value)| (v4_net(*bits, level.len), value))
        });
        let v6 = self.v6.levels.iter().flat_map(|level| {
            level
                .entries
                .iter()
                .map(move |(bits, value)| (v6_net(*bits, level.len), value))
        });
        v4.chain(v6)
    }

    /// The prefix lengths present, per family (IPv4 first), longest first.
    pub fn prefix_lengths(&self) -> (Vec<u8>, Vec<u8>) {
        (
            self.v4.levels.iter().map(|l| l.len).collect(),
            self.v6.levels.iter().map(|l| l.len).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn table() -> PrefixTable<&'static str> {
        [
            (net("10.0.0.0/8"), "ten"),
            (net("10.1.0.0/16"), "ten-one"),
            (net("10.1.2.3/32"), "host"),
            (net("0.0.0.0/0"), "all4"),
            (net("2001:db8::/32"), "doc"),
            (net("2001:db8:1::1/128"), "doc-host"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn longest_match_picks_the_most_specific() {
        let table = table();
        assert_eq!(
            table.longest_match(ip("10.1.2.3")),
            Some((net("10.1.2.3/32"), &"host"))
        );
        assert_eq!(table.longest_match(ip("10.1.9.9")).unwrap().1, &"ten-one");
        assert_eq!(table.longest_match(ip("10.200.0.1")).unwrap().1, &"ten");
        assert_eq!(table.longest_match(ip("192.0.2.1")).unwrap().1, &"all4");
        assert_eq!(
            table.longest_match(ip("2001:db8:1::1")).unwrap().1,
            &"doc-host"
        );
        assert_eq!(table.longest_match(ip("2001:db8:2::1")).unwrap().1, &"doc");
        assert_eq!(table.longest_match(ip("2001:db9::1")), None);
    }

    #[test]
    fn every_match_comes_longest_first() {
        let table = table();
        let all: Vec<_> = table.matches(ip("10.1.2.3")).map(|(_, v)| *v).collect();
        assert_eq!(all, vec!["host", "ten-one", "ten", "all4"]);
        assert!(table.any_match(ip("10.1.2.3"), |v| *v == "ten"));
        assert!(!table.any_match(ip("11.0.0.1"), |v| *v == "ten"));
    }

    #[test]
    fn mapped_addresses_are_ipv4_and_host_bits_are_ignored() {
        let table = table();
        assert_eq!(
            table.longest_match(ip("::ffff:10.1.2.3")).unwrap().1,
            &"host"
        );
        let mut builder = PrefixTableBuilder::new();
        builder.insert(net("192.168.1.77/24"), 1);
        builder.insert_with(net("192.168.1.0/24"), 5, |old, new| *old += new);
        let table = builder.build();
        assert_eq!(table.get(&net("192.168.1.0/24")), Some(&6));
        assert_eq!(table.len(), 1);
        assert_eq!(table.iter().next(), Some((net("192.168.1.0/24"), &6)));
        assert_eq!(table.prefix_lengths(), (vec![24], vec![]));
    }

    #[test]
    fn empty_table_matches_nothing() {
        let table: PrefixTable<()> = PrefixTable::default();
        assert!(table.is_empty());
        assert_eq!(table.longest_match(ip("1.2.3.4")), None);
    }
}
