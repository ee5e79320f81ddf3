//! The proxy plane's counters as a client of the farm sees them: `GET /api/proxy/stats`
//! (flushed from the plane every 2 s) and the `/metrics` exposition.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::curl;
use crate::lab_support::{call, API};

/// The plane flushes every 2 s; a few flushes' worth of patience.
const FLUSH_PATIENCE: Duration = Duration::from_secs(10);

pub async fn proxy_stats(ns: &str, key: &str) -> Value {
    let (status, reply) = call(ns, "GET", "/api/proxy/stats", Some(key), None).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

/// The entry of profile `id` in a `proxy/stats` reply (`Null` when absent).
pub fn proxy_entry(stats: &Value, id: i64) -> Value {
    entry(&stats["proxies"], id)
}

/// The entry of login `id` in a `proxy/stats` reply (`Null` when absent).
pub fn login_entry(stats: &Value, id: i64) -> Value {
    entry(&stats["logins"], id)
}

fn entry(list: &Value, id: i64) -> Value {
    list.as_array()
        .and_then(|items| items.iter().find(|item| item["id"] == id))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Profile `id`'s count of refusals for `reason` in a `proxy/stats` reply.
pub fn refusals(stats: &Value, id: i64, reason: &str) -> i64 {
    proxy_entry(stats, id)["refusals"][reason]
        .as_i64()
        .unwrap_or_else(|| panic!("no {reason} refusals for profile {id} in {stats}"))
}

/// Polls `proxy/stats` until `done` holds for it (counters reach the API at the plane's
/// next flush).
pub async fn wait_stats(ns: &str, key: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + FLUSH_PATIENCE;
    loop {
        let stats = proxy_stats(ns, key).await;
        if done(&stats) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "stats never showed {what}: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until profile `id` has at least `at_least` refusals for `reason`.
pub async fn wait_refusals(ns: &str, key: &str, id: i64, reason: &str, at_least: i64) -> Value {
    let what = format!("{at_least} {reason} refusals of profile {id}");
    wait_stats(ns, key, &what, |stats| {
        proxy_entry(stats, id)["refusals"][reason]
            .as_i64()
            .is_some_and(|count| count >= at_least)
    })
    .await
}

/// `/metrics` as read from inside the farm (loopback may read it without a key).
pub async fn metrics(ns: &str) -> String {
    let url = format!("{API}/metrics");
    let (code, text) = curl(ns, &["-f", &url]).await;
    assert_eq!(code, 0, "GET /metrics: {text}");
    text
}

/// The value of the series `family{labels…}` in an exposition (other labels may be
/// present); `None` when no such series exists.
pub fn metric(text: &str, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, label_set) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let matches = name == family
                && labels.iter().all(|(label, wanted)| {
                    let pair = format!("{label}=\"{wanted}\"");
                    label_set.split(',').any(|given| given == pair)
                });
            matches.then(|| value.parse().ok()).flatten()
        })
}
