//! A small client of kordon's farm API: log in, then POST and GET JSON with the token.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub struct FarmApi {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl FarmApi {
    /// Logs in at `base` (`http://host:port`), retrying while kordon is still starting.
    pub async fn login(
        base: &str,
        username: &str,
        password: &str,
        within: Duration,
    ) -> Result<FarmApi> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?;
        let deadline = Instant::now() + within;
        loop {
            let reply = client
                .post(format!("{base}/api/auth/login/"))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await;
            if let Ok(reply) = reply {
                let status = reply.status();
                let body: Value = reply.json().await.unwrap_or(Value::Null);
                if let Some(key) = body["key"].as_str() {
                    return Ok(FarmApi {
                        key: key.to_owned(),
                        client,
                        base: base.to_owned(),
                    });
                }
                if status.is_client_error() {
                    bail!("farm API login refused: HTTP {status}: {body}");
                }
            }
            if Instant::now() > deadline {
                bail!("farm API at {base} never answered a login");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The status and JSON body of a POST, whatever the status.
    pub async fn post_raw(&self, path: &str, body: Value) -> Result<(StatusCode, Value)> {
        let reply = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Token {}", self.key))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = reply.status();
        let value = reply.json().await.unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// A POST that must succeed: 2xx and no `errors` (the dialect's 200 for bad input).
    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let (status, value) = self.post_raw(path, body).await?;
        if !status.is_success() || value.get("errors").is_some() {
            bail!("POST {path}: HTTP {status}: {value}");
        }
        Ok(value)
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        let reply = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Token {}", self.key))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = reply.status();
        let value: Value = reply.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {path}: HTTP {status}: {value}");
        }
        Ok(value)
    }
}

/// The `id` of a created object.
pub fn created_id(reply: &Value, what: &str) -> Result<i64> {
    reply["id"]
        .as_i64()
        .with_context(|| format!("{what}: no id in the reply {reply}"))
}
