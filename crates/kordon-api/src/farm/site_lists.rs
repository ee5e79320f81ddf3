//! Site lists, what a profile's `allow` ids point to (an extension the document implies):
//! `POST /api/proxy/site/add` `{name, domains}`, `GET|POST /api/proxy/site/edit/{id}`,
//! `GET|POST /api/proxy/site/list` (bare array), `POST /api/proxy/site/del`.
//!
//! `domains` is a list of strings; each string may also hold several domains separated by
//! commas or white space (pasted lists). Domains are normalised (`*.Example.COM.` →
//! `example.com`, subdomains always match), deduplicated and sorted. An edit keeps what it does
//! not send. Ownership as for proxy logins; a list a profile allows cannot be deleted.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use chrono_tz::Tz;
use kordon_model::coerce::{self, Input};
use kordon_model::{rules, rutime};
use kordon_store::site_lists::SiteList;
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Body;
use super::proxies::{batch_ids, path_id};
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

/// Enough for any hand-made list, small enough to keep a profile's rules cheap to build.
const DOMAINS_MAX: usize = 10_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/proxy/site/add", post(add))
        .route("/api/proxy/site/edit/{id}", get(read).post(edit))
        .route("/api/proxy/site/list", get(list).post(list))
        .route("/api/proxy/site/del", post(delete))
}

fn list_json(list: &SiteList, tz: Tz) -> Value {
    json!({
        "id": list.id,
        "name": list.name,
        "domains": list.domains,
        "date_create": rutime::format(list.date_create, tz),
        "date_update": rutime::format(list.date_update, tz),
    })
}

/// The `domains` field, checked and normalised; `None` when absent or invalid.
fn read_domains(input: &mut Input) -> Option<Vec<String>> {
    let raw = input.raw("domains").cloned()?;
    if raw.is_null() {
        return None;
    }
    let Some(items) = coerce::string_list(&raw) else {
        input.error("domains", "Expected a list of strings.");
        return None;
    };
    let mut domains = BTreeSet::new();
    let mut valid = true;
    for item in &items {
        for part in item.split(|c: char| c == ',' || c.is_whitespace()) {
            if part.is_empty() {
                continue;
            }
            match rules::domain(part) {
                Ok(domain) => {
                    domains.insert(domain);
                }
                Err(message) => {
                    input.error("domains", message);
                    valid = false;
                }
            }
        }
    }
    if domains.len() > DOMAINS_MAX {
        input.error(
            "domains",
            format!("Ensure this list has no more than {DOMAINS_MAX} domains."),
        );
        valid = false;
    }
    valid.then(|| domains.into_iter().collect())
}

/// Reads a list's fields; on edit (`current` set) absent fields keep their values.
fn read_list(body: Body, current: Option<&SiteList>) -> Result<(String, Vec<String>), ApiError> {
    let mut input = body.input();
    let name = match current {
        None => input.req_str("name"),
        Some(c) => input.opt_str("name").or(Some(c.name.clone())),
    };
    let name = name.map(|n| n.trim().to_string());
    if let Some(Err(message)) = name.as_deref().map(rules::name) {
        input.error("name", message);
    }
    let domains = read_domains(&mut input);
    input.check()?;
    let Some(name) = name else {
        return Err(ApiError::Internal("checked fields missing".into()));
    };
    let domains = domains
        .or_else(|| current.map(|c| c.domains.clone()))
        .unwrap_or_default();
    Ok((name, domains))
}

async fn add(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let (name, domains) = read_list(body, None)?;
    let list = state
        .store
        .create_site_list(caller.id(), &name, &domains)
        .await?;
    Ok(reply::json(list_json(&list, caller.tz())))
}

async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    let list = state.store.site_list(caller.scope(), path_id(&id)?).await?;
    Ok(reply::json(list_json(&list, caller.tz())))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id)?;
    let current = state.store.site_list(caller.scope(), id).await?;
    let (name, domains) = read_list(body, Some(&current))?;
    let list = state
        .store
        .update_site_list(caller.scope(), id, &name, &domains)
        .await?;
    Ok(reply::json(list_json(&list, caller.tz())))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let tz = caller.tz();
    let lists = state.store.site_lists(caller.scope()).await?;
    Ok(reply::json(Value::Array(
        lists.iter().map(|l| list_json(l, tz)).collect(),
    )))
}

async fn delete(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    let ids = batch_ids(body)?;
    state.store.delete_site_lists(caller.scope(), &ids).await?;
    Ok(reply::ok())
}
