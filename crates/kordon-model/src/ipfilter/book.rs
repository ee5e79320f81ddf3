//! The enforcement elements of a rule set, kept up to date rule by rule.
//!
//! Enforcement (the kernel's sets, the in-process snapshot) knows no rules, only elements: one
//! per network and action, alive until the last rule behind it expires. Two rules may share an
//! element (a permanent and a time-limited block of the same network); removing one must leave
//! the element with the other's expiry. [`ElementBook`] holds which rules stand behind each
//! element and tells, for each rule added or removed, how the element changed, so enforcement
//! applies a few changes instead of rebuilding.

use std::collections::{BTreeMap, HashMap};

use ipnet::IpNet;
use smallvec::SmallVec;

use super::snapshot::IpFilterSnapshot;
use super::{Action, Expiry, RuleKind};
use crate::prefix::PrefixTableBuilder;

/// One enforced element: an action on the source addresses of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Element {
    pub action: Action,
    pub network: IpNet,
}

/// The group of elements enforcement keeps together: one action, one family, one prefix
/// length (in nftables, one set and the rule that looks it up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Group {
    pub action: Action,
    pub ipv6: bool,
    pub prefix_len: u8,
}

impl Element {
    pub fn group(&self) -> Group {
        Group {
            action: self.action,
            ipv6: matches!(self.network, IpNet::V6(_)),
            prefix_len: self.network.prefix_len(),
        }
    }
}

/// How one element changed: absent before (`before == None`), gone after (`after == None`),
/// or alive with another expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementChange {
    pub element: Element,
    pub before: Option<Expiry>,
    pub after: Option<Expiry>,
}

/// A stored rule as enforcement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookRule {
    pub id: i64,
    pub network: IpNet,
    pub kind: RuleKind,
    pub expiry: Expiry,
}

impl BookRule {
    fn element(&self) -> Element {
        Element {
            action: self.kind.action(),
            network: self.network.trunc(),
        }
    }
}

/// Rules behind one element: (rule id, expiry); almost always one.
type Holders = SmallVec<[(i64, Expiry); 1]>;

fn latest(holders: &Holders) -> Option<Expiry> {
    holders.iter().map(|(_, expiry)| *expiry).max()
}

/// Every element of a rule set with the rules behind it.
#[derive(Debug, Default, Clone)]
pub struct ElementBook {
    elements: HashMap<Element, Holders>,
    groups: BTreeMap<Group, usize>,
}

impl ElementBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// A book of `rules` at once.
    pub fn from_rules(rules: impl IntoIterator<Item = BookRule>) -> Self {
        let mut book = Self::new();
        for rule in rules {
            book.insert(rule);
        }
        book
    }

    /// Adds (or replaces) rule `rule.id`; returns the element's change, if it changed.
    pub fn insert(&mut self, rule: BookRule) -> Option<ElementChange> {
        let element = rule.element();
        let holders = self.elements.entry(element).or_default();
        let before = latest(holders);
        holders.retain(|(id, _)| *id != rule.id);
        holders.push((rule.id, rule.expiry));
        let after = latest(holders);
        if before.is_none() {
            *self.groups.entry(element.group()).or_default() += 1;
        }
        (before != after).then_some(ElementChange {
            element,
            before,
            after,
        })
    }

    /// Removes rule `rule.id` (its network and kind name the element); returns the element's
    /// change, if it changed. Removing a rule the book does not hold changes nothing.
    pub fn remove(&mut self, rule: BookRule) -> Option<ElementChange> {
        let element = rule.element();
        let holders = self.elements.get_mut(&element)?;
        let before = latest(holders);
        holders.retain(|(id, _)| *id != rule.id);
        let after = latest(holders);
        if after.is_none() {
            self.elements.remove(&element);
            let group = element.group();
            if let Some(count) = self.groups.get_mut(&group) {
                *count -= 1;
                if *count == 0 {
                    self.groups.remove(&group);
                }
            }
        }
        (before != after).then_some(ElementChange {
            element,
            before,
            after,
        })
    }

    /// Every element with the expiry of the last rule behind it.
    pub fn elements(&self) -> impl Iterator<Item = (Element, Expiry)> + '_ {
        self.elements
            .iter()
            .filter_map(|(element, holders)| latest(holders).map(|expiry| (*element, expiry)))
    }

    /// The expiry of one element, if the book has it.
    pub fn element(&self, element: &Element) -> Option<Expiry> {
        self.elements.get(element).and_then(latest)
    }

    /// The groups that have elements, in a stable order (permits first).
    pub fn groups(&self) -> impl Iterator<Item = Group> + '_ {
        self.groups.keys().copied()
    }

    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Number of permit and block elements.
    pub fn counts(&self) -> (usize, usize) {
        self.groups
            .iter()
            .fold((0, 0), |(permits, blocks), (group, count)| {
                match group.action {
                    Action::Permit => (permits + count, blocks),
                    Action::Block => (permits, blocks + count),
                }
            })
    }

    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The admission snapshot of the book as it stands.
    pub fn snapshot(&self) -> IpFilterSnapshot {
        let mut permits = PrefixTableBuilder::new();
        let mut blocks = PrefixTableBuilder::new();
        for (element, expiry) in self.elements() {
            let table = match element.action {
                Action::Permit => &mut permits,
                Action::Block => &mut blocks,
            };
            table.insert(element.network, expiry);
        }
        IpFilterSnapshot::new(permits.build(), blocks.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: i64, net: &str, kind: RuleKind, expiry: Expiry) -> BookRule {
        BookRule {
            id,
            network: net.parse().unwrap(),
            kind,
            expiry,
        }
    }

    #[test]
    fn shared_elements_keep_the_latest_expiry() {
        let mut book = ElementBook::new();
        let timed = rule(1, "10.0.0.0/8", RuleKind::TimedBlock, Expiry::At(100));
        let change = book.insert(timed).unwrap();
        assert_eq!((change.before, change.after), (None, Some(Expiry::At(100))));
        let permanent = rule(2, "10.0.0.0/8", RuleKind::PermanentBlock, Expiry::Never);
        let change = book.insert(permanent).unwrap();
        assert_eq!(change.after, Some(Expiry::Never));
        assert_eq!(book.len(), 1);
        // Removing the timed block changes nothing: the permanent one still holds.
        assert_eq!(book.remove(timed), None);
        let change = book.remove(permanent).unwrap();
        assert_eq!((change.before, change.after), (Some(Expiry::Never), None));
        assert!(book.is_empty());
        assert_eq!(book.groups().count(), 0);
    }

    #[test]
    fn groups_follow_elements_and_replacing_a_rule_moves_it() {
        let mut book = ElementBook::new();
        book.insert(rule(1, "1.2.3.4/32", RuleKind::Permit, Expiry::At(50)));
        book.insert(rule(2, "10.0.0.0/8", RuleKind::TimedBlock, Expiry::At(50)));
        book.insert(rule(
            3,
            "2001:db8::/32",
            RuleKind::PermanentBlock,
            Expiry::Never,
        ));
        let groups: Vec<Group> = book.groups().collect();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].action, Action::Permit);
        // Same id, new expiry: the element follows.
        let change = book
            .insert(rule(2, "10.0.0.0/8", RuleKind::TimedBlock, Expiry::At(90)))
            .unwrap();
        assert_eq!(change.after, Some(Expiry::At(90)));
        assert_eq!(book.len(), 3);
        let snapshot = book.snapshot();
        assert!(!snapshot.admits_at("10.9.9.9".parse().unwrap(), 60));
        assert!(snapshot.admits_at("10.9.9.9".parse().unwrap(), 90));
    }
}
