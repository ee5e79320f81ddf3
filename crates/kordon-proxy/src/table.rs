//! The immutable snapshot of proxy profiles the hot path reads.
//!
//! `profile` holds one profile's rules, `domains` the site-list matcher, `build` turns the
//! store's rows into a [`ProxyTable`], `diff` tells a listener manager what changed, and
//! `follow` keeps a [`TableHandle`] current as the store changes.

mod build;
mod diff;
mod domains;
mod follow;
mod profile;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kordon_store::{Store, StoreError};

pub use diff::TableDiff;
pub use domains::DomainSet;
pub use follow::{follow, TableHandle};
pub use profile::{
    Auth, Credentials, Egress, LoginRates, PortRule, Profile, SiteRule, DEFAULT_MAXCONN,
};

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot read the proxy profiles: {0}")]
    Store(#[from] StoreError),
}

/// Every active profile by listen port, and the bitrate caps of the logins they use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyTable {
    profiles: BTreeMap<u16, Arc<Profile>>,
    logins: HashMap<i64, LoginRates>,
}

impl ProxyTable {
    /// Reads every active profile from the store (one query).
    pub async fn load(store: &Store) -> Result<ProxyTable, TableError> {
        Ok(build::from_rows(store.proxy_plane_profiles().await?))
    }

    /// The profile listening on `listen_port`.
    pub fn profile(&self, listen_port: u16) -> Option<&Arc<Profile>> {
        self.profiles.get(&listen_port)
    }

    /// Profiles in listen port order.
    pub fn profiles(&self) -> impl Iterator<Item = &Arc<Profile>> {
        self.profiles.values()
    }

    pub fn listen_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.profiles.keys().copied()
    }

    /// The caps of a login some profile uses.
    pub fn login_rates(&self, login_id: i64) -> Option<LoginRates> {
        self.logins.get(&login_id).copied()
    }

    /// Every login some profile uses, with its caps.
    pub fn logins(&self) -> impl Iterator<Item = (i64, LoginRates)> + '_ {
        self.logins.iter().map(|(id, rates)| (*id, *rates))
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Which listen ports appeared, disappeared or changed from `self` to `next`.
    pub fn diff(&self, next: &ProxyTable) -> TableDiff {
        diff::between(&self.profiles, &next.profiles)
    }
}
