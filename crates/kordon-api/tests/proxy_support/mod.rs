//! Fixtures for the proxy tests: panel users, ports and delegations made directly in the store
//! (the users and ports endpoints are built elsewhere), and proxy objects made over the API.
#![allow(dead_code)]

use kordon_store::users::UserFields;
use serde_json::{json, Value};

use crate::common::TestServer;

pub const USER_PASSWORD: &str = "secret123";

/// A non-super panel user; returns `(id, key)`.
pub async fn panel_user(server: &TestServer, username: &str) -> (i64, String) {
    let user = server
        .store
        .create_user(&UserFields {
            username: username.into(),
            password: Some(USER_PASSWORD.into()),
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
    let key = server.login(username, USER_PASSWORD).await;
    (user.id, key)
}

/// A port (modem) named `name` with live state as monitoring would have written it.
pub async fn port(server: &TestServer, name: &str) -> i64 {
    let operator = server.store.operator_id("MTS RUS").await.expect("operator");
    let network = server
        .store
        .network_type_id("LTE (4G)")
        .await
        .expect("network type");
    let id = server.add_port(name, &format!("if{name}"), &[]).await;
    sqlx::query(
        "UPDATE ports SET ip = '192.168.13.100', gateway = '192.168.13.1', conn_dev = 1, \
         conn_net = 1, operator_id = ?, network_type_id = ? WHERE id = ?",
    )
    .bind(operator)
    .bind(network)
    .bind(id)
    .execute(server.store.pool())
    .await
    .expect("live state written");
    id
}

pub async fn set_port_active(server: &TestServer, port_id: i64, active: bool) {
    sqlx::query("UPDATE ports SET active = ? WHERE id = ?")
        .bind(active)
        .bind(port_id)
        .execute(server.store.pool())
        .await
        .expect("port updated");
}

/// Delegates a port to a panel user.
pub async fn delegate(server: &TestServer, port_id: i64, user_id: i64) {
    sqlx::query("INSERT INTO port_users (port_id, user_id) VALUES (?, ?)")
        .bind(port_id)
        .bind(user_id)
        .execute(server.store.pool())
        .await
        .expect("delegation inserted");
}

/// Creates a proxy login over the API and returns its id.
pub async fn proxy_login(server: &TestServer, key: &str, login: &str) -> i64 {
    let (status, body) = server
        .post(
            key,
            "/api/proxy/auth/add",
            json!({"login": login, "password": format!("{login}-pw"), "bitrate_in": 0, "bitrate_out": 0}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("login not created: {body}"))
}

/// Adds a client IP over the API and returns its id.
pub async fn client_ip(server: &TestServer, key: &str, ip: &str) -> i64 {
    let (status, body) = server
        .post(key, "/api/proxy/ip/add", json!({"ip": ip}))
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("ip not created: {body}"))
}

/// Creates a site list over the API and returns its id.
pub async fn site_list(server: &TestServer, key: &str, name: &str, domains: &[&str]) -> i64 {
    let (status, body) = server
        .post(
            key,
            "/api/proxy/site/add",
            json!({"name": name, "domains": domains}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("site list not created: {body}"))
}

/// The document's add sample for a `strong` profile.
pub fn strong_body(modem: i64, port: i64, login: i64) -> Value {
    json!({
        "modem": modem,
        "active": true,
        "type": "socks",
        "auth": "strong",
        "port": port,
        "is_local": false,
        "maxconn": 0,
        "is_allow": true,
        "is_ports": true,
        "auth_params": [login],
        "allow": [],
        "targetport": []
    })
}

/// Adds a profile and returns its id (panics on any error).
pub async fn proxy(server: &TestServer, key: &str, body: Value) -> i64 {
    let (status, reply) = server.post(key, "/api/proxy/add", body).await;
    assert_eq!(status, 200, "{reply}");
    reply["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("proxy not created: {reply}"))
}

/// Runs `proxy/list` and returns the reply.
pub async fn proxy_list(server: &TestServer, key: &str, body: Value) -> Value {
    let (status, reply) = server.post(key, "/api/proxy/list", body).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

/// The ids of a `{meta, data}` reply's items, in order.
pub fn ids(reply: &Value) -> Vec<i64> {
    reply["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {reply}"))
        .iter()
        .filter_map(|item| item["id"].as_i64())
        .collect()
}

/// `DD MMM YYYY HH:mm:ss` with a Russian month abbreviation.
pub fn is_farm_date(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let parts: Vec<&str> = text.split(' ').collect();
    parts.len() == 4
        && parts[0].len() == 2
        && kordon_model::rutime::MONTHS_RU.contains(&parts[1])
        && parts[2].len() == 4
        && parts[3].len() == 8
}
