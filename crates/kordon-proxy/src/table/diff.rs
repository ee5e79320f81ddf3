//! What changed between two tables, by listen port, so a listener manager opens, closes and
//! updates only those listeners and leaves the rest (and their connections) alone.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Profile;

/// Listen ports, each list in ascending order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDiff {
    /// In the new table only: open a listener.
    pub added: Vec<u16>,
    /// In the old table only (deleted or deactivated): close the listener.
    pub removed: Vec<u16>,
    /// In both, with a different profile (another id, type, auth, egress or rule).
    pub changed: Vec<u16>,
}

impl TableDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

pub(super) fn between(
    old: &BTreeMap<u16, Arc<Profile>>,
    new: &BTreeMap<u16, Arc<Profile>>,
) -> TableDiff {
    let mut diff = TableDiff::default();
    for (port, profile) in new {
        match old.get(port) {
            None => diff.added.push(*port),
            Some(before) if !Arc::ptr_eq(before, profile) && before != profile => {
                diff.changed.push(*port)
            }
            Some(_) => {}
        }
    }
    diff.removed = old
        .keys()
        .filter(|port| !new.contains_key(port))
        .copied()
        .collect();
    diff
}
