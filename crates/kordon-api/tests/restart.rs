//! Everything written through the API survives a stop and a start on the same data directory.

mod common;

use common::{TestServer, ADMIN, ADMIN_PASSWORD};
use serde_json::{json, Value};

/// Every list and object the API can show, as one value to compare before and after.
async fn snapshot(server: &TestServer, key: &str, port_id: i64, proxy_id: i64) -> Value {
    let mut all = serde_json::Map::new();
    for (name, method, path, body) in [
        (
            "ports",
            "POST",
            "/api/devices/modem/list".to_string(),
            json!({}),
        ),
        (
            "port",
            "GET",
            format!("/api/devices/modem/edit/{port_id}"),
            json!(null),
        ),
        (
            "proxies",
            "POST",
            "/api/proxy/list".to_string(),
            json!({"pagination": {"perpage": 100}}),
        ),
        (
            "proxy",
            "GET",
            format!("/api/proxy/edit/{proxy_id}"),
            json!(null),
        ),
        (
            "logins",
            "GET",
            "/api/proxy/auth/list".to_string(),
            json!(null),
        ),
        ("ips", "GET", "/api/proxy/ip/list".to_string(), json!(null)),
        (
            "sites",
            "GET",
            "/api/proxy/site/list".to_string(),
            json!(null),
        ),
        (
            "users",
            "POST",
            "/api/users/list".to_string(),
            json!({"pagination": {"perpage": 100}}),
        ),
        (
            "operators",
            "GET",
            "/api/devices/operators/list".to_string(),
            json!(null),
        ),
        (
            "networks",
            "GET",
            "/api/devices/network/list".to_string(),
            json!(null),
        ),
        (
            "statistic",
            "GET",
            "/api/devices/statistic/ip".to_string(),
            json!(null),
        ),
        (
            "ip_operator",
            "POST",
            "/api/devices/ip/operator".to_string(),
            json!({}),
        ),
        (
            "ip_modem",
            "POST",
            "/api/devices/ip/modem".to_string(),
            json!({}),
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (status, value) = server.call(method, &path, Some(key), body).await;
        assert_eq!(status, 200, "{path}: {value}");
        all.insert(name.to_string(), value);
    }
    Value::Object(all)
}

#[tokio::test]
async fn data_survives_a_restart() {
    let server = TestServer::start().await;
    let key = server.admin.clone();
    let (user_id, _) = server.user("alice1").await;
    let (_, port) = server
        .post(
            &key,
            "/api/devices/modem/add",
            json!({"name": "Порт-1", "ifname": "usb-restart", "type": 2, "active": true,
                   "is_osfp": true, "osfp": 3, "monitoring_interval": 5, "mtu": 1400,
                   "net_mode": "umts", "reconnect_interval": 300, "reconnect_type": "time",
                   "reconnect_min": 30, "users": [user_id]}),
        )
        .await;
    let port_id = port["id"].as_i64().unwrap_or_else(|| panic!("{port}"));
    let (_, login) = server
        .post(
            &key,
            "/api/proxy/auth/add",
            json!({"login": "buyer_1", "password": "pw1", "bitrate_in": 1000000, "bitrate_out": 500000}),
        )
        .await;
    let (_, ip) = server
        .post(&key, "/api/proxy/ip/add", json!({"ip": "203.0.113.7"}))
        .await;
    let (_, site) = server
        .post(
            &key,
            "/api/proxy/site/add",
            json!({"name": "shops", "domains": ["example.com", "shop.example.org"]}),
        )
        .await;
    let (_, proxy) = server
        .post(
            &key,
            "/api/proxy/add",
            json!({"modem": port_id, "type": "http", "auth": "strong", "port": 3128,
                   "maxconn": 10, "is_allow": true, "is_ports": true,
                   "auth_params": [login["id"]], "allow": [site["id"]], "targetport": [80, 443]}),
        )
        .await;
    let proxy_id = proxy["id"].as_i64().unwrap_or_else(|| panic!("{proxy}"));
    let (_, iponly) = server
        .post(
            &key,
            "/api/proxy/add",
            json!({"modem": port_id, "type": "socks", "auth": "iponly", "port": 1080,
                   "maxconn": 0, "is_allow": false, "is_ports": false, "auth_params": [ip["id"]]}),
        )
        .await;
    assert!(iponly["id"].is_i64(), "{iponly}");
    let operator = server.store.operator_id("MTS RUS").await.unwrap();
    let network = server.store.network_type_id("LTE (4G)").await.unwrap();
    server
        .store
        .record_port_ip(
            port_id,
            "188.170.1.2",
            Some(operator),
            Some(network),
            Some(3),
            1_700_000_000,
        )
        .await
        .unwrap();

    let before = snapshot(&server, &key, port_id, proxy_id).await;
    assert_eq!(before["proxies"]["meta"]["total"], 2, "{before}");
    let dir = server.stop().await;

    let server = TestServer::start_in(dir).await;
    // The key issued before the restart still works: keys are stored, not held in memory.
    let after = snapshot(&server, &key, port_id, proxy_id).await;
    assert_eq!(after, before);
    assert!(!server.login(ADMIN, ADMIN_PASSWORD).await.is_empty());
    let alice = server.login("alice1", "secret123").await;
    let (status, ports) = server
        .post(&alice, "/api/devices/modem/list", json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        ports.as_array().map(Vec::len),
        Some(1),
        "delegation kept: {ports}"
    );
}
