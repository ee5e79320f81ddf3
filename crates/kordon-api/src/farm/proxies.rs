//! Proxy profiles: `POST /api/proxy/add`, `GET|POST /api/proxy/edit/{id}`,
//! `POST /api/proxy/list` (`{meta, data}`), `POST /api/proxy/active`, `POST /api/proxy/del`.
//!
//! Decisions beyond the document:
//! - `auth_params` takes `2`, `[2]`, `"2"` or `[{"id": 2}]`; `strong` needs exactly one login
//!   id, `iponly` one or more client IP ids. The reply gives the login id (`strong`) or the
//!   list of IP ids (`iponly`), as the sample does.
//! - On edit, `active`, `is_local`, `allow`, `maxconn`, `is_allow`, `is_ports` and
//!   `targetport` keep their current values when absent (the edit sample omits several);
//!   on add they default to `true`, `false`, `[]` and, for the documented-required `maxconn`,
//!   `is_allow` and `is_ports`, are required.
//! - Logins, IPs and site lists a non-superuser does not own are refused like missing ones,
//!   except those already attached to the profile being edited.
//! - `proxy/list` items carry `ports` (the sample's name) and `targetport` (the add reply's).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use chrono_tz::Tz;
use kordon_model::coerce::{self, Input};
use kordon_model::enums::{ProxyAuth, ProxyType};
use kordon_model::filter::{self, Condition, FilterValue, SortDir};
use kordon_model::{rules, rutime, FieldErrors};
use kordon_store::listing;
use kordon_store::proxies::{proxy_filter_keys, Proxy, ProxyFields, WriteError, PROXY_SORTS};
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Body;
use super::reply::{self, ApiError, ApiResult};
use crate::{ApiConfig, AppState};

mod listed;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/proxy/add", post(add))
        .route("/api/proxy/edit/{id}", get(read).post(edit))
        .route("/api/proxy/list", get(list).post(list))
        .route("/api/proxy/active", post(set_active))
        .route("/api/proxy/del", post(delete))
}

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Invalid(errors) => ApiError::Invalid(errors),
            WriteError::Store(error) => error.into(),
        }
    }
}

/// An `{id}` path segment; anything but an integer names no object, so it is a 404 too.
pub(super) fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::NotFound("Not found.".to_string()))
}

/// The `id` list of a batch action (`{"id": [1, 2]}`; a single id is taken as a list of one).
pub(super) fn batch_ids(body: Body) -> Result<Vec<i64>, ApiError> {
    let mut input = body.input();
    let ids = input.req_int_list("id");
    input.check()?;
    Ok(ids.unwrap_or_default())
}

/// Ids sent as `2`, `"2"`, `[2, "3"]` or objects of a list reply (`[{"id": 2}]`).
fn id_list(value: &Value) -> Option<Vec<i64>> {
    fn one(value: &Value) -> Option<i64> {
        match value {
            Value::Object(map) => map.get("id").and_then(coerce::int),
            other => coerce::int(other),
        }
    }
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|id| vec![id]),
    }
}

fn read_ids(input: &mut Input, field: &str, required: bool) -> Option<Vec<i64>> {
    match input.raw(field).cloned() {
        None | Some(Value::Null) => {
            if required {
                input.error(field, coerce::MSG_REQUIRED);
            }
            None
        }
        Some(value) => {
            let ids = id_list(&value);
            if ids.is_none() {
                input.error(field, coerce::MSG_LIST);
            }
            ids
        }
    }
}

fn read_choice<T>(
    input: &mut Input,
    field: &str,
    parse: fn(&str) -> Option<T>,
    choices: String,
) -> Option<T> {
    let text = input.req_str(field)?;
    let parsed = parse(&text.trim().to_ascii_lowercase());
    if parsed.is_none() {
        input.error(
            field,
            format!("\"{text}\" is not a valid choice; choices: {choices}."),
        );
    }
    parsed
}

/// An optional field that keeps its current value on edit and takes `default` on add.
fn kept<T: Clone>(read: Option<T>, current: Option<T>, default: T) -> T {
    read.or(current).unwrap_or(default)
}

/// Reads and checks a profile's fields; `current` is the profile being edited.
fn read_proxy(
    body: Body,
    current: Option<&Proxy>,
    config: &ApiConfig,
) -> Result<ProxyFields, FieldErrors> {
    let mut input = body.input();
    let editing = current.is_some();
    let port_id = input.req_int("modem");
    let proxy_type = read_choice(&mut input, "type", ProxyType::parse, ProxyType::choices());
    let auth = read_choice(&mut input, "auth", ProxyAuth::parse, ProxyAuth::choices());
    let listen_port = input.req_int("port");
    if let Some(port) = listen_port {
        match rules::tcp_port(port) {
            Err(message) => input.error("port", message),
            Ok(()) => {
                if u16::try_from(port).is_ok_and(|p| config.is_reserved_port(p)) {
                    input.error("port", "port is used by kordon itself");
                }
            }
        }
    }
    let active = input.opt_bool("active");
    let is_local = input.opt_bool("is_local");
    let auth_ids = read_ids(&mut input, "auth_params", true);
    if let (Some(auth), Some(ids)) = (auth, &auth_ids) {
        match auth {
            ProxyAuth::Strong if ids.len() != 1 => {
                input.error("auth_params", "Strong auth takes exactly one login id.")
            }
            ProxyAuth::IpOnly if ids.is_empty() => input.error(
                "auth_params",
                "IP-only auth takes at least one client IP id.",
            ),
            _ => {}
        }
    }
    let allow_ids = read_ids(&mut input, "allow", false);
    let (maxconn, is_allow, is_ports) = if editing {
        (
            input.opt_int("maxconn"),
            input.opt_bool("is_allow"),
            input.opt_bool("is_ports"),
        )
    } else {
        (
            input.req_int("maxconn"),
            input.req_bool("is_allow"),
            input.req_bool("is_ports"),
        )
    };
    if let Some(Err(message)) = maxconn.map(rules::maxconn) {
        input.error("maxconn", message);
    }
    let target_ports = input.opt_int_list("targetport");
    for port in target_ports.iter().flatten() {
        if rules::tcp_port(*port).is_err() {
            input.error(
                "targetport",
                format!("Port {port} is not between 1 and 65535."),
            );
        }
    }
    input.check()?;
    let (Some(port_id), Some(proxy_type), Some(auth), Some(listen_port), Some(auth_ids)) =
        (port_id, proxy_type, auth, listen_port, auth_ids)
    else {
        return Err(FieldErrors::single("non_field_errors", "Incomplete input."));
    };
    let row = current.map(|p| &p.row);
    Ok(ProxyFields {
        port_id,
        active: kept(active, row.map(|r| r.active), true),
        proxy_type,
        auth,
        listen_port,
        is_local: kept(is_local, row.map(|r| r.is_local), false),
        maxconn: kept(maxconn, row.map(|r| r.maxconn), 0),
        is_allow: kept(is_allow, row.map(|r| r.is_allow), false),
        is_ports: kept(is_ports, row.map(|r| r.is_ports), false),
        auth_ids,
        allow_ids: kept(allow_ids, current.map(|p| p.allow_ids.clone()), Vec::new()),
        target_ports: kept(
            target_ports,
            current.map(|p| p.target_ports.clone()),
            Vec::new(),
        ),
    })
}

/// The add/edit reply, shaped as the document's sample.
fn proxy_json(proxy: &Proxy, tz: Tz) -> Value {
    let row = &proxy.row;
    let auth_params = if row.auth == ProxyAuth::Strong.as_str() {
        json!(row.login_id)
    } else {
        json!(proxy.ip_ids)
    };
    json!({
        "id": row.id,
        "modem": row.port_id,
        "active": row.active,
        "type": row.proxy_type,
        "auth": row.auth,
        "port": row.listen_port,
        "is_local": row.is_local,
        "is_allow": row.is_allow,
        "is_ports": row.is_ports,
        "auth_params": auth_params,
        "maxconn": row.maxconn,
        "allow": proxy.allow_ids,
        "targetport": proxy.target_ports,
        "date_create": rutime::format(row.date_create, tz),
        "date_update": rutime::format(row.date_update, tz),
    })
}

async fn add(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let fields = read_proxy(body, None, &state.config)?;
    let proxy = state.store.create_proxy(caller.scope(), &fields).await?;
    tracing::info!(proxy = proxy.row.id, port = proxy.row.listen_port, user = %caller.user.username, "proxy profile added");
    Ok(reply::json(proxy_json(&proxy, caller.tz())))
}

async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let proxy = state.store.proxy(caller.scope(), path_id(&id)?).await?;
    Ok(reply::json(proxy_json(&proxy, caller.tz())))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id)?;
    let current = state.store.proxy(caller.scope(), id).await?;
    let fields = read_proxy(body, Some(&current), &state.config)?;
    let proxy = state
        .store
        .update_proxy(caller.scope(), id, &fields)
        .await?;
    tracing::info!(proxy = id, user = %caller.user.username, "proxy profile saved");
    Ok(reply::json(proxy_json(&proxy, caller.tz())))
}

/// `auth` and `type` filters take the document's closed vocabularies; anything else would
/// silently match nothing, so it is an error.
fn check_choices(conditions: &[Condition], errors: &mut FieldErrors) {
    for condition in conditions {
        let FilterValue::Text(text) = &condition.value else {
            continue;
        };
        let (valid, choices) = match condition.key {
            "auth" => (ProxyAuth::parse(text).is_some(), ProxyAuth::choices()),
            "type" => (ProxyType::parse(text).is_some(), ProxyType::choices()),
            _ => continue,
        };
        if !valid {
            errors.add(
                &format!("filter.{}", condition.key),
                format!("\"{text}\" is not a valid choice; choices: {choices}."),
            );
        }
    }
}

async fn list(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let tz = caller.tz();
    let mut errors = FieldErrors::new();
    let conditions = filter::parse_filter(body.get("filter"), &proxy_filter_keys(), tz)
        .unwrap_or_else(|e| {
            errors.merge(e);
            Vec::new()
        });
    check_choices(&conditions, &mut errors);
    let page = filter::parse_page(
        body.get("pagination"),
        &listing::sortable(PROXY_SORTS),
        SortDir::Desc,
    );
    let page = match page {
        Ok(page) if errors.is_empty() => page,
        Ok(_) => return Err(errors.into()),
        Err(e) => {
            errors.merge(e);
            return Err(errors.into());
        }
    };
    let (total, items) = state
        .store
        .list_proxies(caller.scope(), &conditions, &page)
        .await?;
    Ok(reply::serialized(listed::Reply {
        data: items
            .iter()
            .map(|item| listed::Item::new(item, tz))
            .collect(),
        meta: page.meta(total),
    }))
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
        .set_proxies_active(caller.scope(), &ids, active)
        .await?;
    Ok(reply::ok())
}

async fn delete(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let ids = batch_ids(body)?;
    state.store.delete_proxies(caller.scope(), &ids).await?;
    tracing::info!(?ids, user = %caller.user.username, "proxy profiles deleted");
    Ok(reply::ok())
}
