//! Device catalogues over real HTTP: modem models, OS fingerprints, operators, network types,
//! and the machine's free network interfaces.

mod common;

use std::process::Command;

use common::TestServer;
use kordon_store::users::UserFields;
use serde_json::{json, Value};

async fn panel_user(server: &TestServer, username: &str) -> String {
    server
        .store
        .create_user(&UserFields {
            username: username.into(),
            password: Some("secret123".into()),
            email: format!("{username}@example.com"),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_superuser: false,
            phone: None,
            timezone: "Europe/Moscow".into(),
        })
        .await
        .expect("user created");
    server.login(username, "secret123").await
}

fn port(name: &str, ifname: &str) -> Value {
    json!({
        "name": name, "ifname": ifname, "type": 1, "active": true, "is_osfp": false,
        "monitoring_interval": 3, "mtu": 0, "net_mode": "lte",
        "reconnect_type": "link", "reconnect_min": 0
    })
}

#[tokio::test]
async fn modem_types_are_the_five_documented_models() {
    let server = TestServer::start().await;
    let user = panel_user(&server, "viewer1").await;
    let expected = json!([
        {"id": 1, "code": "Huawei_h_150", "name": "Huawei E3372h-153"},
        {"id": 2, "code": "Zte_mf_833_r", "name": "ZTE MF833R"},
        {"id": 3, "code": "Zte_mf_920_ru", "name": "ZTE MF920RU"},
        {"id": 4, "code": "Huawei_h_320", "name": "Huawei E3372h-320"},
        {"id": 5, "code": "Zte_mf_823_d", "name": "ZTE MF823D"}
    ]);
    for key in [&server.admin, &user] {
        let (status, reply) = server.get(key, "/api/devices/modem/type").await;
        assert_eq!((status, &reply), (200, &expected));
    }
    let (status, reply) = server
        .post(&server.admin, "/api/devices/modem/type/", json!({}))
        .await;
    assert_eq!((status, reply), (200, expected));
}

#[tokio::test]
async fn fingerprints_list_os_as_modem_with_syn_parameters() {
    let server = TestServer::start().await;
    let (status, reply) = server.get(&server.admin, "/api/devices/osfp/list").await;
    assert_eq!(status, 200);
    let items = reply.as_array().expect("bare array");
    assert_eq!(items.len(), 8);
    let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<_>>());
    assert_eq!(
        items[2],
        json!({
            "id": 3,
            "name": "10",
            "modem": "Windows",
            "ttl": 128,
            "window_size": 64240,
            "window_scale": 8,
            "mss": 1460,
            "options": "mss,nop,ws,nop,nop,sok",
            "df": true,
            "p0f_signature": "*:128:0:*:64240,8:mss,nop,ws,nop,nop,sok:df,id+:0"
        })
    );
    assert_eq!(
        items[0]["window_scale"],
        Value::Null,
        "XP sends no window scale"
    );
    assert_eq!(items[6]["modem"], "Android");
    let user = panel_user(&server, "viewer1").await;
    let (status, mine) = server.get(&user, "/api/devices/osfp/list/").await;
    assert_eq!((status, mine), (200, reply));
}

#[tokio::test]
async fn operators_and_network_types_grow_as_monitoring_meets_them() {
    let server = TestServer::start().await;
    for path in ["/api/devices/operators/list", "/api/devices/network/list"] {
        let (status, reply) = server.get(&server.admin, path).await;
        assert_eq!((status, reply), (200, json!([])), "{path}");
    }
    let megafon = server.store.operator_id("MeGafon RUS").await.unwrap();
    let mts = server.store.operator_id("MTS RUS").await.unwrap();
    assert_eq!(
        server.store.operator_id("MTS RUS").await.unwrap(),
        mts,
        "seen twice, kept once"
    );
    let lte = server.store.network_type_id("LTE 4G").await.unwrap();
    let user = panel_user(&server, "viewer1").await;
    let (status, reply) = server.get(&user, "/api/devices/operators/list").await;
    assert_eq!(
        (status, reply),
        (
            200,
            json!([{"id": megafon, "name": "MeGafon RUS"}, {"id": mts, "name": "MTS RUS"}])
        )
    );
    let (status, reply) = server
        .post(&server.admin, "/api/devices/network/list/", json!({}))
        .await;
    assert_eq!(
        (status, reply),
        (200, json!([{"id": lte, "name": "LTE 4G"}]))
    );
}

#[tokio::test]
async fn catalogues_need_a_key_and_interfaces_a_superuser() {
    let server = TestServer::start().await;
    for path in [
        "/api/devices/modem/type",
        "/api/devices/osfp/list",
        "/api/devices/operators/list",
        "/api/devices/network/list",
        "/api/devices/interface/list",
    ] {
        let (status, reply) = server.call("GET", path, None, None).await;
        assert_eq!(status, 401, "{path}: {reply}");
        assert!(reply["detail"].is_string());
    }
    let user = panel_user(&server, "viewer1").await;
    let (status, reply) = server.get(&user, "/api/devices/interface/list").await;
    assert_eq!(status, 403, "{reply}");
    assert_eq!(
        reply["detail"],
        "You do not have permission to perform this action."
    );
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// A throwaway interface with an IPv4 address, deleted when dropped.
struct TestLink {
    name: String,
}

impl TestLink {
    /// A `dummy` link, or a `bridge` where the dummy module is missing (containers).
    fn create(name: &str, cidr: &str) -> Result<Self, String> {
        if ip(&["link", "add", name, "type", "dummy"]).is_err() {
            ip(&["link", "add", name, "type", "bridge"])?;
        }
        let link = TestLink {
            name: name.to_string(),
        };
        ip(&["addr", "add", cidr, "dev", name])?;
        ip(&["link", "set", name, "up"])?;
        Ok(link)
    }
}

impl Drop for TestLink {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.name]);
    }
}

fn skip_or_fail(reason: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "CI=true but the interface test cannot run: {reason}");
    println!("skipped: {reason}");
}

#[tokio::test]
async fn interface_list_shows_the_machines_free_interfaces() {
    let server = TestServer::start().await;
    let (status, reply) = server
        .get(&server.admin, "/api/devices/interface/list")
        .await;
    assert_eq!(status, 200, "{reply}");
    let items = reply.as_array().expect("bare array").clone();
    let names: Vec<&str> = items.iter().filter_map(|i| i["ifname"].as_str()).collect();
    assert!(!names.contains(&"lo"), "loopback is never a modem: {reply}");
    for item in &items {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["gateway", "ifname", "ip"], "{item}");
    }
    // Whatever the machine has, a port on it takes it off the list.
    if let Some(first) = names.first() {
        let first = first.to_string();
        let (status, reply) = server
            .post(
                &server.admin,
                "/api/devices/modem/add",
                port("taken", &first),
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        let (_, after) = server
            .get(&server.admin, "/api/devices/interface/list")
            .await;
        assert!(
            !after
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["ifname"] == first),
            "{first} is a port now: {after}"
        );
    }

    if !is_root() {
        skip_or_fail("needs root");
        return;
    }
    let suffix = std::process::id() % 250;
    let name = format!("kdtest{}", std::process::id() % 100_000);
    let link = match TestLink::create(&name, &format!("10.213.{suffix}.2/24")) {
        Ok(link) => link,
        Err(e) => {
            skip_or_fail(&format!("cannot create a test interface: {e}"));
            return;
        }
    };
    let (_, reply) = server
        .get(&server.admin, "/api/devices/interface/list/")
        .await;
    let found = reply
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["ifname"] == name.as_str())
        .cloned();
    assert_eq!(
        found,
        Some(json!({
            "ifname": name,
            "ip": format!("10.213.{suffix}.2"),
            "gateway": format!("10.213.{suffix}.1"),
        })),
        "{reply}"
    );
    let (status, reply) = server
        .post(&server.admin, "/api/devices/modem/add", port("test", &name))
        .await;
    assert_eq!(status, 200, "{reply}");
    let (_, reply) = server
        .get(&server.admin, "/api/devices/interface/list")
        .await;
    assert!(
        !reply
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["ifname"] == name.as_str()),
        "{reply}"
    );
    drop(link);
}
