//! Login, keys and authentication failures of the farm API.

mod common;

use common::{TestServer, ADMIN, ADMIN_PASSWORD};
use serde_json::json;

#[tokio::test]
async fn login_issues_40_hex_keys_and_refuses_bad_credentials() {
    let server = TestServer::start().await;
    let key = server.login(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(key.len(), 40);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(key, server.admin, "each login issues a new key");

    let (status, body) = server
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"username": ADMIN, "password": "wrong"})),
        )
        .await;
    common::assert_field_error(status, &body, "non_field_errors");

    let (status, body) = server
        .call(
            "POST",
            "/api/auth/login/",
            None,
            Some(json!({"username": ADMIN})),
        )
        .await;
    common::assert_field_error(status, &body, "password");
}

#[tokio::test]
async fn missing_malformed_and_revoked_keys_get_401() {
    let server = TestServer::start().await;
    let (status, body) = server
        .call("GET", "/api/devices/modem/type", None, None)
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].is_string());
    let (status, _) = server.get("not-a-key", "/api/devices/modem/type").await;
    assert_eq!(status, 401);
    let (status, _) = server.get(&"0".repeat(40), "/api/devices/modem/type").await;
    assert_eq!(status, 401);

    let key = server.login(ADMIN, ADMIN_PASSWORD).await;
    let (status, _) = server.post(&key, "/api/auth/logout/", json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = server.get(&key, "/api/devices/modem/type").await;
    assert_eq!(status, 401, "a revoked key stops working");
}

#[tokio::test]
async fn form_encoded_and_untyped_login_bodies_are_accepted() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/api/auth/login/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("username={ADMIN}&password={ADMIN_PASSWORD}"))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["key"].is_string(), "{body}");

    let response = server
        .client
        .post(server.url("/api/auth/login"))
        .body(format!(
            "{{\"username\":\"{ADMIN}\",\"password\":\"{ADMIN_PASSWORD}\"}}"
        ))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["key"].is_string(), "{body}");

    let (status, body) = server.call("GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    let text = body["_text"].as_str().unwrap();
    assert!(text.contains("kordon_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/auth/login\""), "{text}");
}
