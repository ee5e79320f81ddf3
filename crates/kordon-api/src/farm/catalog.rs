//! Device catalogues: `modem/type`, `osfp/list`, `operators/list`, `network/list` (any panel
//! user) and `interface/list` (superusers: the machine's interfaces no port uses yet).
//!
//! All are read-only lists; they answer GET as documented and POST as well, since the
//! document's own headings mix the two.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use kordon_host::Interface;
use serde_json::{json, Value};

use super::auth::Caller;
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/devices/modem/type",
            get(modem_types).post(modem_types),
        )
        .route(
            "/api/devices/osfp/list",
            get(fingerprints).post(fingerprints),
        )
        .route(
            "/api/devices/operators/list",
            get(operators).post(operators),
        )
        .route(
            "/api/devices/network/list",
            get(network_types).post(network_types),
        )
        .route(
            "/api/devices/interface/list",
            get(interfaces).post(interfaces),
        )
}

async fn modem_types(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    let models = state.store.modem_models().await?;
    Ok(reply::json(Value::Array(
        models
            .into_iter()
            .map(|m| json!({"id": m.id, "code": m.code, "name": m.name}))
            .collect(),
    )))
}

/// `modem` is the OS name (the document's naming); the SYN parameters are an extension.
async fn fingerprints(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    let fingerprints = state.store.os_fingerprints().await?;
    Ok(reply::json(Value::Array(
        fingerprints
            .into_iter()
            .map(|f| {
                json!({
                    "id": f.id,
                    "name": f.name,
                    "modem": f.os,
                    "ttl": f.ttl,
                    "window_size": f.window_size,
                    "window_scale": f.window_scale,
                    "mss": f.mss,
                    "options": f.options,
                    "df": f.df,
                    "p0f_signature": f.p0f_signature,
                })
            })
            .collect(),
    )))
}

fn named_list(items: Vec<kordon_store::catalog::Named>) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|n| json!({"id": n.id, "name": n.name}))
            .collect(),
    )
}

async fn operators(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    Ok(reply::json(named_list(state.store.operators().await?)))
}

async fn network_types(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    Ok(reply::json(named_list(state.store.network_types().await?)))
}

/// Interfaces a new port could take: not loopback, not already a port's. Down interfaces and
/// those without an address are listed too (a modem being replugged has neither yet).
fn free_interfaces(all: Vec<Interface>, used: &std::collections::HashSet<String>) -> Vec<Value> {
    all.into_iter()
        .filter(|i| !i.is_loopback && !used.contains(&i.name))
        .map(|i| {
            json!({
                "ifname": i.name,
                "ip": i.ipv4.map(|ip| ip.to_string()),
                "gateway": i.gateway.map(|ip| ip.to_string()),
            })
        })
        .collect()
}

async fn interfaces(State(state): State<AppState>, caller: Caller) -> ApiResult {
    caller.require_superuser()?;
    // Reads /sys and /proc: keep it off the async workers.
    let all = tokio::task::spawn_blocking(kordon_host::interfaces)
        .await
        .map_err(|e| ApiError::Internal(format!("interface scan task failed: {e}")))?
        .map_err(|e| ApiError::Internal(format!("cannot list interfaces: {e}")))?;
    let used = state.store.port_ifnames().await?;
    Ok(reply::json(Value::Array(free_interfaces(all, &used))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn interface(name: &str, loopback: bool, ip: Option<Ipv4Addr>) -> Interface {
        Interface {
            name: name.into(),
            ipv4: ip,
            prefix_len: ip.map(|_| 24),
            gateway: ip.map(|_| Ipv4Addr::new(192, 168, 8, 1)),
            is_loopback: loopback,
            is_up: true,
        }
    }

    #[test]
    fn drops_loopback_and_used_interfaces() {
        let all = vec![
            interface("lo", true, Some(Ipv4Addr::LOCALHOST)),
            interface("eth1", false, Some(Ipv4Addr::new(192, 168, 8, 100))),
            interface("eth2", false, None),
            interface("eth3", false, None),
        ];
        let used = ["eth3".to_string()].into_iter().collect();
        let free = free_interfaces(all, &used);
        assert_eq!(
            free,
            vec![
                json!({"ifname": "eth1", "ip": "192.168.8.100", "gateway": "192.168.8.1"}),
                json!({"ifname": "eth2", "ip": null, "gateway": null}),
            ]
        );
    }
}
