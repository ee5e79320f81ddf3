//! The paged list of ipfilter rules: every page of every sort, both directions, equals the
//! same slice of the whole alive set sorted in Rust, with and without expired rows the sweep
//! has not reached; and (ignored, release build) pages at five depths of a million rules timed.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use kordon_model::ipfilter::{RuleKind, RuleSpec};
use kordon_store::ipfilter::bulk::Duplicates;
use kordon_store::ipfilter::list::{RulePage, RuleSort};
use kordon_store::ipfilter::{network_key, IpFilterRule};
use kordon_store::Store;

/// The import's clock; timed rules expire from `NOW + 1` on.
const NOW: i64 = 1_800_000_000;

struct Fixture {
    store: Store,
    _dir: tempfile::TempDir,
}

async fn open() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    Fixture { store, _dir: dir }
}

/// `total` rules shaped as blocklists are: 90% IPv4 hosts, 9% IPv4 networks, 1% IPv6 /64s;
/// 70% permanent blocks, 25% timed blocks, 5% permits. Timed rules expire one per second
/// over the `spread` seconds after `NOW`, so a later `now` leaves expired rows unswept.
fn rules(total: usize, spread: i64) -> Vec<RuleSpec> {
    let hosts = total * 90 / 100;
    let networks = total * 9 / 100;
    (0..total)
        .map(|i| {
            let network = if i < hosts {
                IpNet::new(IpAddr::V4(Ipv4Addr::from((10u32 << 24) + i as u32 * 2)), 32)
            } else if i < hosts + networks {
                let n = (i - hosts) as u32;
                IpNet::new(IpAddr::V4(Ipv4Addr::from((11u32 << 24) + (n << 8))), 24)
            } else {
                let n = (i - hosts - networks) as u128;
                IpNet::new(
                    IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) + (n << 64))),
                    64,
                )
            }
            .unwrap();
            // Hosts and networks interleave by type so no sort keeps the import order.
            let kind = match (i * 7) % 20 {
                0 => RuleKind::Permit,
                1..=5 => RuleKind::TimedBlock,
                _ => RuleKind::PermanentBlock,
            };
            let expires_at =
                (kind != RuleKind::PermanentBlock).then(|| NOW + 1 + (i as i64 * 7919) % spread);
            RuleSpec {
                network,
                kind,
                expires_at,
                description: format!("rule {i}"),
            }
        })
        .collect()
}

async fn filled(total: usize, spread: i64) -> Fixture {
    let fixture = open().await;
    fixture
        .store
        .import_ipfilter_rules(&rules(total, spread), Duplicates::Refuse, NOW)
        .await
        .unwrap();
    fixture
}

/// The list's order, written out independently of the store's SQL.
fn compare(sort: RuleSort, a: &IpFilterRule, b: &IpFilterRule) -> Ordering {
    let code = |rule: &IpFilterRule| rule.kind.code();
    match sort {
        RuleSort::Id => a.id.cmp(&b.id),
        RuleSort::Ip => network_key(&a.network)
            .cmp(&network_key(&b.network))
            .then(a.network.prefix_len().cmp(&b.network.prefix_len()))
            .then(code(a).cmp(&code(b))),
        RuleSort::Type => code(a).cmp(&code(b)).then(a.id.cmp(&b.id)),
        // `None` sorts first, as SQLite puts NULL first in ascending order.
        RuleSort::ExpiresTime => a.expires_at.cmp(&b.expires_at).then(a.id.cmp(&b.id)),
    }
}

const SORTS: [RuleSort; 4] = [
    RuleSort::Id,
    RuleSort::Ip,
    RuleSort::Type,
    RuleSort::ExpiresTime,
];

/// Every page (and one past the end) of every sort and direction at `now`.
async fn check_every_page(store: &Store, now: i64, pagesize: i64) {
    let mut alive = Vec::new();
    let mut after = 0;
    loop {
        let chunk = store.ipfilter_rules_after(after, 1000, now).await.unwrap();
        let Some(last) = chunk.last() else { break };
        after = last.id;
        alive.extend(chunk);
    }
    let total = alive.len() as i64;
    for sort in SORTS {
        for descending in [false, true] {
            let mut expected = alive.clone();
            expected.sort_by(|a, b| compare(sort, a, b));
            if descending {
                expected.reverse();
            }
            let mut page = RulePage {
                page: 1,
                pagesize,
                sort,
                descending,
            };
            let pages = page.page_count(total);
            for number in 1..=pages + 1 {
                page.page = number;
                let (counted, rules) = store.list_ipfilter_rules(&page, now).await.unwrap();
                assert_eq!(counted, total);
                let start = (page.offset() as usize).min(expected.len());
                let end = (start + pagesize as usize).min(expected.len());
                assert_eq!(
                    rules,
                    expected[start..end],
                    "page {number} of {pages}, sort {sort:?}, descending {descending}"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_page_is_the_slice_of_the_sorted_alive_rules() {
    let fixture = filled(2_345, 400).await;
    // Nothing expired yet, then a part of the timed rules expired but not swept, then swept.
    check_every_page(&fixture.store, NOW, 100).await;
    check_every_page(&fixture.store, NOW + 150, 100).await;
    check_every_page(&fixture.store, NOW + 150, 7).await;
    fixture
        .store
        .sweep_expired_ipfilter_rules(NOW + 150)
        .await
        .unwrap();
    check_every_page(&fixture.store, NOW + 150, 100).await;
}

#[tokio::test]
async fn an_empty_list_has_no_pages() {
    let fixture = open().await;
    for sort in SORTS {
        let page = RulePage {
            page: 1,
            pagesize: 100,
            sort,
            descending: true,
        };
        let (total, rules) = fixture.store.list_ipfilter_rules(&page, NOW).await.unwrap();
        assert_eq!(total, 0);
        assert!(rules.is_empty());
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Pages of 100 at 1%, 25%, 50%, 75% and 99% depth of a million rules, each sort and
/// direction, 50 calls each: p50 / p99 / max. Run with
/// `cargo test --release -p kordon-store --test ipfilter_list -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "timing: a million rules, release build"]
async fn pages_of_a_million_rules_timed() {
    const TOTAL: usize = 1_000_000;
    const CALLS: usize = 50;
    let started = Instant::now();
    let fixture = filled(TOTAL, 1_000_000).await;
    println!(
        "import of {TOTAL} rules: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // `NOW`: nothing expired (the state between sweeps); `NOW + 1000`: about 250 timed rules
    // expired and not swept yet, so every page tests expiry.
    for (state, now) in [("swept", NOW), ("unswept", NOW + 1000)] {
        let total = fixture.store.ipfilter_rule_count(now).await.unwrap();
        let mut worst: f64 = 0.0;
        println!("\n{state}: {total} alive; sort, depth: p50 / p99 / max ms");
        for sort in SORTS {
            for descending in [false, true] {
                for depth in [1, 25, 50, 75, 99] {
                    let page = RulePage {
                        page: total * depth / 100 / 100 + 1,
                        pagesize: 100,
                        sort,
                        descending,
                    };
                    let mut times = Vec::with_capacity(CALLS);
                    for _ in 0..CALLS {
                        let call = Instant::now();
                        let (_, rules) =
                            fixture.store.list_ipfilter_rules(&page, now).await.unwrap();
                        times.push(call.elapsed());
                        assert_eq!(rules.len(), 100);
                    }
                    times.sort();
                    let p99 = millis(times[CALLS * 99 / 100 - 1]);
                    worst = worst.max(p99);
                    println!(
                        "{state} {sort:?}{} {depth}% (page {}): {:.2} / {:.2} / {:.2}",
                        if descending { " desc" } else { "" },
                        page.page,
                        millis(times[CALLS / 2]),
                        p99,
                        millis(times[CALLS - 1]),
                    );
                }
            }
        }
        println!("{state}: worst p99 {worst:.2} ms");
    }
}
