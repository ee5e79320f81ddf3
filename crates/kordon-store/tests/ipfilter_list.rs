//! The paged list of ipfilter rules: every page of every sort, both directions, equals the
//! same slice of the whole alive set sorted in Rust, with and without expired rows the sweep
//! has not reached; after every kind of write, on the same store or through a second one on
//! the same database, and with a clock moving back; and (ignored, release build) pages at five
//! depths of a million rules timed.

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

/// A rule of a network no `rules` rule has (`n` below 65,536).
fn extra(n: u32, kind: RuleKind, expires_at: Option<i64>) -> RuleSpec {
    RuleSpec {
        network: IpNet::new(IpAddr::V4(Ipv4Addr::from((12u32 << 24) + (n << 8))), 24).unwrap(),
        kind,
        expires_at,
        description: format!("extra {n}"),
    }
}

/// The ids of the rules alive at `now`, in id order.
async fn alive_ids(store: &Store, now: i64) -> Vec<i64> {
    store
        .ipfilter_rules_after(0, i64::MAX, now)
        .await
        .unwrap()
        .iter()
        .map(|rule| rule.id)
        .collect()
}

#[tokio::test]
async fn pages_follow_every_kind_of_write() {
    let fixture = filled(600, 200).await;
    let store = &fixture.store;
    check_every_page(store, NOW, 50).await;
    // Creates of each type, one already expired at the next list's time.
    let mut created = Vec::new();
    for (n, kind, expires_at) in [
        (1, RuleKind::PermanentBlock, None),
        (2, RuleKind::TimedBlock, Some(NOW + 10)),
        (3, RuleKind::Permit, Some(NOW + 500)),
        (4, RuleKind::TimedBlock, Some(NOW + 1)),
    ] {
        let rule = store
            .create_ipfilter_rule(&extra(n, kind, expires_at), NOW)
            .await
            .unwrap();
        created.push(rule.id);
    }
    check_every_page(store, NOW + 1, 50).await;
    // Updates that move a rule in every order, then destroys.
    let ids = alive_ids(store, NOW + 1).await;
    store
        .update_ipfilter_rule(
            ids[10],
            &extra(5, RuleKind::Permit, Some(NOW + 900)),
            NOW + 1,
        )
        .await
        .unwrap();
    store
        .update_ipfilter_rule(
            created[0],
            &extra(6, RuleKind::TimedBlock, Some(NOW + 2)),
            NOW + 1,
        )
        .await
        .unwrap();
    store.delete_ipfilter_rule(ids[0], NOW + 1).await.unwrap();
    store
        .delete_ipfilter_rule(created[2], NOW + 1)
        .await
        .unwrap();
    check_every_page(store, NOW + 1, 50).await;
    // Time passes (expired rows unswept), then the sweep; a twin of an expired rule that the
    // sweep has not reached replaces it.
    check_every_page(store, NOW + 60, 50).await;
    store
        .create_ipfilter_rule(&extra(2, RuleKind::TimedBlock, Some(NOW + 400)), NOW + 60)
        .await
        .unwrap();
    check_every_page(store, NOW + 60, 50).await;
    store.sweep_expired_ipfilter_rules(NOW + 60).await.unwrap();
    check_every_page(store, NOW + 60, 50).await;
    // An import (the journal says reload), then single writes after it.
    let more: Vec<RuleSpec> = (100..160)
        .map(|n| extra(n, RuleKind::TimedBlock, Some(NOW + 100 + i64::from(n))))
        .collect();
    store
        .import_ipfilter_rules(&more, Duplicates::Skip, NOW + 60)
        .await
        .unwrap();
    store
        .create_ipfilter_rule(&extra(7, RuleKind::PermanentBlock, None), NOW + 60)
        .await
        .unwrap();
    check_every_page(store, NOW + 60, 50).await;
    // Writes the index has not read, then the journal pruned past them: the list reads the
    // whole table again.
    store
        .create_ipfilter_rule(&extra(8, RuleKind::Permit, Some(NOW + 999)), NOW + 60)
        .await
        .unwrap();
    let first = alive_ids(store, NOW + 60).await[0];
    store.delete_ipfilter_rule(first, NOW + 60).await.unwrap();
    store.prune_ipfilter_journal(i64::MAX).await.unwrap();
    check_every_page(store, NOW + 61, 50).await;
}

#[tokio::test]
async fn pages_see_the_writes_of_a_second_store() {
    let fixture = filled(500, 300).await;
    let lister = &fixture.store;
    let writer = Store::open_dir(fixture._dir.path()).await.unwrap();
    check_every_page(lister, NOW, 40).await;
    // Writes through the other store while this one lists: every page is whole and in
    // order whatever the writer has done so far.
    let writing = tokio::spawn(async move {
        for n in 0..60 {
            let expires_at = (n % 3 != 0).then_some(NOW + 5 + i64::from(n));
            let kind = if n % 3 == 0 {
                RuleKind::PermanentBlock
            } else {
                RuleKind::TimedBlock
            };
            let rule = writer
                .create_ipfilter_rule(&extra(n, kind, expires_at), NOW)
                .await
                .unwrap();
            if n % 4 == 0 {
                writer.delete_ipfilter_rule(rule.id, NOW).await.unwrap();
            }
            if n == 30 {
                let batch: Vec<RuleSpec> = (200..230)
                    .map(|n| extra(n, RuleKind::PermanentBlock, None))
                    .collect();
                writer
                    .import_ipfilter_rules(&batch, Duplicates::Refuse, NOW)
                    .await
                    .unwrap();
            }
        }
        writer
    });
    let mut lists = 0;
    while !writing.is_finished() || lists < 20 {
        let sort = SORTS[lists % SORTS.len()];
        let page = RulePage {
            page: (lists % 5) as i64 + 1,
            pagesize: 40,
            sort,
            descending: lists % 2 == 1,
        };
        let (total, rules) = lister.list_ipfilter_rules(&page, NOW).await.unwrap();
        let expected = (total - page.offset()).clamp(0, 40) as usize;
        assert_eq!(rules.len(), expected, "list {lists}");
        for pair in rules.windows(2) {
            let order = compare(sort, &pair[0], &pair[1]);
            let expected = if page.descending {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            assert_eq!(order, expected, "list {lists}, {sort:?}");
        }
        lists += 1;
        assert!(lists < 100_000, "the writer never finished");
    }
    let writer = writing.await.unwrap();
    check_every_page(lister, NOW, 40).await;
    check_every_page(lister, NOW + 40, 40).await;
    writer.close().await;
}

#[tokio::test]
async fn a_clock_moving_back_brings_rules_back() {
    let fixture = filled(400, 300).await;
    let store = &fixture.store;
    check_every_page(store, NOW + 250, 30).await;
    check_every_page(store, NOW + 100, 30).await;
    check_every_page(store, NOW, 30).await;
    check_every_page(store, NOW + 300, 30).await;
}

/// This process's resident memory (Linux), 0 when unknown.
fn resident_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib / 1024)
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
    // The import builds the rank index in the background; wait for it here so that the
    // pages below time lists, not the build.
    let started = Instant::now();
    fixture.store.warm_ipfilter_order().await.unwrap();
    println!(
        "rank index ready {:.1} s after the import; process resident memory {} MiB",
        started.elapsed().as_secs_f64(),
        resident_mib()
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
    // A second store opened on the million (as a short-lived command does) starts building
    // its own index; closing it stops the build instead of waiting for it.
    let second = Store::open_dir(fixture._dir.path()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    second.close().await;
    let closed = started.elapsed();
    println!("close during an index build: {:.1} ms", millis(closed));
    assert!(
        closed < Duration::from_secs(1),
        "close waited for the build"
    );
}
