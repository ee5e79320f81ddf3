//! The shared token bucket: its rate over time, the unlimited path, live rate changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kordon_proxy::limits::{LoginBuckets, TokenBucket, MIN_BURST};
use kordon_proxy::table::LoginRates;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_takers_share_one_login_rate() {
    // 4 Mbit/s = 500,000 bytes per second for the login, whatever the number of takers.
    let bits_per_second = 4_000_000;
    let bytes_per_second = bits_per_second as f64 / 8.0;
    let buckets = LoginBuckets::new();
    let rates = LoginRates {
        bitrate_in: bits_per_second,
        bitrate_out: 0,
    };
    let first = buckets.login(7, rates);
    let second = buckets.login(7, rates);
    assert!(Arc::ptr_eq(&first, &second));
    // Spend the initial burst so only the refill rate is measured.
    first.inbound.take(bytes_per_second as u64).await;

    let taken = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let window = Duration::from_secs(2);
    let mut takers = Vec::new();
    for limit in [first, second] {
        let taken = Arc::clone(&taken);
        takers.push(tokio::spawn(async move {
            while started.elapsed() < window {
                limit.inbound.take(8 * 1024).await;
                taken.fetch_add(8 * 1024, Ordering::Relaxed);
            }
        }));
    }
    for taker in takers {
        taker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = taken.load(Ordering::Relaxed) as f64 / elapsed;
    let error = (rate - bytes_per_second) / bytes_per_second;
    assert!(
        error.abs() < 0.05,
        "measured {rate:.0} B/s against {bytes_per_second} B/s ({:+.1}%)",
        error * 100.0
    );
}

#[tokio::test]
async fn unlimited_never_waits() {
    let bucket = TokenBucket::new(0);
    assert!(bucket.is_unlimited());
    let started = Instant::now();
    for _ in 0..10_000 {
        bucket.take(1 << 30).await;
    }
    assert!(started.elapsed() < Duration::from_millis(100));

    let buckets = LoginBuckets::new();
    let limit = buckets.login(1, LoginRates::default());
    tokio::time::timeout(Duration::from_millis(100), limit.outbound.take(u64::MAX))
        .await
        .expect("an unlimited login waited");
}

#[tokio::test]
async fn burst_is_a_tenth_of_a_second_or_sixteen_kib() {
    // 8 kbit/s: a 1,000-byte second, so the burst is the 16 KiB floor.
    let slow = TokenBucket::new(8_000);
    tokio::time::timeout(Duration::from_millis(100), slow.take(MIN_BURST))
        .await
        .expect("the burst was not available at once");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), slow.take(1_000))
            .await
            .is_err(),
        "an empty 1,000 B/s bucket gave 1,000 bytes within 300 ms"
    );
    // 80 Mbit/s: a tenth of a second (1 MB) passes at once, a second's worth does not.
    let fast = TokenBucket::new(80_000_000);
    tokio::time::timeout(Duration::from_millis(50), fast.take(1_000_000))
        .await
        .expect("a tenth of a second's worth was not available at once");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), fast.take(9_000_000))
            .await
            .is_err(),
        "nine tenths of a second's worth passed within 300 ms"
    );
}

#[tokio::test]
async fn rate_changes_reach_waiting_takers() {
    let bucket = Arc::new(TokenBucket::new(8_000));
    bucket.take(MIN_BURST).await;
    // 16 KiB at 1,000 B/s would take 16 s.
    let waiting = {
        let bucket = Arc::clone(&bucket);
        tokio::spawn(async move { bucket.take(MIN_BURST).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    bucket.set_rate(0);
    tokio::time::timeout(Duration::from_millis(200), waiting)
        .await
        .expect("lifting the cap did not release the taker")
        .unwrap();

    // Raising the cap shortens a wait already in progress.
    let bucket = Arc::new(TokenBucket::new(8_000));
    bucket.take(MIN_BURST).await;
    let waiting = {
        let bucket = Arc::clone(&bucket);
        tokio::spawn(async move { bucket.take(MIN_BURST).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    bucket.set_rate(800_000_000);
    tokio::time::timeout(Duration::from_millis(200), waiting)
        .await
        .expect("raising the cap did not shorten the wait")
        .unwrap();
}

#[tokio::test]
async fn takers_sharing_a_bucket_take_turns() {
    // 1,000,000 B/s shared by a taker of 64 KiB chunks and one of 4 KiB chunks: turns are
    // taken chunk by chunk in arrival order, so neither is starved (the big one gets more
    // bytes per turn, the small one still moves).
    let bucket = Arc::new(TokenBucket::new(8_000_000));
    bucket.take(200_000).await;
    let run = |chunk: u64| {
        let bucket = Arc::clone(&bucket);
        tokio::spawn(async move {
            let deadline = std::time::Instant::now() + Duration::from_millis(1500);
            let mut moved = 0u64;
            while std::time::Instant::now() < deadline {
                bucket.take(chunk).await;
                moved += chunk;
            }
            moved
        })
    };
    let (big, small) = (run(64 * 1024), run(4 * 1024));
    let (big, small) = (big.await.unwrap(), small.await.unwrap());
    let total = (big + small) as f64 / 1.5;
    assert!((850_000.0..=1_150_000.0).contains(&total), "{total} B/s");
    // Alternating turns: the small taker gets about 4/(64+4) of the bytes.
    let share = small as f64 / (big + small) as f64;
    assert!(share > 0.03, "small taker starved: {share:.3}");
}
