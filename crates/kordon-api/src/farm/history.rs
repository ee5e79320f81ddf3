//! IP history: `GET /api/devices/statistic/ip`, `POST /api/devices/ip/operator`,
//! `POST /api/devices/ip/modem`.
//!
//! The operator pool (`statistic/ip`, `ip/operator`) is data about mobile operators, not about
//! any user's ports, so every authenticated user reads it whole; only its `osid` filter looks
//! into port history, and then only into the caller's ports. `ip/modem` is port history and
//! shows a non-superuser only the rows of ports delegated to them (see
//! `kordon_store::history`).

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use kordon_model::filter::{parse_filter, parse_page, Condition, FilterKey, Page, SortDir};
use kordon_model::{rutime, FieldErrors};
use kordon_store::history::{self, OPERATOR_IP_SORTS, PORT_IP_SORTS};
use kordon_store::listing::{self, SortColumn};
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Body;
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/devices/statistic/ip", get(statistic))
        .route("/api/devices/ip/operator", post(operator_ips))
        .route("/api/devices/ip/modem", post(port_ips))
}

async fn statistic(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    let counts = state.store.operator_ip_counts().await?;
    let data: Vec<Value> = counts
        .iter()
        .map(|c| json!({ "name": c.name, "count": c.count }))
        .collect();
    Ok(reply::json(Value::Array(data)))
}

/// The checked `filter` and `pagination` of a list request, every problem of both at once.
fn read_list_request(
    body: &Body,
    caller: &Caller,
    keys: &[FilterKey],
    sorts: &[SortColumn],
) -> ApiResult<(Vec<Condition>, Page)> {
    let mut errors = FieldErrors::new();
    let conditions = parse_filter(body.get("filter"), keys, caller.tz())
        .map_err(|e| errors.merge(e))
        .ok();
    let sortable = listing::sortable(sorts);
    let page = parse_page(body.get("pagination"), &sortable, SortDir::Asc)
        .map_err(|e| errors.merge(e))
        .ok();
    match (conditions, page) {
        (Some(conditions), Some(page)) if errors.is_empty() => Ok((conditions, page)),
        _ => Err(ApiError::Invalid(errors)),
    }
}

async fn operator_ips(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let keys = history::operator_ip_filter_keys();
    let (conditions, page) = read_list_request(&body, &caller, &keys, OPERATOR_IP_SORTS)?;
    let (total, rows) = state
        .store
        .list_operator_ips(caller.scope(), &conditions, &page)
        .await?;
    let tz = caller.tz();
    let data: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.id,
                "ip": row.ip,
                "date_create": rutime::format(row.date_create, tz),
                "operator": row.operator_id,
            })
        })
        .collect();
    Ok(reply::json(
        json!({ "meta": page.meta(total), "data": data }),
    ))
}

async fn port_ips(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let keys = history::port_ip_filter_keys();
    let (conditions, page) = read_list_request(&body, &caller, &keys, PORT_IP_SORTS)?;
    let (total, rows) = state
        .store
        .list_port_ips(caller.scope(), &conditions, &page)
        .await?;
    let tz = caller.tz();
    let data: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.id,
                "oip": row.oip,
                "modem": row.port_id,
                "network_type": row.network_type_id,
                "osfp": row.osfp_id,
                "date_create": rutime::format(row.date_create, tz),
            })
        })
        .collect();
    Ok(reply::json(
        json!({ "meta": page.meta(total), "data": data }),
    ))
}
