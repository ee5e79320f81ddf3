//! The HTTP exchange driven byte by byte from a raw client socket: pipelining, HTTP/1.0
//! keep-alive, an upgrade to a tunnel, shaping, and upstreams that misbehave.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::http_support::{read_response, start_proxy, Origin};
use super::support::{connected_pair, login, on_both_engines, CountingMeter};
use crate::protocol::http::BodyFraming;
use crate::relay::http_exchange::{exchange, ForwardRequest, ResponseError};
use crate::relay::{Engine, RelayControls, RelayEnd, RelayError};

on_both_engines!(
    pipelined_requests_answer_in_order,
    http_1_0_keep_alive_is_spelled_out,
    upgrade_becomes_a_tunnel,
    download_is_shaped_and_metered,
    upstream_faults,
    silent_upstream_idles_out_or_stops,
);

fn request(origin: &Origin, path: &str, extra: &str) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: ignored\r\n{extra}\r\n",
        origin.url(path)
    )
}

/// Two requests and the start of a third sent in one write: the answers come in order, the
/// pipelined bytes wait in the handler's buffer, and the meter matches what arrived.
async fn pipelined_requests_answer_in_order(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let mut client = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let posted =
        "POST ".to_string() + &origin.url("/echo") + " HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    let pipelined = request(&origin, "/hello/a", "") + &posted + &request(&origin, "/hello/c", "");
    let (first, rest) = pipelined.split_at(pipelined.len() - 10);
    client.write_all(first.as_bytes()).await.unwrap();
    let mut carry = Vec::new();
    let (head, body) = read_response(&mut client, &mut carry).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"hello /hello/a");
    let (_, body) = read_response(&mut client, &mut carry).await;
    assert_eq!(body, b"hello");
    client.write_all(rest.as_bytes()).await.unwrap();
    let (_, body) = read_response(&mut client, &mut carry).await;
    assert_eq!(body, b"hello /hello/c");
    drop(client);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let outcomes: Vec<_> = proxy.outcomes().into_iter().map(Result::unwrap).collect();
    assert_eq!(outcomes.len(), 3);
    let sent_upstream: u64 = outcomes.iter().map(|o| o.outbound).sum();
    let received: u64 = outcomes.iter().map(|o| o.inbound).sum();
    assert_eq!(proxy.meter.counts(), (sent_upstream, received));
}

/// An HTTP/1.0 client that asks for keep-alive is told `Connection: keep-alive` and can
/// send a second request; one that does not ask gets its connection closed.
async fn http_1_0_keep_alive_is_spelled_out(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let mut client = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let mut carry = Vec::new();
    for path in ["/hello/1", "/hello/2"] {
        let raw = format!(
            "GET {} HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n",
            origin.url(path)
        );
        client.write_all(raw.as_bytes()).await.unwrap();
        let (head, body) = read_response(&mut client, &mut carry).await;
        assert!(head.contains("\r\nConnection: keep-alive\r\n"), "{head}");
        assert_eq!(body, format!("hello {path}").as_bytes());
    }
    let raw = format!("GET {} HTTP/1.0\r\n\r\n", origin.url("/hello/3"));
    client.write_all(raw.as_bytes()).await.unwrap();
    let (head, _) = read_response(&mut client, &mut carry).await;
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

/// `101 Switching Protocols` to an upgrade request: the client gets the 101 with its
/// `Upgrade`, then the connection is a tunnel both ways.
async fn upgrade_becomes_a_tunnel(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, None).await;
    let mut client = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let raw = request(
        &origin,
        "/upgrade",
        "Connection: Upgrade\r\nUpgrade: echo\r\n",
    );
    // The first tunnel bytes ride along with the request head.
    client
        .write_all(format!("{raw}early ").as_bytes())
        .await
        .unwrap();
    let mut carry = Vec::new();
    let (head, _) = read_response(&mut client, &mut carry).await;
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nUpgrade: echo\r\n"), "{head}");
    assert!(head.contains("\r\nConnection: Upgrade\r\n"), "{head}");
    client.write_all(b"tunnel bytes").await.unwrap();
    let expected = b"EARLY TUNNEL BYTES";
    while carry.len() < expected.len() {
        assert!(client.read_buf(&mut carry).await.unwrap() > 0);
    }
    assert_eq!(carry, expected);
    client.shutdown().await.unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let outcome = proxy.outcomes()[0].clone().unwrap();
    assert!(outcome.upgraded);
    assert_eq!(outcome.status, Some(101));
}

/// A 1.5 MB download under a 4 Mbit/s login: a tenth of a second of burst, then the rate.
async fn download_is_shaped_and_metered(engine: Engine) {
    let origin = Origin::start();
    let proxy = start_proxy(engine, Some(login(4_000_000, 0))).await;
    let mut client = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let length = 1_500_000usize;
    let started = Instant::now();
    client
        .write_all(request(&origin, &format!("/big/{length}"), "").as_bytes())
        .await
        .unwrap();
    let mut carry = Vec::new();
    let (head, body) = read_response(&mut client, &mut carry).await;
    let took = started.elapsed().as_secs_f64();
    assert_eq!(body.len(), length);
    // 50 000 B of burst at once, the remaining 1 450 000 B at 500 000 B/s.
    assert!((2.6..3.4).contains(&took), "took {took:.2} s");
    let digest = head
        .lines()
        .find_map(|l| l.strip_prefix("X-Sha256: "))
        .unwrap();
    let actual: String = super::support::sha256(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, actual);
    drop(client);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let outcome = proxy.outcomes()[0].clone().unwrap();
    assert_eq!(outcome.inbound, (head.len() + length) as u64);
    assert_eq!(proxy.meter.counts().1, outcome.inbound);
}

fn plain_get() -> ForwardRequest<'static> {
    ForwardRequest {
        upstream_head: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        body: BodyFraming::Empty,
        method_is_head: false,
        client_minor_version: 1,
        client_keep_alive: true,
        upgrade: false,
    }
}

fn controls<'a>(
    meter: &'a CountingMeter,
    stop: &'a CancellationToken,
    idle_timeout: Duration,
) -> RelayControls<'a> {
    RelayControls {
        limit: None,
        meter,
        stop,
        idle_timeout: Some(idle_timeout),
    }
}

/// An upstream that accepts the request and never answers: the idle timeout ends the
/// exchange, or the stop token does, with nothing sent to the client (the handler may still
/// answer 504) and neither connection reusable.
async fn silent_upstream_idles_out_or_stops(engine: Engine) {
    for stopped in [false, true] {
        let (_client, proxy_client) = connected_pair().await;
        let (proxy_upstream, _upstream) = connected_pair().await;
        let meter = CountingMeter::default();
        let stop = CancellationToken::new();
        let controls = controls(&meter, &stop, Duration::from_millis(300));
        if stopped {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                stop.cancel();
            });
        }
        let started = Instant::now();
        let mut buf = Vec::new();
        let outcome = exchange::run(
            engine,
            &proxy_client,
            &proxy_upstream,
            &mut buf,
            &plain_get(),
            &controls,
        )
        .await
        .unwrap();
        let took = started.elapsed();
        let expected = if stopped {
            RelayEnd::Stopped
        } else {
            RelayEnd::IdleTimeout
        };
        assert_eq!(outcome.end, expected);
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(outcome.status, None);
        assert!(!outcome.client_keep_alive && !outcome.upstream_reusable);
        assert_eq!((outcome.outbound, outcome.inbound), (27, 0));
    }
}

/// Upstreams that answer garbage or nothing, driven against the exchange directly.
async fn upstream_faults(engine: Engine) {
    for (answer, check) in [
        (
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            (|e: &RelayError| {
                matches!(
                    e,
                    RelayError::BadResponse(ResponseError::AmbiguousFraming(_))
                )
            }) as fn(&RelayError) -> bool,
        ),
        (b"SSH-2.0-OpenSSH_9.2\r\n", |e| {
            matches!(e, RelayError::BadResponse(ResponseError::Malformed(_)))
        }),
        (b"HTTP/1.1 200 OK\r\nContent-Le", |e| {
            matches!(e, RelayError::BadResponse(ResponseError::IncompleteHead))
        }),
        (b"", |e| matches!(e, RelayError::UpstreamClosed)),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", |e| {
            matches!(e, RelayError::BadResponse(ResponseError::UnexpectedSwitch))
        }),
    ] {
        let (mut client, proxy_client) = connected_pair().await;
        let (proxy_upstream, mut upstream) = connected_pair().await;
        let meter = CountingMeter::default();
        let stop = CancellationToken::new();
        let controls = controls(&meter, &stop, Duration::from_secs(10));
        let request = plain_get();
        let origin = async {
            let mut head = [0u8; 27];
            upstream.read_exact(&mut head).await.unwrap();
            upstream.write_all(answer).await.unwrap();
            upstream.shutdown().await.unwrap();
        };
        let mut buf = Vec::new();
        let (result, ()) = tokio::join!(
            exchange::run(
                engine,
                &proxy_client,
                &proxy_upstream,
                &mut buf,
                &request,
                &controls
            ),
            origin,
        );
        let failure = result.expect_err("a faulty upstream");
        assert!(check(&failure.error), "{answer:?}: {:?}", failure.error);
        assert!(!failure.answered);
        drop(proxy_client);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty(), "the client got upstream bytes: {got:?}");
    }
}
