//! Ports (modems): `/api/devices/modem/{add,edit/{id},list,active,osfp,reconnect}`.
//!
//! Adding a port is for superusers (ports are hardware). Everything else is scoped: a
//! non-superuser reads, edits and switches only the ports delegated to them, and any other
//! port id answers 404 exactly like a missing one.

mod input;
mod reconnect;
mod view;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use kordon_model::coerce;
use kordon_model::enums::ReconnectType;
use kordon_model::filter::{parse_filter, FilterValue};
use kordon_model::FieldErrors;
use kordon_store::listing;
use kordon_store::ports::PORT_FILTERS;

use self::input::{read_port_fields, Writer};
use super::auth::Caller;
use super::body::Body;
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/devices/modem/add", post(add))
        .route(
            "/api/devices/modem/edit/{id}",
            get(read).post(edit).put(edit),
        )
        .route("/api/devices/modem/list", post(list).get(list))
        .route("/api/devices/modem/active", post(set_active))
        .route("/api/devices/modem/osfp", post(set_osfp))
        .route(
            "/api/devices/modem/reconnect",
            post(reconnect::reconnect_batch).get(reconnect::reconnect_link),
        )
}

/// A port id from the path; anything but a positive integer matches no port (Django's
/// `<int:pk>` would not route it either).
fn port_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::NotFound("Not found.".to_string()))
}

fn writer(caller: &Caller) -> Writer {
    if caller.is_superuser() {
        Writer::Superuser
    } else {
        Writer::Delegate
    }
}

async fn add(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    caller.require_superuser()?;
    let mut fields = read_port_fields(&state.store, body.input(), None, Writer::Superuser).await?;
    fields.users.get_or_insert_with(Vec::new);
    let port = state.store.create_port(&fields).await?;
    tracing::info!(port = port.id, ifname = %port.ifname, "port added");
    Ok(reply::json(view::settings(&port)))
}

async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let port = state.store.port(caller.scope(), port_id(&id)?).await?;
    Ok(reply::json(view::settings(&port)))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let scope = caller.scope();
    let current = state.store.port(scope, port_id(&id)?).await?;
    let fields =
        read_port_fields(&state.store, body.input(), Some(&current), writer(&caller)).await?;
    let port = state.store.update_port(scope, current.id, &fields).await?;
    Ok(reply::json(view::settings(&port)))
}

async fn list(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let tz = caller.tz();
    let conditions = parse_filter(body.get("filter"), &listing::keys(PORT_FILTERS), tz)?;
    let mut errors = FieldErrors::new();
    for condition in &conditions {
        if let ("reconnect_type", FilterValue::Text(text)) = (condition.key, &condition.value) {
            if ReconnectType::parse(text).is_none() {
                errors.add(
                    "filter.reconnect_type",
                    format!(
                        "\"{text}\" is not a valid choice; use {}.",
                        ReconnectType::choices()
                    ),
                );
            }
        }
    }
    errors.into_result(())?;
    let ports = state.store.list_ports(caller.scope(), &conditions).await?;
    let now = kordon_store::now();
    let items: Vec<view::ListItem> = ports
        .iter()
        .map(|port| view::list_item(port, tz, now))
        .collect();
    Ok(Json(items).into_response())
}

async fn set_active(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let mut input = body.input();
    let ids = input.req_int_list("id");
    let active = input.req_bool("active");
    input.check()?;
    let (Some(ids), Some(active)) = (ids, active) else {
        return Err(ApiError::Internal("checked fields missing".into()));
    };
    state
        .store
        .set_ports_active(caller.scope(), &ids, active)
        .await?;
    Ok(reply::ok())
}

/// `{"id": [..], "osid": n, "is_osfp": bool}`. The document's sample leaves `is_osfp` out, so
/// a request with `osid` alone switches the fingerprint on; `is_osfp` alone switches it on or
/// off keeping each port's fingerprint (switching on then needs one to be set).
async fn set_osfp(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let mut input = body.input();
    let ids = input.req_int_list("id");
    let osid = input.opt_int("osid");
    let is_osfp = input.opt_bool("is_osfp");
    let sent_osid = input.has("osid");
    if !sent_osid && !input.has("is_osfp") {
        input.error("osid", coerce::MSG_REQUIRED);
    }
    if let Some(osid) = osid {
        if state.store.os_fingerprint(osid).await?.is_none() {
            input.error(
                "osid",
                format!("Invalid pk \"{osid}\" - object does not exist."),
            );
        }
    }
    input.check()?;
    let ids = ids.unwrap_or_default();
    let is_osfp = is_osfp.unwrap_or(true);
    let scope = caller.scope();
    if is_osfp && osid.is_none() {
        // Only after the visibility check: whether a port has a fingerprint is the port's
        // business.
        state.store.check_ports_visible(scope, &ids).await?;
        if let Some(bare) = state.store.ports_without_osfp(scope, &ids).await?.first() {
            return Err(ApiError::field(
                "osid",
                format!("This field is required: port {bare} has no fingerprint to switch on."),
            ));
        }
    }
    state
        .store
        .set_ports_osfp(scope, &ids, osid, is_osfp)
        .await?;
    Ok(reply::ok())
}
