//! The plane's memory of DNS answers, so a proxy farm's clients asking for the same names over
//! and over do not each pay a DNS round trip over the LTE link.
//!
//! An answer is remembered per port interface, DNS server and name, and per [`LinkEpoch`]:
//! which incarnation of the port's link it was learned on. A rotation gives the port a new
//! public address (and possibly another operator's view of the name), so answers learned
//! before it are never served after it. Positive answers live for their TTL clamped to
//! [`MIN_TTL`, `MAX_TTL`]; negative ones (NXDOMAIN, no address) at most [`MAX_NEGATIVE_TTL`];
//! timeouts and transport errors are never kept. At most `capacity` entries are held.
//!
//! Lookups of one key at the same moment share one question: a client that opens fifty
//! connections to a host at once (a scraper's burst) costs the link one DNS round trip, not
//! fifty.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::resolve::{resolve_answer, Absence, Answer, DnsPath, ResolveError};
use crate::stats::NameCacheCounters;

/// Entries a plane keeps by default: a farm's working set of names many times over, a few
/// MiB at most.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Shortest life of a kept answer. TTLs are whole seconds, so this is the floor a zone's SOA
/// MINIMUM of 1 or more already meets; it makes the rule explicit.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// Longest life of any kept answer: a CDN that moves a name is followed within five minutes
/// whatever TTL a zone publishes.
pub const MAX_TTL: Duration = Duration::from_secs(300);
/// Longest life of a kept negative answer: a name that appears (a new host, a fixed typo)
/// works again within half a minute.
pub const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// Which incarnation of a port's link an answer belongs to. Part of the key, so a change of
/// either field makes every earlier answer of the port unreachable at once (it then ages out
/// or is evicted) without a flush that could race a lookup in flight.
///
/// `rotations` counts the rotations the plane has seen start on the port (`PortGate`): the
/// modem plane's rotation is the event that changes the port's public address, and the
/// `Link` alone cannot show it because the host's address on the modem's LAN stays the same.
/// `address` is that LAN address, which changes when another modem (or the same one after a
/// replug with a new lease) takes the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkEpoch {
    pub address: Option<Ipv4Addr>,
    pub rotations: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    ifname: String,
    server: SocketAddr,
    epoch: LinkEpoch,
    /// Lower-cased, without the root's trailing dot: DNS names compare case-insensitively.
    name: String,
}

impl CacheKey {
    fn new(name: &str, path: &DnsPath<'_>, epoch: LinkEpoch) -> CacheKey {
        CacheKey {
            ifname: path.ifname.to_string(),
            server: path.server,
            epoch,
            name: normalise(name),
        }
    }
}

fn normalise(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// What is kept of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Remembered {
    Addresses(Vec<IpAddr>),
    Absent(Absence),
}

impl Remembered {
    fn into_result(self, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        match self {
            Remembered::Addresses(addresses) => Ok(addresses),
            Remembered::Absent(absence) => Err(absence.error(name)),
        }
    }
}

/// An answer and how long it may be kept; `None` when it must not be.
fn keep(answer: Answer) -> (Remembered, Option<Duration>) {
    match answer {
        Answer::Addresses { addresses, ttl } => {
            // RFC 1035: a TTL of zero means use for this transaction only.
            let life = (ttl > 0).then(|| secs(ttl).clamp(MIN_TTL, MAX_TTL));
            (Remembered::Addresses(addresses), life)
        }
        Answer::Absent { absence, ttl } => {
            // Without the zone's SOA there is no time the zone gave, and RFC 2308 section 5
            // advises against caching at all because two caching servers could keep feeding
            // each other the answer. That loop needs a server that answers others from its
            // cache; this cache only serves the plane's own connections, so a short fixed
            // time is safe and spares the link a question per connection to a dead name.
            let life = match ttl {
                Some(0) => None,
                Some(ttl) => Some(secs(ttl).clamp(MIN_TTL, MAX_NEGATIVE_TTL)),
                None => Some(MAX_NEGATIVE_TTL),
            };
            (Remembered::Absent(absence), life)
        }
    }
}

fn secs(ttl: u32) -> Duration {
    Duration::from_secs(u64::from(ttl))
}

#[derive(Debug)]
struct Entry {
    remembered: Remembered,
    expires: Instant,
    /// Tells entries expiring at the same instant apart in the expiry index.
    serial: u64,
}

/// The map and its expiry index, changed together under one lock.
#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<CacheKey, Entry>,
    /// Every entry by (expiry, serial): the expired and the oldest-expiring ones are first.
    by_expiry: BTreeMap<(Instant, u64), CacheKey>,
    next_serial: u64,
}

impl Entries {
    fn get(&mut self, key: &CacheKey, now: Instant) -> Option<Remembered> {
        let entry = self.by_key.get(key)?;
        if entry.expires > now {
            return Some(entry.remembered.clone());
        }
        self.remove(key);
        None
    }

    fn insert(
        &mut self,
        key: CacheKey,
        remembered: Remembered,
        expires: Instant,
        capacity: usize,
        now: Instant,
    ) {
        self.remove(&key);
        if self.by_key.len() >= capacity {
            self.drop_expired(now);
        }
        while self.by_key.len() >= capacity {
            let Some((_, oldest)) = self.by_expiry.pop_first() else {
                break;
            };
            self.by_key.remove(&oldest);
        }
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        self.by_expiry.insert((expires, serial), key.clone());
        self.by_key.insert(
            key,
            Entry {
                remembered,
                expires,
                serial,
            },
        );
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some(entry) = self.by_key.remove(key) {
            self.by_expiry.remove(&(entry.expires, entry.serial));
        }
    }

    fn drop_expired(&mut self, now: Instant) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.by_key.remove(&key);
        }
    }
}

/// One question on the wire and, once it is answered, what every caller waiting on it gets.
/// Errors are shared behind an `Arc` because `ResolveError` holds an `io::Error`.
type Flight = tokio::sync::OnceCell<Result<Remembered, Arc<ResolveError>>>;

/// The plane's DNS answers, shared by every session (any worker thread).
#[derive(Debug)]
pub struct NameCache {
    /// Held only for map operations, never across an await.
    entries: Mutex<Entries>,
    /// Questions on the wire now, by key; held only for map operations too.
    flights: Mutex<HashMap<CacheKey, Arc<Flight>>>,
    capacity: usize,
    counters: Arc<NameCacheCounters>,
}

impl NameCache {
    /// A cache of at most `capacity` entries (0 keeps nothing: every lookup goes to the wire).
    pub fn new(capacity: usize, counters: Arc<NameCacheCounters>) -> NameCache {
        NameCache {
            entries: Mutex::default(),
            flights: Mutex::default(),
            capacity,
            counters,
        }
    }

    /// The addresses of `name` through `path`, as the port's resolver answers them, from
    /// memory when an answer learned on the same link epoch is still fresh, or from the
    /// question another connection is asking right now.
    pub async fn resolve(
        &self,
        name: &str,
        path: &DnsPath<'_>,
        epoch: LinkEpoch,
    ) -> Result<Vec<IpAddr>, ResolveError> {
        let key = CacheKey::new(name, path, epoch);
        if let Some(remembered) = self.lock().get(&key, Instant::now()) {
            self.counters.add_hit();
            return remembered.into_result(name);
        }
        let flight = Arc::clone(lock(&self.flights).entry(key.clone()).or_default());
        let mut asked = false;
        let outcome = flight
            .get_or_init(|| {
                // Only the caller whose question goes out gets here; if it is cancelled,
                // the next waiting caller asks instead.
                asked = true;
                self.ask(&key, name, path)
            })
            .await;
        {
            let mut flights = lock(&self.flights);
            if flights
                .get(&key)
                .is_some_and(|now| Arc::ptr_eq(now, &flight))
            {
                flights.remove(&key);
            }
        }
        if asked {
            self.counters.add_miss();
        } else {
            self.counters.add_hit();
        }
        match outcome {
            Ok(remembered) => remembered.clone().into_result(name),
            Err(error) => Err(error.duplicate()),
        }
    }

    /// Asks the wire and keeps the answer if it may be kept.
    async fn ask(
        &self,
        key: &CacheKey,
        name: &str,
        path: &DnsPath<'_>,
    ) -> Result<Remembered, Arc<ResolveError>> {
        let (remembered, life) = keep(resolve_answer(name, path).await.map_err(Arc::new)?);
        if let Some(life) = life {
            self.store(key.clone(), remembered.clone(), life, Instant::now());
        }
        Ok(remembered)
    }

    /// Entries held now (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn store(&self, key: CacheKey, remembered: Remembered, life: Duration, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        self.lock()
            .insert(key, remembered, now + life, self.capacity, now);
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        lock(&self.entries)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change to the maps completes without a call that could panic half-way, so a
    // poisoned lock still guards a consistent state.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
