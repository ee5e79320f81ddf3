//! The HTTP exchange between curl (as the client, `--proxy`) and Python's http.server.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::http_support::{curl, start_proxy, Origin};
use super::support::{on_both_engines, random_bytes, sha256};
use crate::relay::Engine;

on_both_engines!(
    keep_alive_reuses_both_connections,
    chunked_both_ways,
    expect_100_continue,
    head_204_304,
    read_to_close,
    malformed_response_is_502,
);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Three requests on one client connection reach the origin over one upstream connection;
/// the origin's hop-by-hop fields do not reach the client.
async fn keep_alive_reuses_both_connections(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let (body, log) = curl(
        &proxy,
        &[
            &origin.url("/hello/1"),
            &origin.url("/hello/2"),
            &origin.url("/hello/3"),
        ],
    )
    .await;
    assert_eq!(body, b"hello /hello/1hello /hello/2hello /hello/3");
    assert_eq!(
        log.matches("Re-using existing connection").count(),
        2,
        "{log}"
    );
    assert_eq!(proxy.upstream_connects.load(Ordering::Relaxed), 1);
    let response_lines: Vec<&str> = log.lines().filter(|l| l.starts_with("< ")).collect();
    assert!(response_lines
        .iter()
        .any(|l| l.starts_with("< X-Upstream-Port:")));
    for hop in ["X-Private", "Keep-Alive", "Connection"] {
        assert!(
            !response_lines.iter().any(|l| l.contains(hop)),
            "{hop} forwarded: {response_lines:?}"
        );
    }
    let outcomes = proxy.outcomes();
    assert_eq!(outcomes.len(), 3);
    for outcome in outcomes {
        let outcome = outcome.unwrap();
        assert_eq!(outcome.status, Some(200));
        assert!(outcome.client_keep_alive && outcome.upstream_reusable);
    }
}

/// A chunked upload of 3 MiB is forwarded chunked, and the chunked echo (with its trailer)
/// comes back intact; the meter saw every byte.
async fn chunked_both_ways(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let dir = tempfile::tempdir().unwrap();
    let upload = dir.path().join("upload");
    let payload = random_bytes(3 << 20);
    std::fs::write(&upload, &payload).unwrap();
    let (body, log) = curl(
        &proxy,
        &[
            "--header",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &format!("@{}", upload.display()),
            &origin.url("/echo-chunked"),
        ],
    )
    .await;
    assert_eq!(body.len(), payload.len());
    assert_eq!(sha256(&body), sha256(&payload));
    assert!(log.contains("Transfer-Encoding: chunked"), "{log}");
    let outcome = proxy.outcomes()[0].clone().unwrap();
    assert!(outcome.upstream_reusable);
    let (outbound, inbound) = proxy.meter.counts();
    assert_eq!((outbound, inbound), (outcome.outbound, outcome.inbound));
    assert!(outbound > payload.len() as u64 && inbound > payload.len() as u64);
    // The raw chunked stream carries the origin's trailer to the client.
    let (raw, _) = curl(
        &proxy,
        &[
            "--raw",
            "--header",
            "Transfer-Encoding: chunked",
            "--data-binary",
            "abc",
            &origin.url("/echo-chunked"),
        ],
    )
    .await;
    let expected_trailer = format!("X-Sha256: {}\r\n\r\n", hex(&sha256(b"abc")));
    assert!(
        raw.ends_with(expected_trailer.as_bytes()),
        "{}",
        String::from_utf8_lossy(&raw)
    );
}

/// curl waits for `100 Continue` before sending its body; the interim response is forwarded
/// at once (curl would otherwise wait a second before sending anyway).
async fn expect_100_continue(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let payload = random_bytes(200_000);
    let dir = tempfile::tempdir().unwrap();
    let upload = dir.path().join("upload");
    std::fs::write(&upload, &payload).unwrap();
    let started = Instant::now();
    let (body, log) = curl(
        &proxy,
        &[
            "--header",
            "Expect: 100-continue",
            "--expect100-timeout",
            "5",
            "--data-binary",
            &format!("@{}", upload.display()),
            &origin.url("/echo"),
        ],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "waited for the expect timeout"
    );
    assert!(log.contains("HTTP/1.1 100 Continue"), "{log}");
    assert_eq!(sha256(&body), sha256(&payload));
}

/// HEAD, 204 and 304 have no body whatever their fields say, and the connection carries on.
async fn head_204_304(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let (body, log) = curl(&proxy, &["--head", &origin.url("/hello/head")]).await;
    assert!(log.contains("Content-Length: 17"), "{log}");
    assert!(String::from_utf8_lossy(&body).starts_with("HTTP/1.1 200 OK"));
    let (body, log) = curl(
        &proxy,
        &[
            &origin.url("/status/204"),
            &origin.url("/status/304"),
            &origin.url("/hello/after"),
        ],
    )
    .await;
    assert_eq!(body, b"hello /hello/after");
    assert!(log.contains("HTTP/1.1 204 No Content"), "{log}");
    assert!(log.contains("HTTP/1.1 304 Not Modified"), "{log}");
    assert_eq!(
        log.matches("Re-using existing connection").count(),
        2,
        "{log}"
    );
    assert_eq!(proxy.upstream_connects.load(Ordering::Relaxed), 2);
}

/// A response without length ends when the origin closes; the client connection closes
/// too (and is told so), and neither connection is reused.
async fn read_to_close(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let (body, log) = curl(&proxy, &[&origin.url("/close"), &origin.url("/hello/next")]).await;
    let mut expected = b"until the end".repeat(1000);
    expected.extend_from_slice(b"hello /hello/next");
    assert_eq!(body, expected);
    assert!(log.contains("Connection: close"), "{log}");
    assert!(!log.contains("Re-using existing connection"), "{log}");
    let first = proxy.outcomes()[0].clone().unwrap();
    assert!(!first.client_keep_alive && !first.upstream_reusable);
    assert_eq!(proxy.upstream_connects.load(Ordering::Relaxed), 2);
}

/// A malformed status line gives the client a 502 from the proxy, not the origin's bytes.
async fn malformed_response_is_502(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let (body, log) = curl(&proxy, &[&origin.url("/malformed")]).await;
    assert!(log.contains("HTTP/1.1 502 Bad Gateway"), "{log}");
    assert_eq!(body, b"502 Bad Gateway\n");
    let failure = proxy.outcomes()[0].clone().unwrap_err();
    assert!(failure.contains("BadResponse"), "{failure}");
}
