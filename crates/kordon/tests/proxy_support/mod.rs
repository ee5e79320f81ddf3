//! What the proxy plane's lab tests share: proxy logins, profiles, site lists and client IPs
//! made through the farm API, the plane's counters as the API and `/metrics` show them, and
//! real clients (curl, PySocks, hand-made SOCKS5) run inside the farm's namespace.

#![allow(dead_code)]

mod clients;
mod counters;

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::lab_support::call;

// Each test file uses part of these.
#[allow(unused_imports)]
pub use clients::*;
#[allow(unused_imports)]
pub use counters::*;

/// The lab's HTTP echo (answers the caller's address).
pub const ECHO: &str = "http://203.0.113.10/";

/// A lab name unique to this run: `prefix` (at most 3 letters, one per test) and the
/// process id, so the tests of every file run in parallel.
pub fn name(prefix: &str) -> String {
    format!("{prefix}{}", std::process::id() % 100_000)
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// A proxy login through the API; its password is `<login>-pw`.
pub async fn proxy_login(
    ns: &str,
    key: &str,
    login: &str,
    bitrate_in: i64,
    bitrate_out: i64,
) -> i64 {
    let body = json!({
        "login": login,
        "password": format!("{login}-pw"),
        "bitrate_in": bitrate_in,
        "bitrate_out": bitrate_out
    });
    created(ns, key, "/api/proxy/auth/add", body).await
}

/// A `strong` profile; `extra` replaces fields of the default body (`"auth": "iponly"` with
/// client IP ids in `auth_params` makes an `iponly` one).
pub async fn profile(
    ns: &str,
    key: &str,
    port: i64,
    listen: u16,
    kind: &str,
    login: i64,
    extra: Value,
) -> i64 {
    let mut body = json!({
        "modem": port,
        "active": true,
        "type": kind,
        "auth": "strong",
        "port": listen,
        "is_local": false,
        "maxconn": 0,
        "is_allow": true,
        "is_ports": true,
        "auth_params": [login],
        "allow": [],
        "targetport": []
    });
    merge(&mut body, &extra);
    created(ns, key, "/api/proxy/add", body).await
}

/// Edits profile `id` through `proxy/edit/{id}`: its current fields with `changes` applied.
pub async fn edit_profile(ns: &str, key: &str, id: i64, changes: Value) -> Value {
    let path = format!("/api/proxy/edit/{id}");
    let (status, mut body) = call(ns, "GET", &path, Some(key), None).await;
    assert_eq!(status, 200, "{body}");
    merge(&mut body, &changes);
    let (status, reply) = call(ns, "POST", &path, Some(key), Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

/// A site list (`allow` of a profile) through the API.
pub async fn site_list(ns: &str, key: &str, name: &str, domains: &[&str]) -> i64 {
    let body = json!({"name": name, "domains": domains});
    created(ns, key, "/api/proxy/site/add", body).await
}

/// A client IP (`auth_params` of an `iponly` profile) through the API.
pub async fn client_ip(ns: &str, key: &str, ip: &str) -> i64 {
    created(ns, key, "/api/proxy/ip/add", json!({"ip": ip})).await
}

/// A POST answered `{"result": "ok"}` (batch actions, services).
pub async fn post_ok(ns: &str, key: &str, path: &str, body: Value) {
    let (status, reply) = call(ns, "POST", path, Some(key), Some(body)).await;
    assert_eq!((status, &reply), (200, &json!({"result": "ok"})), "{path}");
}

async fn created(ns: &str, key: &str, path: &str, body: Value) -> i64 {
    let (status, reply) = call(ns, "POST", path, Some(key), Some(body)).await;
    assert_eq!(status, 200, "{path}: {reply}");
    reply["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{path}: no id in {reply}"))
}

fn merge(body: &mut Value, changes: &Value) {
    if let (Some(body), Some(changes)) = (body.as_object_mut(), changes.as_object()) {
        body.extend(changes.clone());
    }
}

/// Runs `program args` inside namespace `ns`; returns (exit code, stdout).
pub async fn run_in(ns: &str, program: &str, args: Vec<String>) -> (i32, String) {
    let (ns, program) = (ns.to_owned(), program.to_owned());
    tokio::task::spawn_blocking(move || {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns, &program])
            .args(&args)
            .output()
            .expect("ip netns exec");
        if !out.status.success() && !out.stderr.is_empty() {
            // Shown with the test's output when it fails (a client's traceback, say).
            eprintln!("{program}: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    })
    .await
    .expect("client thread")
}

/// curl in the farm namespace, bounded in time.
pub async fn curl(ns: &str, args: &[&str]) -> (i32, String) {
    let mut all = vec!["-s".to_string(), "--max-time".into(), "8".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    run_in(ns, "curl", all).await
}

/// Polls `curl args` until it prints `expected` (the plane opens listeners within a second of
/// an API change), for up to 10 s.
pub async fn curl_until(ns: &str, args: &[&str], expected: &str) {
    curl_until_within(ns, args, expected, Duration::from_secs(10)).await;
}

/// Polls `curl args` until it prints `expected`; returns how long that took.
pub async fn curl_until_within(
    ns: &str,
    args: &[&str],
    expected: &str,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let (code, out) = curl(ns, args).await;
        if code == 0 && out == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "curl {args:?} never printed {expected:?} (last: {code} {out:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls `probe` every 50 ms until it holds; returns how long that took. Fails the test
/// after `within`.
pub async fn until<F, Fut>(what: &str, within: Duration, mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !probe().await {
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// curl through a proxy: `Some(body)` when the request went through, `None` when refused.
pub async fn fetch(ns: &str, proxy_args: &[&str], url: &str) -> Option<String> {
    let mut args = proxy_args.to_vec();
    args.push(url);
    match curl(ns, &args).await {
        (0, body) => Some(body),
        _ => None,
    }
}

/// The status line's code of an HTTP CONNECT through `proxy` (an `http://` proxy URL) to
/// `target`, as curl reports it (`000` when no answer came).
pub async fn connect_status(ns: &str, proxy: &str, target: &str) -> String {
    let args = [
        "-p",
        "-o",
        "/dev/null",
        "-w",
        "%{http_connect}",
        "-x",
        proxy,
        target,
    ];
    curl(ns, &args).await.1
}

pub async fn python(ns: &str, script: &str, args: &[String]) -> (i32, String) {
    let mut all = vec!["-c".to_string(), script.to_string()];
    all.extend(args.iter().cloned());
    run_in(ns, "python3", all).await
}

/// Reads from `target` through a SOCKS5 proxy with PySocks (an independent client) for
/// `seconds` after a `warmup`, and prints the bytes read in the measured part.
pub const PYSOCKS_READ: &str = r#"
import socks, sys, time
proxy, port, user, password, host, target_port, warmup, seconds = sys.argv[1:9]
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, proxy, int(port), rdns=True, username=user, password=password)
s.settimeout(10)
s.connect((host, int(target_port)))
def read_for(duration):
    total, end = 0, time.monotonic() + duration
    while time.monotonic() < end:
        data = s.recv(65536)
        if not data:
            break
        total += len(data)
    return total
read_for(float(warmup))
print(read_for(float(seconds)))
"#;

/// HTTP GET through a SOCKS5 proxy with PySocks; prints the body.
pub const PYSOCKS_GET: &str = r#"
import socks, sys
proxy, port, user, password, host, path = sys.argv[1:7]
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, proxy, int(port), rdns=True, username=user, password=password)
s.settimeout(10)
s.connect((host, 80))
s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
"#;

/// Through a SOCKS5 proxy with PySocks: sends exactly `send` bytes to `target`, then either
/// half-closes and waits for the server to close (`receive` 0: every byte went through) or
/// reads exactly `receive` bytes and closes. Prints `sent <n> received <m>`.
pub const PYSOCKS_EXCHANGE: &str = r#"
import socket, socks, sys
proxy, port, user, password, host, target_port, send, receive = sys.argv[1:9]
send, receive = int(send), int(receive)
s = socks.socksocket()
s.set_proxy(socks.SOCKS5, proxy, int(port), rdns=True, username=user, password=password)
s.settimeout(10)
s.connect((host, int(target_port)))
s.sendall(b"k" * send)
received = 0
if receive == 0:
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
else:
    while received < receive:
        chunk = s.recv(min(65536, receive - received))
        if not chunk:
            break
        received += len(chunk)
s.close()
print("sent %d received %d" % (send, received))
"#;

/// SOCKS5 UDP ASSOCIATE with PySocks: one association, one datagram to each `host:port`
/// target in turn; prints per target `<target> answer <ip> <port> <data, newlines as |>` or
/// `<target> silent` when nothing came back within two seconds. Datagram targets given by
/// name are resolved by the proxy. PySocks's ASSOCIATE request carries the hint `("0",
/// <local port>)`, which it sends as the domain name "0" when names are resolved remotely
/// (`hint` `name`, its default) and as `0.0.0.0` otherwise (`hint` `ip`: the association
/// is made with remote names off, then they are switched on for the datagrams).
pub const PYSOCKS_UDP: &str = r#"
import socket, socks, sys
proxy, port, user, password, hint = sys.argv[1:6]
s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
s.set_proxy(socks.SOCKS5, proxy, int(port), rdns=(hint == "name"), username=user, password=password)
s.settimeout(5)
s.bind(("", 0))
s.set_proxy(socks.SOCKS5, proxy, int(port), rdns=True, username=user, password=password)
s.settimeout(2)
for target in sys.argv[6:]:
    host, target_port = target.rsplit(":", 1)
    s.sendto(b"kordon-udp", (host, int(target_port)))
    try:
        data, (source, source_port) = s.recvfrom(65535)
        text = data.decode(errors="replace").replace("\n", "|")
        print("%s answer %s %d %s" % (target, source, source_port, text))
    except socket.timeout:
        print("%s silent" % target)
    sys.stdout.flush()
"#;
