//! The ipfilter table (`inet kordon_ipfilter` by default).
//!
//! One set per group of elements (action × family × prefix length), named `permit4_32`,
//! `block6_64`, …, of type `ipv4_addr`/`ipv6_addr` with `flags timeout`: each element carries
//! the time left until its rule expires and the kernel stops matching it then by itself (and
//! frees it at its next sweep, once a minute). A chain per
//! hook (`input`, and `forward` when asked) looks the source address up in every set, masked
//! to the set's prefix length: permit sets first (`accept`), then block sets (`drop`), so a
//! permit wins over any block.
//!
//! Why hash sets per prefix length, not one interval set: the kernel (6.x) accepts
//! `flags interval, timeout` with per-element timeouts, but refuses overlapping intervals, and
//! nft 1.0.x reads a whole interval set back from the kernel before each change to one —
//! with a million elements that read takes two minutes per change. Hash sets need no read-back
//! (a change costs milliseconds whatever the set's size), and nested networks (a /32 inside a
//! blocked /8) simply live in different sets. The chain does one hash lookup per prefix
//! length in use.
//!
//! Changes go as one script (one transaction): elements whose rule went away are removed
//! with `add` + `delete` (the `add` makes the delete succeed when the kernel already expired
//! the element), new ones are added with their timeouts, and when the set of groups changes
//! the chains are rewritten and emptied sets dropped in the same transaction.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use kordon_model::ipfilter::book::{Element, ElementBook, ElementChange, Group};
use kordon_model::ipfilter::{Action, Expiry};

/// Elements per `add element` statement.
const ELEMENTS_PER_STATEMENT: usize = 10_000;

/// How often the kernel sweeps a set for expired elements. Lookups ignore an expired element
/// at once whatever this is, so it only decides when the memory comes back. The kernel's
/// default, one second, walks every element of every set each second: with a million rules
/// that cost about 5% of a core and, now and then, delayed a single change by 60–90 ms
/// (measured with `nft` alone: max 65 ms over 150 single adds at one second, 14 ms at one
/// minute).
const GC_INTERVAL: &str = "1m";

/// Timeouts above this many milliseconds are not given to the kernel (it refuses timeouts of
/// some hundreds of thousands of days); such elements go in without one and leave when the
/// rule is swept. 100 years.
pub const KERNEL_TIMEOUT_MAX_MS: i64 = 36_500 * 86_400_000;

/// A netfilter hook the table's chains attach to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// Traffic to this machine.
    Input,
    /// Traffic routed through this machine.
    Forward,
}

impl Hook {
    pub fn name(self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Forward => "forward",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "input" => Some(Hook::Input),
            "forward" => Some(Hook::Forward),
            _ => None,
        }
    }
}

/// The table's name, hooks and priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpFilterTable {
    /// Table name in family `inet`.
    pub name: String,
    pub hooks: Vec<Hook>,
    /// Chain priority: before the usual `filter` chains, so kordon's drops come first.
    pub priority: i32,
}

impl Default for IpFilterTable {
    fn default() -> Self {
        Self {
            name: "kordon_ipfilter".into(),
            hooks: vec![Hook::Input],
            priority: -10,
        }
    }
}

/// Whether `name` is a usable nft table name (letters, digits, `_`, starting with a letter).
pub fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// The set holding a group's elements.
pub fn set_name(group: &Group) -> String {
    format!(
        "{}{}_{}",
        group.action.as_str(),
        if group.ipv6 { 6 } else { 4 },
        group.prefix_len
    )
}

/// The timeout to give an element expiring at `expiry`, at `now_ms`: `None` for no timeout,
/// `Some(None)` when it has already expired (leave it out).
fn timeout_ms(expiry: Expiry, now_ms: i64) -> Option<Option<i64>> {
    match expiry {
        Expiry::Never => Some(None),
        Expiry::At(at) => {
            let left = at.saturating_mul(1000).saturating_sub(now_ms);
            if left <= 0 {
                None
            } else if left > KERNEL_TIMEOUT_MAX_MS {
                Some(None)
            } else {
                Some(Some(left))
            }
        }
    }
}

/// A duration as nft reads it, in units up to days (`13888d23h59m59s999ms`): nft refuses a
/// single component above 2^32, so a plain count of milliseconds fails beyond 49 days.
fn nft_duration(ms: i64) -> String {
    let mut text = String::new();
    let mut rest = ms;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if rest >= size {
            let _ = write!(text, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    if rest > 0 || text.is_empty() {
        let _ = write!(text, "{rest}ms");
    }
    text
}

fn element_text(element: &Element, timeout: Option<i64>) -> String {
    let address = element.network.addr();
    match timeout {
        Some(ms) => format!("{address} timeout {}", nft_duration(ms)),
        None => address.to_string(),
    }
}

/// One change per element: the state before the first change and after the last, in the
/// order elements first changed (an element added and removed within one batch must end up
/// absent, whatever order the script's removals and additions run in).
fn coalesce(changes: &[ElementChange]) -> Vec<ElementChange> {
    let mut merged: Vec<ElementChange> = Vec::with_capacity(changes.len());
    let mut position: std::collections::HashMap<Element, usize> =
        std::collections::HashMap::with_capacity(changes.len());
    for change in changes {
        match position.get(&change.element) {
            Some(&index) => merged[index].after = change.after,
            None => {
                position.insert(change.element, merged.len());
                merged.push(*change);
            }
        }
    }
    merged.retain(|change| change.before != change.after);
    merged
}

impl IpFilterTable {
    fn table(&self) -> String {
        format!("inet {}", self.name)
    }

    fn set_definition(&self, group: &Group) -> String {
        let kind = if group.ipv6 { "ipv6_addr" } else { "ipv4_addr" };
        format!(
            "add set {} {} {{ type {kind}; flags timeout; gc-interval {GC_INTERVAL}; }}\n",
            self.table(),
            set_name(group)
        )
    }

    /// The lookup of one group in a chain.
    fn lookup_rule(&self, hook: Hook, group: &Group) -> String {
        let (family, mask) = if group.ipv6 {
            let bits = u128::MAX
                .checked_shl(u32::from(128 - group.prefix_len))
                .unwrap_or(0);
            ("ip6", std::net::Ipv6Addr::from(bits).to_string())
        } else {
            let bits = u32::MAX
                .checked_shl(u32::from(32 - group.prefix_len))
                .unwrap_or(0);
            ("ip", std::net::Ipv4Addr::from(bits).to_string())
        };
        let full = group.prefix_len == if group.ipv6 { 128 } else { 32 };
        let source = if full {
            format!("{family} saddr")
        } else {
            format!("{family} saddr & {mask}")
        };
        let verdict = match group.action {
            Action::Permit => "accept",
            Action::Block => "drop",
        };
        format!(
            "add rule {} {} {source} @{} {verdict}\n",
            self.table(),
            hook.name(),
            set_name(group)
        )
    }

    /// The chains' rules for `groups` (permits sort first in [`Group`]'s order).
    fn chain_rules(&self, groups: &BTreeSet<Group>, script: &mut String) {
        for hook in &self.hooks {
            for group in groups {
                script.push_str(&self.lookup_rule(*hook, group));
            }
        }
    }

    fn add_elements<'a>(
        &self,
        group: &Group,
        elements: impl Iterator<Item = (&'a Element, Option<i64>)>,
        script: &mut String,
    ) {
        let name = set_name(group);
        let mut count = 0;
        for (element, timeout) in elements {
            if count % ELEMENTS_PER_STATEMENT == 0 {
                if count > 0 {
                    script.push_str(" }\n");
                }
                let _ = write!(script, "add element {} {name} {{ ", self.table());
            } else {
                script.push_str(", ");
            }
            script.push_str(&element_text(element, timeout));
            count += 1;
        }
        if count > 0 {
            script.push_str(" }\n");
        }
    }

    /// A script that replaces the table (creating it if needed) with exactly `book`'s
    /// elements, as of `now_ms` (unix milliseconds).
    pub fn rebuild_script(&self, book: &ElementBook, now_ms: i64) -> String {
        let groups: BTreeSet<Group> = book.groups().collect();
        let mut script = String::with_capacity(book.len() * 40 + 1024);
        let table = self.table();
        // `add table` makes the `delete` valid when the table does not exist yet.
        let _ = writeln!(
            script,
            "add table {table}\ndelete table {table}\nadd table {table}"
        );
        for group in &groups {
            script.push_str(&self.set_definition(group));
        }
        for hook in &self.hooks {
            let _ = writeln!(
                script,
                "add chain {table} {name} {{ type filter hook {name} priority {}; policy accept; }}",
                self.priority,
                name = hook.name()
            );
        }
        self.chain_rules(&groups, &mut script);
        let mut by_group: std::collections::BTreeMap<Group, Vec<(Element, Option<i64>)>> =
            Default::default();
        for (element, expiry) in book.elements() {
            if let Some(timeout) = timeout_ms(expiry, now_ms) {
                by_group
                    .entry(element.group())
                    .or_default()
                    .push((element, timeout));
            }
        }
        for (group, elements) in &by_group {
            self.add_elements(group, elements.iter().map(|(e, t)| (e, *t)), &mut script);
        }
        script
    }

    /// A script that applies `changes` (made by the book going from `groups_before` to
    /// `groups_after`) at `now_ms`; empty when there is nothing to do.
    pub fn delta_script(
        &self,
        changes: &[ElementChange],
        groups_before: &BTreeSet<Group>,
        groups_after: &BTreeSet<Group>,
        now_ms: i64,
    ) -> String {
        let mut script = String::new();
        let table = self.table();
        for group in groups_after.difference(groups_before) {
            script.push_str(&self.set_definition(group));
        }
        let layout_changed = groups_before != groups_after;
        if layout_changed {
            for hook in &self.hooks {
                let _ = writeln!(script, "flush chain {table} {}", hook.name());
            }
            self.chain_rules(groups_after, &mut script);
        }
        let changes = coalesce(changes);
        for change in &changes {
            let group = change.element.group();
            if change.before.is_some() && groups_after.contains(&group) {
                let name = set_name(&group);
                let key = element_text(&change.element, None);
                let _ = writeln!(
                    script,
                    "add element {table} {name} {{ {key} }}\ndelete element {table} {name} {{ {key} }}"
                );
            }
        }
        for change in &changes {
            let Some(expiry) = change.after else { continue };
            let Some(timeout) = timeout_ms(expiry, now_ms) else {
                continue;
            };
            self.add_elements(
                &change.element.group(),
                std::iter::once((&change.element, timeout)),
                &mut script,
            );
        }
        // A group without elements loses its set (its rule left the chains above).
        for group in groups_before.difference(groups_after) {
            let _ = writeln!(script, "delete set {table} {}", set_name(group));
        }
        script
    }

    /// A script that removes the table (nothing when it does not exist).
    pub fn remove_script(&self) -> String {
        let table = self.table();
        format!("add table {table}\ndelete table {table}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kordon_model::ipfilter::book::BookRule;
    use kordon_model::ipfilter::RuleKind;

    fn rule(id: i64, net: &str, kind: RuleKind, expiry: Expiry) -> BookRule {
        BookRule {
            id,
            network: net.parse().unwrap(),
            kind,
            expiry,
        }
    }

    #[test]
    fn rebuild_writes_sets_chains_and_timeouts() {
        let book = ElementBook::from_rules([
            rule(1, "10.0.0.0/8", RuleKind::PermanentBlock, Expiry::Never),
            rule(2, "10.1.2.3/32", RuleKind::Permit, Expiry::At(110)),
            rule(3, "2001:db8::/32", RuleKind::TimedBlock, Expiry::At(105)),
            rule(4, "192.0.2.1/32", RuleKind::TimedBlock, Expiry::At(90)),
        ]);
        let script = IpFilterTable::default().rebuild_script(&book, 100_000);
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(lines[0], "add table inet kordon_ipfilter");
        assert_eq!(lines[1], "delete table inet kordon_ipfilter");
        assert!(script
            .contains("add set inet kordon_ipfilter block4_8 { type ipv4_addr; flags timeout; gc-interval 1m; }"));
        assert!(script
            .contains("add set inet kordon_ipfilter block6_32 { type ipv6_addr; flags timeout; gc-interval 1m; }"));
        assert!(script.contains("type filter hook input priority -10; policy accept;"));
        let permit = script
            .find("add rule inet kordon_ipfilter input ip saddr @permit4_32 accept")
            .unwrap();
        let block = script
            .find("add rule inet kordon_ipfilter input ip saddr & 255.0.0.0 @block4_8 drop")
            .unwrap();
        assert!(permit < block, "permits come first");
        assert!(script.contains("ip6 saddr & ffff:ffff:: @block6_32 drop"));
        assert!(script.contains("{ 10.0.0.0 }"));
        assert!(script.contains("{ 10.1.2.3 timeout 10s }"));
        assert!(script.contains("{ 2001:db8:: timeout 5s }"));
        assert!(
            !script.contains("192.0.2.1 "),
            "expired elements are left out"
        );
    }

    #[test]
    fn delta_removes_idempotently_and_rewrites_chains_on_new_groups() {
        let table = IpFilterTable {
            hooks: vec![Hook::Input, Hook::Forward],
            ..IpFilterTable::default()
        };
        let mut book = ElementBook::from_rules([rule(
            1,
            "10.0.0.0/8",
            RuleKind::PermanentBlock,
            Expiry::Never,
        )]);
        let before: BTreeSet<Group> = book.groups().collect();
        let change = book
            .insert(rule(2, "10.1.2.3/32", RuleKind::Permit, Expiry::At(200)))
            .unwrap();
        let after: BTreeSet<Group> = book.groups().collect();
        let script = table.delta_script(&[change], &before, &after, 100_000);
        assert!(script.starts_with("add set inet kordon_ipfilter permit4_32"));
        assert!(script.contains("flush chain inet kordon_ipfilter input"));
        assert!(script.contains("flush chain inet kordon_ipfilter forward"));
        assert!(
            script.contains("add rule inet kordon_ipfilter forward ip saddr @permit4_32 accept")
        );
        assert!(script
            .contains("add element inet kordon_ipfilter permit4_32 { 10.1.2.3 timeout 1m40s }"));

        // Same groups: only elements move.
        let before = after;
        let change = book
            .remove(rule(
                1,
                "10.0.0.0/8",
                RuleKind::PermanentBlock,
                Expiry::Never,
            ))
            .unwrap();
        let after: BTreeSet<Group> = book.groups().collect();
        let script = table.delta_script(&[change], &before, &after, 100_000);
        assert!(
            !script.contains("delete element"),
            "the whole set goes: {script}"
        );
        assert!(script.contains("delete set inet kordon_ipfilter block4_8"));
        let change = book
            .insert(rule(2, "10.1.2.3/32", RuleKind::Permit, Expiry::At(300)))
            .unwrap();
        let script = table.delta_script(&[change], &after, &after, 100_000);
        assert_eq!(
            script,
            "add element inet kordon_ipfilter permit4_32 { 10.1.2.3 }\n\
             delete element inet kordon_ipfilter permit4_32 { 10.1.2.3 }\n\
             add element inet kordon_ipfilter permit4_32 { 10.1.2.3 timeout 3m20s }\n"
        );
    }

    #[test]
    fn an_element_added_and_removed_in_one_batch_stays_out() {
        let table = IpFilterTable::default();
        let mut book = ElementBook::from_rules([rule(
            1,
            "10.0.0.0/8",
            RuleKind::PermanentBlock,
            Expiry::Never,
        )]);
        let groups: BTreeSet<Group> = book.groups().collect();
        let passing = rule(2, "10.0.0.0/8", RuleKind::Permit, Expiry::Never);
        let changes = [book.insert(passing).unwrap(), book.remove(passing).unwrap()];
        assert_eq!(
            book.groups().collect::<BTreeSet<_>>(),
            groups,
            "back where it started"
        );
        assert_eq!(table.delta_script(&changes, &groups, &groups, 0), "");
    }

    #[test]
    fn names_and_hooks() {
        assert!(valid_table_name("kordon_ipfilter"));
        assert!(!valid_table_name("1x"));
        assert!(!valid_table_name("a b"));
        assert_eq!(Hook::parse(" Forward"), Some(Hook::Forward));
        assert_eq!(Hook::parse("output"), None);
        assert_eq!(timeout_ms(Expiry::At(i64::MAX / 2000), 0), Some(None));
        assert_eq!(nft_duration(1_200_000_000_001), "13888d21h20m1ms");
        assert_eq!(nft_duration(0), "0ms");
        assert_eq!(nft_duration(1500), "1s500ms");
    }
}
