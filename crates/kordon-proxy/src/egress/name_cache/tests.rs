use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

const EPOCH: LinkEpoch = LinkEpoch {
    address: Some(Ipv4Addr::new(192, 168, 8, 100)),
    rotations: 0,
};

fn path(ifname: &str, server: SocketAddr) -> DnsPath<'_> {
    DnsPath {
        ifname,
        server,
        timeout: Duration::from_secs(1),
    }
}

fn modem() -> SocketAddr {
    SocketAddr::from(([192, 168, 8, 1], 53))
}

fn key(name: &str) -> CacheKey {
    CacheKey::new(name, &path("usb0", modem()), EPOCH)
}

fn addresses(last: u8) -> Remembered {
    Remembered::Addresses(vec![IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))])
}

fn life(answer: Answer) -> Option<Duration> {
    keep(answer).1
}

fn found(ttl: u32) -> Answer {
    Answer::Addresses {
        addresses: vec![IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))],
        ttl,
    }
}

fn absent(absence: Absence, ttl: Option<u32>) -> Answer {
    Answer::Absent { absence, ttl }
}

#[test]
fn positive_answers_live_their_ttl_within_bounds() {
    assert_eq!(life(found(0)), None, "TTL 0 means do not keep");
    assert_eq!(life(found(1)), Some(Duration::from_secs(1)));
    assert_eq!(life(found(42)), Some(Duration::from_secs(42)));
    assert_eq!(life(found(300)), Some(MAX_TTL));
    assert_eq!(life(found(86_400)), Some(MAX_TTL));
    assert_eq!(life(found(u32::MAX)), Some(MAX_TTL));
}

#[test]
fn negative_answers_live_the_soa_time_or_thirty_seconds_at_most() {
    for absence in [Absence::NotFound, Absence::NoAddress] {
        assert_eq!(life(absent(absence, None)), Some(MAX_NEGATIVE_TTL));
        assert_eq!(life(absent(absence, Some(0))), None);
        assert_eq!(life(absent(absence, Some(5))), Some(Duration::from_secs(5)));
        assert_eq!(life(absent(absence, Some(3_600))), Some(MAX_NEGATIVE_TTL));
    }
}

#[test]
fn an_entry_is_served_until_it_expires_and_then_dropped() {
    let mut entries = Entries::default();
    let start = Instant::now();
    let expires = start + Duration::from_secs(10);
    entries.insert(key("example.com"), addresses(1), expires, 10, start);
    assert_eq!(
        entries.get(&key("example.com"), start + Duration::from_secs(9)),
        Some(addresses(1))
    );
    assert_eq!(entries.get(&key("example.com"), expires), None);
    assert!(entries.by_key.is_empty());
    assert!(entries.by_expiry.is_empty());
}

#[test]
fn a_newer_answer_replaces_the_older_and_its_expiry() {
    let mut entries = Entries::default();
    let start = Instant::now();
    entries.insert(
        key("example.com"),
        addresses(1),
        start + Duration::from_secs(5),
        10,
        start,
    );
    entries.insert(
        key("example.com"),
        addresses(2),
        start + Duration::from_secs(60),
        10,
        start,
    );
    assert_eq!(entries.by_key.len(), 1);
    assert_eq!(entries.by_expiry.len(), 1);
    assert_eq!(
        entries.get(&key("example.com"), start + Duration::from_secs(30)),
        Some(addresses(2))
    );
}

#[test]
fn names_compare_without_case_or_the_root_dot() {
    assert_eq!(key("Example.COM."), key("example.com"));
    assert_ne!(key("example.com"), key("example.org"));
}

#[test]
fn answers_are_kept_apart_by_interface_server_and_link_epoch() {
    let base = key("example.com");
    let other_interface = CacheKey::new("example.com", &path("usb1", modem()), EPOCH);
    let other_server = CacheKey::new(
        "example.com",
        &path("usb0", SocketAddr::from(([192, 168, 0, 1], 53))),
        EPOCH,
    );
    let rotated = CacheKey::new(
        "example.com",
        &path("usb0", modem()),
        LinkEpoch {
            rotations: 1,
            ..EPOCH
        },
    );
    let readdressed = CacheKey::new(
        "example.com",
        &path("usb0", modem()),
        LinkEpoch {
            address: Some(Ipv4Addr::new(192, 168, 8, 101)),
            ..EPOCH
        },
    );
    let mut entries = Entries::default();
    let start = Instant::now();
    let expires = start + Duration::from_secs(60);
    entries.insert(base.clone(), addresses(1), expires, 10, start);
    for (other, last) in [
        (other_interface, 2),
        (other_server, 3),
        (rotated, 4),
        (readdressed, 5),
    ] {
        assert_ne!(other, base);
        assert_eq!(entries.get(&other, start), None, "{other:?}");
        entries.insert(other.clone(), addresses(last), expires, 10, start);
        assert_eq!(entries.get(&other, start), Some(addresses(last)));
    }
    assert_eq!(entries.get(&base, start), Some(addresses(1)));
    assert_eq!(entries.by_key.len(), 5);
}

#[test]
fn when_full_expired_entries_go_first_then_the_oldest_expiring() {
    let mut entries = Entries::default();
    let start = Instant::now();
    let at = |secs| start + Duration::from_secs(secs);
    entries.insert(key("a.test"), addresses(1), at(10), 3, start);
    entries.insert(key("b.test"), addresses(2), at(1), 3, start);
    entries.insert(key("c.test"), addresses(3), at(20), 3, start);
    // b has expired by now: it makes room, a (not expired) stays.
    entries.insert(key("d.test"), addresses(4), at(30), 3, at(5));
    assert_eq!(entries.by_key.len(), 3);
    assert!(entries.by_key.contains_key(&key("a.test")));
    assert!(!entries.by_key.contains_key(&key("b.test")));
    // Nothing has expired: a, the oldest-expiring, makes room.
    entries.insert(key("e.test"), addresses(5), at(40), 3, at(5));
    assert_eq!(entries.by_key.len(), 3);
    assert!(!entries.by_key.contains_key(&key("a.test")));
    for kept in ["c.test", "d.test", "e.test"] {
        assert!(entries.by_key.contains_key(&key(kept)), "{kept}");
    }
    assert_eq!(entries.by_expiry.len(), 3);
}

#[test]
fn the_cache_never_holds_more_than_its_capacity() {
    let cache = NameCache::new(100, Arc::default());
    let start = Instant::now();
    for n in 0..1_000u64 {
        // Half already expired when the next ones arrive, half long-lived.
        let life = if n % 2 == 0 {
            Duration::from_millis(1)
        } else {
            Duration::from_secs(60 + n)
        };
        let now = start + Duration::from_millis(n * 2);
        cache.store(key(&format!("host{n}.test")), addresses(1), life, now);
        assert!(cache.len() <= 100);
    }
    let entries = cache.lock();
    assert_eq!(entries.by_key.len(), entries.by_expiry.len());
    // The survivors are the latest long-lived ones.
    assert!(entries.by_key.contains_key(&key("host999.test")));
    assert!(!entries.by_key.contains_key(&key("host1.test")));
}

#[test]
fn a_cache_of_no_entries_keeps_nothing() {
    let cache = NameCache::new(0, Arc::default());
    cache.store(
        key("example.com"),
        addresses(1),
        Duration::from_secs(60),
        Instant::now(),
    );
    assert!(cache.is_empty());
}

#[test]
fn a_kept_absence_answers_with_resolves_own_error() {
    let not_found = Remembered::Absent(Absence::NotFound).into_result("nowhere.test");
    assert!(
        matches!(not_found, Err(ResolveError::NotFound(ref name)) if name == "nowhere.test."),
        "{not_found:?}"
    );
    let no_address = Remembered::Absent(Absence::NoAddress).into_result("bare.test");
    assert!(
        matches!(no_address, Err(ResolveError::NoAddress(ref name)) if name == "bare.test"),
        "{no_address:?}"
    );
}
