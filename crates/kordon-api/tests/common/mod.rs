//! In-process test server: a fresh store in a temporary directory, the API on `127.0.0.1:0`,
//! a superuser `admin` and helpers to call the API over real HTTP.
#![allow(dead_code)]

pub mod ipfilter;

use std::net::SocketAddr;

use kordon_api::{ApiConfig, AppState};
use kordon_store::users::UserFields;
use kordon_store::Store;
use kordon_supervisor::Supervisor;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin12345";

pub struct TestServer {
    pub addr: SocketAddr,
    pub store: Store,
    pub supervisor: Supervisor,
    pub client: reqwest::Client,
    /// Key of the superuser `admin`.
    pub admin: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir).await
    }

    /// Starts on an existing data directory (restart tests).
    pub async fn start_in(dir: tempfile::TempDir) -> Self {
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
        let state = AppState::new(store.clone(), supervisor.clone(), config);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            kordon_api::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        if store.user_by_name(ADMIN).await.expect("query").is_none() {
            store
                .create_user(&UserFields {
                    username: ADMIN.into(),
                    password: Some(ADMIN_PASSWORD.into()),
                    email: "admin@example.com".into(),
                    first_name: String::new(),
                    last_name: String::new(),
                    is_active: true,
                    is_superuser: true,
                    phone: None,
                    timezone: "Europe/Moscow".into(),
                })
                .await
                .expect("admin");
        }
        let mut server = Self {
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

    /// Stops the server and hands back its data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.store.close().await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Logs in and returns the key (panics on failure).
    pub async fn login(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/api/auth/login/",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, 200, "login {username}: {body}");
        body["key"]
            .as_str()
            .unwrap_or_else(|| panic!("no key: {body}"))
            .to_string()
    }

    /// Creates a non-super panel user through the API and returns `(id, key)`.
    pub async fn user(&self, username: &str) -> (i64, String) {
        let password = "secret123";
        let (status, body) = self
            .post(
                &self.admin,
                "/api/users/add",
                json!({
                    "username": username,
                    "password": password,
                    "per_password": password,
                    "email": format!("{username}@example.com"),
                    "is_active": true,
                    "userprofile": {"timezone": "Europe/Moscow", "phone": ""}
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let id = body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("user not created: {body}"));
        let key = self.login(username, password).await;
        (id, key)
    }

    /// Adds a port through `modem/add` as the superuser, delegated to `users`; returns its id.
    pub async fn add_port(&self, name: &str, ifname: &str, users: &[i64]) -> i64 {
        let (status, body) = self
            .post(
                &self.admin,
                "/api/devices/modem/add",
                json!({
                    "name": name, "ifname": ifname, "type": 1, "active": true,
                    "is_osfp": false, "osfp": null, "monitoring_interval": 10, "mtu": 0,
                    "net_mode": "lte", "reconnect_interval": 240, "reconnect_type": "time",
                    "reconnect_min": 120, "users": users
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("port not created: {body}"))
    }

    /// Any request; `body` is sent as JSON. Returns the status and the JSON reply (or
    /// `{"_text": …}` when the reply is not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Token {key}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "_text": text }));
        (status, value)
    }

    pub async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        self.call("GET", path, Some(key), None).await
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(key), Some(body)).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Asserts a farm validation error on `field` (HTTP 200 with `errors.<field>`).
pub fn assert_field_error(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 200, "validation errors come with 200: {body}");
    assert!(
        body["errors"][field]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "expected an error on {field}: {body}"
    );
}
