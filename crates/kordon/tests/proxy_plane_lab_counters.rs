//! The proxy plane's counters in the namespace lab (needs root): exact traffic moved by a
//! real client (PySocks) shows, per profile and per login, in `GET /api/proxy/stats` and in
//! `/metrics` read from inside the farm, with the DNS answer cache's hits and misses.

mod lab_support;
mod proxy_support;

use kordon_lab::topology::{ECHO_ADDR, SINK_PORT, SOURCE_PORT};
use lab_support::{call, hilink_models, root_or_skip, Farm};
use proxy_support::{
    fetch, login_entry, metric, metrics, name, profile, proxy_entry, proxy_login, python,
    wait_listening, wait_stats, ECHO, PYSOCKS_EXCHANGE,
};
use serde_json::{json, Value};

const UPLOAD: i64 = 100_000;
const DOWNLOAD: i64 = 300_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_and_refusals_are_counted_per_profile_and_login() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pn"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let login = proxy_login(ns, key, "metered", 0, 0).await;
    let id = profile(ns, key, setup.ports[0].0, 31401, "socks", login, json!({})).await;
    // Only a bare TCP probe before the measured traffic (it counts as a protocol refusal,
    // never as traffic).
    wait_listening(ns, 31401).await;

    // Exactly UPLOAD bytes to the sink (half-closed, so all of them went through before
    // the client returns), then DOWNLOAD bytes read from the source.
    let lab = ECHO_ADDR.to_string();
    let exchange = |port: u16, send: i64, receive: i64| {
        let args = [
            "127.0.0.1".to_string(),
            "31401".into(),
            "metered".into(),
            "metered-pw".into(),
            lab.clone(),
            port.to_string(),
            send.to_string(),
            receive.to_string(),
        ];
        async move { python(ns, PYSOCKS_EXCHANGE, &args).await }
    };
    let uploaded = exchange(SINK_PORT, UPLOAD, 0).await;
    assert_eq!(uploaded, (0, format!("sent {UPLOAD} received 0")));
    let downloaded = exchange(SOURCE_PORT, 0, DOWNLOAD).await;
    assert_eq!(downloaded, (0, format!("sent 0 received {DOWNLOAD}")));
    let wrong = ["--socks5-hostname", "metered:wrong@127.0.0.1:31401"];
    assert_eq!(fetch(ns, &wrong, ECHO).await, None);

    // The API, within a few flushes: exact bytes out; at least the bytes read in (the
    // source may have pushed more into the client's buffers before it closed).
    let stats = wait_stats(ns, key, "the traffic of both connections", |stats| {
        let profile = proxy_entry(stats, id);
        profile["connections"] == 2
            && profile["bytes_out"] == UPLOAD
            && profile["bytes_in"].as_i64() >= Some(DOWNLOAD)
            && profile["open"] == 0
            && profile["refusals"]["auth"] == 1
    })
    .await;
    let profile = proxy_entry(&stats, id);
    let metered = login_entry(&stats, login);
    assert_eq!(metered["login"], "metered");
    for field in ["bytes_in", "bytes_out", "connections"] {
        assert_eq!(metered[field], profile[field], "login's {field}");
    }
    assert!(profile["updated_at"].is_string(), "{profile}");
    assert!(profile["refusals"]["protocol"].as_i64() >= Some(1));

    // One profile asked for by id: it and its login only.
    let (status, one) = call(
        ns,
        "GET",
        &format!("/api/proxy/stats?id={id}"),
        Some(key),
        None,
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["proxies"], json!([profile]));
    assert_eq!(one["logins"], json!([metered]));

    // /metrics from inside the farm (loopback reads it without a key): the same totals.
    let text = metrics(ns).await;
    let (proxy_id, listen) = (id.to_string(), "31401");
    let of_profile = |extra: &[(&'static str, &'static str)]| {
        let mut labels = vec![("proxy", proxy_id.as_str()), ("port", listen)];
        labels.extend_from_slice(extra);
        labels
    };
    let number = |value: &Value| value.as_f64().expect("a count");
    let bytes = "kordon_proxy_bytes_total";
    let series = [
        (
            bytes,
            of_profile(&[("direction", "in")]),
            &profile["bytes_in"],
        ),
        (
            bytes,
            of_profile(&[("direction", "out")]),
            &profile["bytes_out"],
        ),
        (
            "kordon_proxy_connections_total",
            of_profile(&[]),
            &profile["connections"],
        ),
        (
            "kordon_proxy_refusals_total",
            of_profile(&[("reason", "auth")]),
            &profile["refusals"]["auth"],
        ),
    ];
    for (family, labels, expected) in &series {
        let value = metric(&text, family, labels);
        assert_eq!(value, Some(number(expected)), "{family} {labels:?}");
    }
    let login_bytes = "kordon_proxy_login_bytes_total";
    let out = [("login", "metered"), ("direction", "out")];
    assert_eq!(metric(&text, login_bytes, &out), Some(UPLOAD as f64));
    let connections = metric(
        &text,
        "kordon_proxy_login_connections_total",
        &[("login", "metered")],
    );
    assert_eq!(connections, Some(2.0));

    // A name asked for twice through the port: the modem's resolver is asked once and the
    // plane's answer cache serves the second (the lab zone's TTL is 300 s).
    let cache = |text: &str, family: &str| metric(text, family, &[]).expect(family);
    let hits = "kordon_proxy_dns_cache_hits_total";
    let misses = "kordon_proxy_dns_cache_misses_total";
    let before = (cache(&text, hits), cache(&text, misses));
    let named = ["--socks5-hostname", "metered:metered-pw@127.0.0.1:31401"];
    for _ in 0..2 {
        assert!(fetch(ns, &named, "http://echo.kordon.test/")
            .await
            .is_some());
    }
    let text = metrics(ns).await;
    let after = (cache(&text, hits), cache(&text, misses));
    assert_eq!((after.0 - before.0, after.1 - before.1), (1.0, 1.0));
}
