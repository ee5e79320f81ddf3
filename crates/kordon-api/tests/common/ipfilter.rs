//! An in-process server whose ipfilter dialect runs on a [`ManualClock`] (and optionally with
//! an admission check), and helpers for the dialect's token and calls.

use std::sync::Arc;

use kordon_api::ipfilter::admission::ClientAdmission;
use kordon_api::ipfilter::clock::ManualClock;
use kordon_api::ipfilter::IpFilterApi;
use kordon_api::{ApiConfig, AppState};
use kordon_store::Store;
use kordon_supervisor::Supervisor;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::{TestServer, ADMIN, ADMIN_PASSWORD};

/// A [`TestServer`] with the ipfilter dialect on `clock`, `expires_time` in UTC.
pub async fn start(clock: ManualClock, admission: Option<Arc<dyn ClientAdmission>>) -> TestServer {
    let plain = TestServer::start().await;
    let dir = plain.stop().await;
    let store = Store::open_dir(dir.path()).await.expect("store opens");
    let supervisor = Supervisor::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = ApiConfig {
        listen: addr,
        ..ApiConfig::default()
    };
    let mut state = AppState::new(store.clone(), supervisor.clone(), config)
        .with_ipfilter(IpFilterApi::new(Arc::new(clock), chrono_tz::UTC));
    if let Some(admission) = admission {
        state = state.with_admission(admission);
    }
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        kordon_api::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    let mut server = TestServer {
        addr,
        store,
        supervisor,
        client: reqwest::Client::new(),
        admin: String::new(),
        shutdown: Some(tx),
        task: Some(task),
        dir,
    };
    server.admin = server.login(ADMIN, ADMIN_PASSWORD).await;
    server
}

/// An ipfilter access token for `username` (panics on failure).
pub async fn token(server: &TestServer, username: &str, password: &str) -> String {
    let (status, body) = server
        .call(
            "POST",
            "/api/account/credentials/verify",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await;
    assert_eq!(status, 200, "verify {username}: {body}");
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {body}"))
        .to_string()
}

/// The superuser's ipfilter token.
pub async fn admin_token(server: &TestServer) -> String {
    token(server, ADMIN, ADMIN_PASSWORD).await
}

/// A GET with `params` in the query string.
pub async fn get(server: &TestServer, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let response = server
        .client
        .get(server.url(path))
        .query(params)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "_text": text }));
    (status, value)
}

/// A POST of `body` as JSON with the token as its `access_token` member.
pub async fn post(server: &TestServer, token: &str, path: &str, mut body: Value) -> (u16, Value) {
    body["access_token"] = json!(token);
    server.call("POST", path, None, Some(body)).await
}

/// Creates a rule and returns its id (panics on failure).
pub async fn create(server: &TestServer, token: &str, rule: Value) -> String {
    let (status, body) = post(server, token, "/api/ip_filter/create", rule).await;
    assert_eq!(status, 200, "{body}");
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {body}"))
        .to_string()
}

/// Asserts an ipfilter error: the HTTP status, `errcode` and, if given, a field in `errors`.
pub fn assert_error(
    status: u16,
    body: &Value,
    want_status: u16,
    errcode: i64,
    field: Option<&str>,
) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["errcode"], json!(errcode), "{body}");
    assert!(
        body["errmsg"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    if let Some(field) = field {
        assert!(
            body["errors"][field]
                .as_array()
                .is_some_and(|m| !m.is_empty()),
            "expected an error on {field}: {body}"
        );
    }
}
