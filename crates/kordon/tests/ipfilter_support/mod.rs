//! What the ipfilter namespace tests share: a server namespace running `kordon serve` and a
//! client namespace joined to it by a veth pair (IPv4 and IPv6), API calls made with curl
//! from inside the server, reachability probes made with curl from the client, and the
//! nftables table as `nft -j` lists it.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kordon_lab::topology::is_root;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

pub const KORDON: &str = env!("CARGO_BIN_EXE_kordon");
pub const PASSWORD: &str = "ipfilter12345";
pub const SERVER_V4: &str = "10.77.0.1";
pub const CLIENT_V4: &str = "10.77.0.2";
pub const SERVER_V6: &str = "fd77::1";
pub const CLIENT_V6: &str = "fd77::2";

/// True as root; otherwise says "skipped" (and fails under `CI=true`).
pub fn root_or_skip() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the ipfilter namespace tests need root in CI"
    );
    eprintln!("skipped: needs root");
    false
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"))
}

fn ip(args: &[&str]) {
    let out = run("ip", args);
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces `<tag>s` (server) and `<tag>c` (client) joined by a veth pair; removed on
/// drop, even when the test fails.
pub struct Pair {
    pub server: String,
    pub client: String,
}

impl Pair {
    /// `tag`: at most 8 characters, unique per test.
    pub fn new(tag: &str) -> Pair {
        let pair = Pair {
            server: format!("{tag}s"),
            client: format!("{tag}c"),
        };
        pair.remove();
        for ns in [&pair.server, &pair.client] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        let (server_end, client_end) = (format!("{tag}a"), format!("{tag}b"));
        ip(&[
            "-n",
            &pair.server,
            "link",
            "add",
            &server_end,
            "type",
            "veth",
            "peer",
            "name",
            &client_end,
            "netns",
            &pair.client,
        ]);
        for (ns, dev, v4, v6) in [
            (&pair.server, &server_end, SERVER_V4, SERVER_V6),
            (&pair.client, &client_end, CLIENT_V4, CLIENT_V6),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev]);
            ip(&[
                "-n",
                ns,
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        pair
    }

    fn remove(&self) {
        for ns in [&self.server, &self.client] {
            let _ = run("ip", &["netns", "del", ns]);
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `kordon serve` in the server namespace, listening on every address; killed on drop.
pub struct Kordon {
    child: Child,
    pub stderr: std::sync::mpsc::Receiver<String>,
}

impl Kordon {
    /// Starts kordon on `data` with the nftables table `table` and extra environment.
    pub fn spawn(ns: &str, data: &Path, table: &str, envs: &[(&str, &str)]) -> Kordon {
        // The extra environment goes through `env`, so that a PATH of the test's own (one
        // without nft) applies to kordon and not to `ip`.
        let assignments: Vec<String> = envs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", ns, "env"])
            .args(&assignments)
            .args([KORDON, "serve"])
            .env("KORDON_DATA_DIR", data)
            .env("KORDON_LISTEN", "[::]:8000")
            .env("KORDON_ADMIN_PASSWORD", PASSWORD)
            .env("KORDON_IPFILTER_TABLE", table)
            .env("KORDON_IPFILTER_TIMEZONE", "UTC")
            .env("KORDON_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("kordon serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                eprintln!("{line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Kordon { child, stderr: rx }
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// SIGTERM, then waits (bounded) for a clean exit. (`ip netns exec` and `env` exec
    /// kordon in place, so the child's pid is kordon's.)
    pub async fn terminate(mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        kill(pid, Signal::SIGTERM).expect("SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "kordon exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "kordon did not stop on SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Kordon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An API call from inside the server namespace (loopback, never filtered by the tests'
/// rules): `(status, JSON reply)`.
pub fn api(
    ns: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("http://127.0.0.1:8000{path}");
    let mut args: Vec<String> = ["netns", "exec", ns, "curl", "-s", "-m", "10", "-X", method]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(token) = token {
        args.extend(["-H".into(), format!("Authorization: Token {token}")]);
    }
    if let Some(body) = body {
        args.extend([
            "-H".into(),
            "Content-Type: application/json".into(),
            "-d".into(),
            body.to_string(),
        ]);
    }
    args.extend(["-w".into(), "\n%{http_code}".into(), url]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run("ip", &args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// Waits for kordon to answer, then returns a farm key of the admin.
pub async fn farm_key(ns: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let login = json!({"username": "admin", "password": PASSWORD});
        let (status, reply) = api(ns, "POST", "/api/auth/login/", None, Some(login));
        if status == 200 {
            return reply["key"].as_str().expect("key").to_string();
        }
        assert!(Instant::now() < deadline, "kordon never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An ipfilter access token of the admin.
pub fn token(ns: &str) -> String {
    let login = json!({"username": "admin", "password": PASSWORD});
    let (status, reply) = api(
        ns,
        "POST",
        "/api/account/credentials/verify",
        None,
        Some(login),
    );
    assert_eq!(status, 200, "{reply}");
    reply["access_token"].as_str().expect("token").to_string()
}

/// An ipfilter call with a fresh token in the body.
pub fn ipfilter(ns: &str, path: &str, mut body: Value) -> (u16, Value) {
    body["access_token"] = json!(token(ns));
    api(ns, "POST", path, None, Some(body))
}

/// Creates a rule; returns its id.
pub fn create(ns: &str, ip: &str, mask: &str, kind: i64, expires_time: &str) -> String {
    let rule = json!({"ip": ip, "mask": mask, "type": kind, "expires_time": expires_time,
                      "description": "test"});
    let (status, reply) = ipfilter(ns, "/api/ip_filter/create", rule);
    assert_eq!(status, 200, "{reply}");
    reply["id"].as_str().expect("id").to_string()
}

pub fn destroy(ns: &str, id: &str) {
    let (status, reply) = ipfilter(ns, "/api/ip_filter/destroy", json!({"id": id}));
    assert_eq!(status, 200, "{reply}");
}

/// What a client sees when it calls the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The TCP handshake completed and HTTP answered with this status.
    Answered(u16),
    /// No answer to the SYN (the kernel dropped it).
    Silent,
    /// Anything else (curl's exit code).
    Other(i32),
}

/// One call from the client namespace to the server's API at `address`.
pub fn reach(pair: &Pair, address: &str) -> Reach {
    let host = if address.contains(':') {
        format!("[{address}]")
    } else {
        address.to_string()
    };
    let out = run(
        "ip",
        &[
            "netns",
            "exec",
            &pair.client,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--connect-timeout",
            "1",
            "-m",
            "3",
            &format!("http://{host}:8000/api/ip_filter/list"),
        ],
    );
    match out.status.code() {
        Some(0) => Reach::Answered(
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(0),
        ),
        Some(28) => Reach::Silent,
        code => Reach::Other(code.unwrap_or(-1)),
    }
}

/// Polls `reach` until it gives `want` (rules apply asynchronously, within milliseconds).
pub async fn expect_reach(pair: &Pair, address: &str, want: Reach, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = reach(pair, address);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {address} gives {got:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The table as `nft -j list table` gives it, or `None` when it does not exist.
pub fn table_json(ns: &str, table: &str) -> Option<Value> {
    let out = run(
        "ip",
        &[
            "netns", "exec", ns, "nft", "-j", "list", "table", "inet", table,
        ],
    );
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).expect("nft JSON"))
}

/// The table reduced to what must survive a restart: each set with its type, flags and
/// elements (address, and expiry rounded to 10 s), and each chain with its rules.
pub fn table_shape(json: &Value) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut shape = serde_json::Map::new();
    for item in json["nftables"].as_array().expect("nftables list") {
        if let Some(set) = item.get("set") {
            let mut elements: Vec<Value> = set["elem"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|e| match e {
                            Value::String(address) => json!([address, null]),
                            other => {
                                let expires = other["elem"]["expires"].as_i64();
                                json!([other["elem"]["val"], expires.map(|s| (now + s) / 10)])
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            elements.sort_by_key(|e| e.to_string());
            shape.insert(
                format!("set {}", set["name"].as_str().unwrap()),
                json!({"type": set["type"], "flags": set["flags"], "elements": elements}),
            );
        }
        if let Some(chain) = item.get("chain") {
            shape.insert(
                format!("chain {}", chain["name"].as_str().unwrap()),
                json!({"hook": chain["hook"], "prio": chain["prio"], "policy": chain["policy"]}),
            );
        }
        if let Some(rule) = item.get("rule") {
            let key = format!("rules {}", rule["chain"].as_str().unwrap());
            let entry = shape.entry(key).or_insert_with(|| json!([]));
            entry.as_array_mut().unwrap().push(rule["expr"].clone());
        }
    }
    Value::Object(shape)
}

/// `expires_time` `seconds` from now, with seconds (UTC).
pub fn in_seconds(seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    kordon_model::ipfilter::time::format(now + seconds, chrono_tz::UTC)
        + &format!(":{:02}", (now + seconds) % 60)
}
