//! The proxy plane's counters over HTTP: `GET /api/proxy/stats` (values flushed through the
//! store, zeros for profiles never flushed, scope, the `id` filter, authentication) and the
//! proxy families of `/metrics`, parsed back here and by Python's OpenMetrics parser.

mod common;
mod proxy_support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use common::{assert_field_error, TestServer};
use kordon_store::proxy_counters::{LoginCounters, ProxyCounters, REFUSAL_REASONS};
use proxy_support::*;
use serde_json::{json, Value};

fn profile_totals(proxy_id: i64, base: i64, refusals: &[(&str, i64)]) -> ProxyCounters {
    ProxyCounters {
        proxy_id,
        bytes_in: base * 1000,
        bytes_out: base * 10,
        connections: base,
        open: base % 5,
        refusals: refusals
            .iter()
            .map(|(reason, n)| (reason.to_string(), *n))
            .collect(),
        updated_at: 0,
    }
}

fn login_totals(login_id: i64, base: i64) -> LoginCounters {
    LoginCounters {
        login_id,
        bytes_in: base * 1000,
        bytes_out: base * 10,
        connections: base,
        updated_at: 0,
    }
}

/// The item with `id` in `reply[list]`.
fn item<'a>(reply: &'a Value, list: &str, id: i64) -> &'a Value {
    reply[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {reply}"))
        .iter()
        .find(|item| item["id"] == id)
        .unwrap_or_else(|| panic!("no {list} item {id}: {reply}"))
}

fn item_ids(reply: &Value, list: &str) -> Vec<i64> {
    reply[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {reply}"))
        .iter()
        .filter_map(|item| item["id"].as_i64())
        .collect()
}

#[tokio::test]
async fn flushed_totals_appear_and_new_profiles_show_zeros() {
    let server = TestServer::start().await;
    let modem = port(&server, "p1").await;
    let login = proxy_login(&server, &server.admin, "kraken").await;
    let flushed = proxy(&server, &server.admin, strong_body(modem, 31001, login)).await;
    let fresh = proxy(&server, &server.admin, strong_body(modem, 31002, login)).await;
    server
        .store
        .save_proxy_counters(
            &[profile_totals(
                flushed,
                7,
                &[("auth", 3), ("target_port", 2)],
            )],
            &[login_totals(login, 7)],
        )
        .await
        .unwrap();

    for path in ["/api/proxy/stats", "/api/proxy/stats/"] {
        let (status, reply) = server.get(&server.admin, path).await;
        assert_eq!(status, 200, "{path}: {reply}");
        assert_eq!(item_ids(&reply, "proxies"), [flushed, fresh]);
        let one = item(&reply, "proxies", flushed);
        assert_eq!(one["port"], 31001);
        assert_eq!(one["bytes_in"], 7000);
        assert_eq!(one["bytes_out"], 70);
        assert_eq!(one["connections"], 7);
        assert_eq!(one["open"], 2);
        assert!(is_farm_date(&one["updated_at"]), "{one}");
        let refusals = one["refusals"].as_object().unwrap();
        let reasons: BTreeSet<&str> = refusals.keys().map(String::as_str).collect();
        assert_eq!(reasons, REFUSAL_REASONS.into_iter().collect());
        assert_eq!(refusals["auth"], 3);
        assert_eq!(refusals["target_port"], 2);
        assert_eq!(refusals["maxconn"], 0);

        let zero = item(&reply, "proxies", fresh);
        assert_eq!(zero["port"], 31002);
        for field in ["bytes_in", "bytes_out", "connections", "open"] {
            assert_eq!(zero[field], 0, "{field}: {zero}");
        }
        assert!(zero["refusals"]
            .as_object()
            .unwrap()
            .values()
            .all(|n| n == 0));
        assert_eq!(zero["updated_at"], Value::Null);

        let kraken = item(&reply, "logins", login);
        assert_eq!(kraken["login"], "kraken");
        assert_eq!(kraken["bytes_in"], 7000);
        assert_eq!(kraken["connections"], 7);
        assert!(is_farm_date(&kraken["updated_at"]), "{kraken}");
    }

    let (status, reply) = server
        .get(&server.admin, &format!("/api/proxy/stats?id={fresh}"))
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(item_ids(&reply, "proxies"), [fresh]);
    assert_eq!(item_ids(&reply, "logins"), [login], "the profile's login");

    let (status, reply) = server.get(&server.admin, "/api/proxy/stats?id=x1").await;
    assert_field_error(status, &reply, "id");

    let (status, reply) = server.get(&server.admin, "/api/proxy/stats?id=99999").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply, json!({"proxies": [], "logins": []}));
}

#[tokio::test]
async fn a_panel_user_sees_delegated_profiles_and_own_logins() {
    let server = TestServer::start().await;
    let (alice, alice_key) = panel_user(&server, "alice").await;
    let hers = port(&server, "p1").await;
    let other = port(&server, "p2").await;
    delegate(&server, hers, alice).await;
    let admin_login = proxy_login(&server, &server.admin, "boss_login").await;
    let alice_login = proxy_login(&server, &alice_key, "alice_login").await;
    let on_hers = proxy(&server, &alice_key, strong_body(hers, 31001, alice_login)).await;
    let admin_on_hers = proxy(
        &server,
        &server.admin,
        strong_body(hers, 31002, admin_login),
    )
    .await;
    let on_other = proxy(
        &server,
        &server.admin,
        strong_body(other, 31003, admin_login),
    )
    .await;
    server
        .store
        .save_proxy_counters(
            &[
                profile_totals(on_hers, 1, &[]),
                profile_totals(admin_on_hers, 2, &[]),
                profile_totals(on_other, 3, &[("site", 1)]),
            ],
            &[login_totals(alice_login, 1), login_totals(admin_login, 5)],
        )
        .await
        .unwrap();

    let (status, reply) = server.get(&alice_key, "/api/proxy/stats").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(item_ids(&reply, "proxies"), [on_hers, admin_on_hers]);
    assert_eq!(item_ids(&reply, "logins"), [alice_login]);
    assert_eq!(item(&reply, "proxies", admin_on_hers)["connections"], 2);

    // Filtering by a profile she cannot see looks like filtering by a missing one.
    let (status, reply) = server
        .get(&alice_key, &format!("/api/proxy/stats?id={on_other}"))
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply, json!({"proxies": [], "logins": []}));
    // Her port's profile using the administrator's login: the profile, not the login.
    let (_, reply) = server
        .get(&alice_key, &format!("/api/proxy/stats?id={admin_on_hers}"))
        .await;
    assert_eq!(item_ids(&reply, "proxies"), [admin_on_hers]);
    assert!(item_ids(&reply, "logins").is_empty(), "{reply}");

    let (_, reply) = server.get(&server.admin, "/api/proxy/stats").await;
    assert_eq!(
        item_ids(&reply, "proxies"),
        [on_hers, admin_on_hers, on_other]
    );
    assert_eq!(item_ids(&reply, "logins"), [admin_login, alice_login]);
}

#[tokio::test]
async fn stats_need_a_valid_key() {
    let server = TestServer::start().await;
    let (status, reply) = server.call("GET", "/api/proxy/stats", None, None).await;
    assert_eq!(status, 401, "{reply}");
    assert!(reply["detail"].is_string(), "{reply}");
    let (status, reply) = server.get(&"0".repeat(40), "/api/proxy/stats").await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["detail"], "Invalid token.");
}

/// One sample line of the text format.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Reads `k="v",…}` (after the `{`), unescaping values; returns the labels and the rest.
fn parse_labels(inner: &str) -> (BTreeMap<String, String>, &str) {
    let mut labels = BTreeMap::new();
    let mut chars = inner.char_indices();
    let mut next = |what: &str| chars.next().unwrap_or_else(|| panic!("{what}: {inner}"));
    loop {
        let mut key = String::new();
        loop {
            match next("label name").1 {
                '=' => break,
                c => key.push(c),
            }
        }
        assert_eq!(next("opening quote").1, '"', "{inner}");
        let mut value = String::new();
        loop {
            match next("closing quote").1 {
                '\\' => match next("escape").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        match next("after a label") {
            (_, ',') => continue,
            (i, '}') => return (labels, &inner[i + 1..]),
            (_, c) => panic!("unexpected {c:?}: {inner}"),
        }
    }
}

/// Reads `name{k="v",…} value`; panics on anything else.
fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name: {line}"
    );
    let (labels, rest) = match line[name_end..].strip_prefix('{') {
        Some(inner) => parse_labels(inner),
        None => (BTreeMap::new(), &line[name_end..]),
    };
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no value: {line}"))
        .parse()
        .unwrap_or_else(|e| panic!("bad value ({e}): {line}"));
    Sample {
        name: name.to_string(),
        labels,
        value,
    }
}

/// Checks the exposition's structure (one HELP and TYPE per family, before its samples, one
/// `# EOF` at the end) and returns the samples.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "ends with # EOF");
    let mut described: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut samples = Vec::new();
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, family) = (parts.next().unwrap(), parts.next().unwrap().to_string());
            let entry = described.entry(family.clone()).or_default();
            match kind {
                "HELP" => {
                    assert!(!entry.0, "HELP twice for {family}");
                    entry.0 = true;
                }
                "TYPE" => {
                    assert!(!entry.1, "TYPE twice for {family}");
                    entry.1 = true;
                }
                "UNIT" => {}
                other => panic!("unknown comment {other}: {line}"),
            }
            current = Some(family);
        } else {
            let sample = parse_sample(line);
            let family = current.as_deref().expect("sample before any TYPE");
            assert!(
                sample.name.starts_with(family),
                "{} outside its family {family}",
                sample.name
            );
            samples.push(sample);
        }
    }
    samples
}

fn value_of(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name && s.labels == wanted)
        .collect();
    assert_eq!(found.len(), 1, "{name} {wanted:?}: {found:?}");
    found[0].value
}

/// A Python with the reference `prometheus_client` (Debian: python3-prometheus-client).
fn python_with_prometheus_client() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import prometheus_client.openmetrics.parser"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Parses the exposition with the reference OpenMetrics parser; returns its samples.
fn python_parse(python: &str, text: &str) -> Vec<Sample> {
    const SCRIPT: &str = "import sys, json\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
        out = []\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in family.samples:\n\
        \x20       out.append([s.name, s.labels, s.value])\n\
        print(json.dumps(out))\n";
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the OpenMetrics parser refused the exposition: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Vec<(String, BTreeMap<String, String>, f64)> =
        serde_json::from_slice(&output.stdout).unwrap();
    parsed
        .into_iter()
        .map(|(name, labels, value)| Sample {
            name,
            labels,
            value,
        })
        .collect()
}

#[tokio::test]
async fn metrics_show_the_stored_counters() {
    let server = TestServer::start().await;
    let modem = port(&server, "p1").await;
    let login = proxy_login(&server, &server.admin, "kraken").await;
    let idle_login = proxy_login(&server, &server.admin, "idle").await;
    let flushed = proxy(&server, &server.admin, strong_body(modem, 31001, login)).await;
    let fresh = proxy(&server, &server.admin, strong_body(modem, 31002, login)).await;
    server
        .store
        .save_proxy_counters(
            &[profile_totals(
                flushed,
                9,
                &[("maxconn", 4), ("resolve", 1)],
            )],
            &[login_totals(login, 9)],
        )
        .await
        .unwrap();

    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let samples = parse_exposition(&text);

    let (id, fresh_id) = (flushed.to_string(), fresh.to_string());
    let profile = [("proxy", id.as_str()), ("port", "31001")];
    let with = |extra: (&'static str, &'static str)| {
        let mut labels = profile.to_vec();
        labels.push(extra);
        labels
    };
    let bytes = "kordon_proxy_bytes_total";
    assert_eq!(
        value_of(&samples, bytes, &with(("direction", "in"))),
        9000.0
    );
    assert_eq!(value_of(&samples, bytes, &with(("direction", "out"))), 90.0);
    assert_eq!(
        value_of(&samples, "kordon_proxy_connections_total", &profile),
        9.0
    );
    assert_eq!(
        value_of(&samples, "kordon_proxy_open_connections", &profile),
        4.0
    );
    let refusals = "kordon_proxy_refusals_total";
    assert_eq!(
        value_of(&samples, refusals, &with(("reason", "maxconn"))),
        4.0
    );
    assert_eq!(
        value_of(&samples, refusals, &with(("reason", "resolve"))),
        1.0
    );
    for reason in REFUSAL_REASONS {
        let labels = [
            ("proxy", fresh_id.as_str()),
            ("port", "31002"),
            ("reason", reason),
        ];
        assert_eq!(value_of(&samples, refusals, &labels), 0.0, "{reason}");
    }
    let login_bytes = "kordon_proxy_login_bytes_total";
    let kraken_in = [("login", "kraken"), ("direction", "in")];
    assert_eq!(value_of(&samples, login_bytes, &kraken_in), 9000.0);
    assert_eq!(
        value_of(
            &samples,
            login_bytes,
            &[("login", "kraken"), ("direction", "out")]
        ),
        90.0
    );
    assert_eq!(
        value_of(
            &samples,
            "kordon_proxy_login_connections_total",
            &[("login", "kraken")]
        ),
        9.0
    );
    assert_eq!(
        value_of(
            &samples,
            "kordon_proxy_login_connections_total",
            &[("login", "idle")]
        ),
        0.0,
        "login {idle_login} never flushed"
    );
    for family in [
        "# TYPE kordon_proxy_bytes counter",
        "# TYPE kordon_proxy_connections counter",
        "# TYPE kordon_proxy_open_connections gauge",
        "# TYPE kordon_proxy_refusals counter",
        "# TYPE kordon_proxy_login_bytes counter",
        "# TYPE kordon_proxy_login_connections counter",
    ] {
        assert_eq!(text.matches(family).count(), 1, "{family}\n{text}");
    }

    match python_with_prometheus_client() {
        Some(python) => {
            let reference = python_parse(python, &text);
            for sample in samples
                .iter()
                .filter(|s| s.name.starts_with("kordon_proxy_"))
            {
                assert!(reference.contains(sample), "{sample:?} read differently");
            }
        }
        None => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "python3 with prometheus_client is required in CI \
                 (apt-get install python3-prometheus-client)"
            );
            eprintln!("skipped: the reference OpenMetrics parser is not installed");
        }
    }
}
