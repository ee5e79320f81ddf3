//! Proxy logins ("proxy users" of the document): `POST /api/proxy/auth/add`,
//! `GET|POST /api/proxy/auth/edit/{id}`, `GET|POST /api/proxy/auth/list` (bare array),
//! `POST /api/proxy/auth/del`.
//!
//! Decisions beyond the document:
//! - Every reply carries `name` (= `login`) as well, since the list sample uses `name`.
//! - `bitrate_in`/`bitrate_out` default to 0 (unlimited); `null` also means 0. An edit keeps
//!   every field it does not send.
//! - A login belongs to its creator; non-superusers see and use only their own. A taken name
//!   is refused without saying whose it is.
//! - Deleting a login a profile uses is refused with an error on `id` naming the profiles.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use kordon_model::coerce::Input;
use kordon_model::rules;
use kordon_store::proxy_logins::{LoginFields, ProxyLogin};
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Body;
use super::proxies::{batch_ids, path_id};
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/proxy/auth/add", post(add))
        .route("/api/proxy/auth/edit/{id}", get(read).post(edit))
        .route("/api/proxy/auth/list", get(list).post(list))
        .route("/api/proxy/auth/del", post(delete))
}

fn login_json(login: &ProxyLogin) -> Value {
    json!({
        "id": login.id,
        "name": login.login,
        "login": login.login,
        "password": login.password,
        "bitrate_in": login.bitrate_in,
        "bitrate_out": login.bitrate_out,
    })
}

/// A bitrate field: absent keeps `current`, `null` is 0 (unlimited), otherwise checked.
fn read_bitrate(input: &mut Input, field: &str, current: i64) -> i64 {
    if input.raw(field).is_none() {
        return current;
    }
    let value = input.opt_int(field).unwrap_or(0);
    if let Err(message) = rules::bitrate(value) {
        input.error(field, message);
    }
    value
}

/// Reads a login's fields; on edit (`current` set) absent fields keep their values.
fn read_login(body: Body, current: Option<&ProxyLogin>) -> Result<LoginFields, ApiError> {
    let mut input = body.input();
    let (login, password) = match current {
        None => (input.req_str("login"), input.req_str("password")),
        Some(c) => (
            input.opt_str("login").or(Some(c.login.clone())),
            input.opt_str("password").or(Some(c.password.clone())),
        ),
    };
    if let Some(Err(message)) = login.as_deref().map(rules::proxy_login) {
        input.error("login", message);
    }
    if let Some(Err(message)) = password.as_deref().map(rules::proxy_password) {
        input.error("password", message);
    }
    let bitrate_in = read_bitrate(
        &mut input,
        "bitrate_in",
        current.map_or(0, |c| c.bitrate_in),
    );
    let bitrate_out = read_bitrate(
        &mut input,
        "bitrate_out",
        current.map_or(0, |c| c.bitrate_out),
    );
    input.check()?;
    let (Some(login), Some(password)) = (login, password) else {
        return Err(ApiError::Internal("checked fields missing".into()));
    };
    Ok(LoginFields {
        login,
        password,
        bitrate_in,
        bitrate_out,
    })
}

async fn add(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let fields = read_login(body, None)?;
    let login = state.store.create_proxy_login(caller.id(), &fields).await?;
    Ok(reply::json(login_json(&login)))
}

async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let login = state
        .store
        .proxy_login(caller.scope(), path_id(&id)?)
        .await?;
    Ok(reply::json(login_json(&login)))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id)?;
    let current = state.store.proxy_login(caller.scope(), id).await?;
    let fields = read_login(body, Some(&current))?;
    let login = state
        .store
        .update_proxy_login(caller.scope(), id, &fields)
        .await?;
    Ok(reply::json(login_json(&login)))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let logins = state.store.proxy_logins(caller.scope()).await?;
    Ok(reply::json(Value::Array(
        logins.iter().map(login_json).collect(),
    )))
}

async fn delete(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let ids = batch_ids(body)?;
    state
        .store
        .delete_proxy_logins(caller.scope(), &ids)
        .await?;
    Ok(reply::ok())
}
