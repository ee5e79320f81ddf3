//! What the proxy plane's lab tests share: proxy logins and profiles made through the farm
//! API, and real clients (curl, PySocks) run inside the farm's namespace.

#![allow(dead_code)]

use std::process::Command;

use serde_json::{json, Value};

use crate::lab_support::call;

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
    let (status, reply) = call(ns, "POST", "/api/proxy/auth/add", Some(key), Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    reply["id"].as_i64().expect("login id")
}

/// A `strong` profile; `extra` replaces fields of the default body.
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
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, reply) = call(ns, "POST", "/api/proxy/add", Some(key), Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    reply["id"].as_i64().expect("profile id")
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

pub async fn python(ns: &str, script: &str, args: &[String]) -> (i32, String) {
    let mut all = vec!["-c".to_string(), script.to_string()];
    all.extend(args.iter().cloned());
    run_in(ns, "python3", all).await
}
