//! Client IPs of `iponly` profiles. The document has only `POST /api/proxy/ip/del`; kordon adds
//! (as extensions) `POST /api/proxy/ip/add` `{ip, description?}` and
//! `GET|POST /api/proxy/ip/list` (bare array of `{id, ip, description, date_create}`).
//!
//! Addresses are stored in canonical form (`::ffff:1.2.3.4` stays IPv6, `2001:DB8::1` becomes
//! `2001:db8::1`); one owner holds an address once. Ownership as for proxy logins, and an IP a
//! profile uses cannot be deleted.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use chrono_tz::Tz;
use kordon_model::{rules, rutime};
use kordon_store::proxy_ips::ProxyIp;
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Body;
use super::proxies::batch_ids;
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

const DESCRIPTION_MAX: usize = 255;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/proxy/ip/add", post(add))
        .route("/api/proxy/ip/list", get(list).post(list))
        .route("/api/proxy/ip/del", post(delete))
}

fn ip_json(ip: &ProxyIp, tz: Tz) -> Value {
    json!({
        "id": ip.id,
        "ip": ip.ip,
        "description": ip.description,
        "date_create": rutime::format(ip.date_create, tz),
    })
}

async fn add(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let mut input = body.input();
    let ip = input
        .req_str("ip")
        .and_then(|text| match rules::ip_address(&text) {
            Ok(addr) => Some(addr.to_string()),
            Err(message) => {
                input.error("ip", message);
                None
            }
        });
    let description = input
        .opt_str("description")
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    if description
        .as_ref()
        .is_some_and(|text| text.chars().count() > DESCRIPTION_MAX)
    {
        input.error(
            "description",
            format!("Ensure this field has no more than {DESCRIPTION_MAX} characters."),
        );
    }
    input.check()?;
    let Some(ip) = ip else {
        return Err(ApiError::Internal("checked fields missing".into()));
    };
    let created = state
        .store
        .create_proxy_ip(caller.id(), &ip, description.as_deref())
        .await?;
    Ok(reply::json(ip_json(&created, caller.tz())))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let tz = caller.tz();
    let ips = state.store.proxy_ips(caller.scope()).await?;
    Ok(reply::json(Value::Array(
        ips.iter().map(|ip| ip_json(ip, tz)).collect(),
    )))
}

async fn delete(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let ids = batch_ids(body)?;
    state.store.delete_proxy_ips(caller.scope(), &ids).await?;
    Ok(reply::ok())
}
