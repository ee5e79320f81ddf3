//! Traffic and refusal counters per profile and per login, kept in memory with atomic adds
//! (the hot path never touches the store). The binary flushes [`PlaneStats::snapshot`] to the
//! store and shows it in the API and `/metrics`; the totals start from what the store had, so
//! they survive restarts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Why a connection was refused, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefusalKind {
    /// The client's address is blocked by the IP filter (closed at accept).
    IpFilter,
    /// Missing or wrong login/password.
    Auth,
    /// An `iponly` profile and a client address not in its list.
    ClientAddress,
    /// `maxconn` reached.
    Maxconn,
    /// The `allow` site lists refuse the destination.
    Site,
    /// The `targetport` rule refuses the destination port.
    TargetPort,
    /// Loopback, the host's networks, the modem's web interface without `is_local`, ….
    Forbidden,
    /// The port is inactive, down or rotating past the wait.
    Egress,
    /// The name did not resolve through the port's modem.
    Resolve,
    /// The destination refused or did not answer.
    Connect,
    /// The client did not speak the protocol (or too slowly).
    Protocol,
}

impl RefusalKind {
    pub const ALL: [RefusalKind; 11] = [
        RefusalKind::IpFilter,
        RefusalKind::Auth,
        RefusalKind::ClientAddress,
        RefusalKind::Maxconn,
        RefusalKind::Site,
        RefusalKind::TargetPort,
        RefusalKind::Forbidden,
        RefusalKind::Egress,
        RefusalKind::Resolve,
        RefusalKind::Connect,
        RefusalKind::Protocol,
    ];

    /// The name in the API and the `reason` label in `/metrics`.
    pub fn name(self) -> &'static str {
        match self {
            RefusalKind::IpFilter => "ip_filter",
            RefusalKind::Auth => "auth",
            RefusalKind::ClientAddress => "client_address",
            RefusalKind::Maxconn => "maxconn",
            RefusalKind::Site => "site",
            RefusalKind::TargetPort => "target_port",
            RefusalKind::Forbidden => "forbidden",
            RefusalKind::Egress => "egress",
            RefusalKind::Resolve => "resolve",
            RefusalKind::Connect => "connect",
            RefusalKind::Protocol => "protocol",
        }
    }

    pub fn from_name(name: &str) -> Option<RefusalKind> {
        RefusalKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Bytes and connections of one profile or login.
#[derive(Debug, Default)]
pub struct Traffic {
    /// From the internet to the client.
    bytes_in: AtomicU64,
    /// From the client to the internet.
    bytes_out: AtomicU64,
    /// Connections relayed (counted when the upstream connection opens).
    connections: AtomicU64,
}

impl Traffic {
    pub fn add_in(&self, bytes: u64) {
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_out(&self, bytes: u64) {
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    fn totals(&self) -> TrafficTotals {
        TrafficTotals {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }

    fn set(&self, totals: &TrafficTotals) {
        self.bytes_in.store(totals.bytes_in, Ordering::Relaxed);
        self.bytes_out.store(totals.bytes_out, Ordering::Relaxed);
        self.connections
            .store(totals.connections, Ordering::Relaxed);
    }
}

/// One profile's counters.
#[derive(Debug, Default)]
pub struct ProfileStats {
    pub traffic: Traffic,
    /// Connections open right now (a gauge, not persisted).
    open: AtomicU64,
    refusals: [AtomicU64; RefusalKind::ALL.len()],
}

impl ProfileStats {
    pub fn refuse(&self, kind: RefusalKind) {
        self.refusals[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection as open until the guard is dropped.
    pub fn open_guard(self: &Arc<Self>) -> OpenGuard {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(Arc::clone(self))
    }
}

/// Decrements the profile's open gauge when the connection ends.
pub struct OpenGuard(Arc<ProfileStats>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficTotals {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub connections: u64,
}

/// One profile's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileTotals {
    pub traffic: TrafficTotals,
    pub open: u64,
    /// Refusals by kind, in [`RefusalKind::ALL`] order, zeros included.
    pub refusals: Vec<(RefusalKind, u64)>,
}

/// Every counter at one moment, by profile id and by login id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub profiles: Vec<(i64, ProfileTotals)>,
    pub logins: Vec<(i64, TrafficTotals)>,
}

/// How the plane's DNS answer cache fares: questions it answered and ones that went to the
/// wire. In memory only (not part of [`StatsSnapshot`], so not stored).
#[derive(Debug, Default)]
pub struct NameCacheCounters {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// [`NameCacheCounters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameCacheTotals {
    pub hits: u64,
    pub misses: u64,
}

impl NameCacheCounters {
    pub fn add_hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add_miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn totals(&self) -> NameCacheTotals {
        NameCacheTotals {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// The plane's counters. Outlives the plane's service, so stopping and starting `proxy`
/// keeps them.
#[derive(Debug, Default)]
pub struct PlaneStats {
    profiles: RwLock<HashMap<i64, Arc<ProfileStats>>>,
    logins: RwLock<HashMap<i64, Arc<Traffic>>>,
    name_cache: Arc<NameCacheCounters>,
}

impl PlaneStats {
    pub fn new() -> Arc<PlaneStats> {
        Arc::default()
    }

    /// The counters of profile `id` (made on first use).
    pub fn profile(&self, id: i64) -> Arc<ProfileStats> {
        get_or_make(&self.profiles, id)
    }

    /// The counters of login `id` (made on first use).
    pub fn login(&self, id: i64) -> Arc<Traffic> {
        get_or_make(&self.logins, id)
    }

    /// The DNS answer cache's hits and misses.
    pub fn name_cache(&self) -> Arc<NameCacheCounters> {
        Arc::clone(&self.name_cache)
    }

    /// Starts counters from stored totals (before the plane carries traffic).
    pub fn restore(&self, snapshot: &StatsSnapshot) {
        for (id, totals) in &snapshot.profiles {
            let stats = self.profile(*id);
            stats.traffic.set(&totals.traffic);
            for (kind, count) in &totals.refusals {
                stats.refusals[kind.index()].store(*count, Ordering::Relaxed);
            }
        }
        for (id, totals) in &snapshot.logins {
            self.login(*id).set(totals);
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let mut profiles: Vec<_> = read(&self.profiles)
            .iter()
            .map(|(id, stats)| {
                let totals = ProfileTotals {
                    traffic: stats.traffic.totals(),
                    open: stats.open.load(Ordering::Relaxed),
                    refusals: RefusalKind::ALL
                        .iter()
                        .map(|kind| (*kind, stats.refusals[kind.index()].load(Ordering::Relaxed)))
                        .collect(),
                };
                (*id, totals)
            })
            .collect();
        profiles.sort_by_key(|(id, _)| *id);
        let mut logins: Vec<_> = read(&self.logins)
            .iter()
            .map(|(id, traffic)| (*id, traffic.totals()))
            .collect();
        logins.sort_by_key(|(id, _)| *id);
        StatsSnapshot { profiles, logins }
    }
}

fn get_or_make<T: Default>(map: &RwLock<HashMap<i64, Arc<T>>>, id: i64) -> Arc<T> {
    if let Some(found) = read(map).get(&id) {
        return Arc::clone(found);
    }
    Arc::clone(write(map).entry(id).or_default())
}

// The maps hold Arcs only; a panic elsewhere cannot leave them half-updated.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_restores() {
        let stats = PlaneStats::new();
        let profile = stats.profile(7);
        profile.traffic.add_in(100);
        profile.traffic.add_out(10);
        profile.traffic.add_connection();
        profile.refuse(RefusalKind::Maxconn);
        let open = profile.open_guard();
        stats.login(3).add_in(100);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.profiles[0].1.open, 1);
        drop(open);
        assert_eq!(stats.snapshot().profiles[0].1.open, 0);
        let restored = PlaneStats::new();
        restored.restore(&snapshot);
        let again = restored.snapshot();
        assert_eq!(again.logins, snapshot.logins);
        assert_eq!(again.profiles[0].1.traffic, snapshot.profiles[0].1.traffic);
        let maxconn = again.profiles[0]
            .1
            .refusals
            .iter()
            .find(|(kind, _)| *kind == RefusalKind::Maxconn)
            .map(|(_, n)| *n);
        assert_eq!(maxconn, Some(1));
        for kind in RefusalKind::ALL {
            assert_eq!(RefusalKind::from_name(kind.name()), Some(kind));
        }
    }
}
