//! `GET /api/proxy/stats` (extension): the proxy plane's counters as last flushed to the store,
//! for the profiles and logins the caller sees. `?id=<profile id>` narrows the reply to one
//! profile and the login it uses.
//!
//! Decisions:
//! - Every visible profile and login is listed, with zeros and `updated_at: null` until the
//!   plane first flushes it, so a new profile shows up at once.
//! - `refusals` holds every reason the plane counts, zeros included (a stable set of keys).
//! - `?id=` is a filter: an id the caller does not see gives empty lists, like a missing one.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::Router;
use chrono_tz::Tz;
use kordon_model::{coerce, rutime};
use kordon_store::proxy_counters::{ListedLoginCounters, ListedProxyCounters, REFUSAL_REASONS};
use serde::Serialize;
use serde_json::Value;

use super::auth::Caller;
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/proxy/stats", get(stats))
}

#[derive(Serialize)]
struct Reply<'a> {
    proxies: Vec<ProxyItem<'a>>,
    logins: Vec<LoginItem<'a>>,
}

#[derive(Serialize)]
struct ProxyItem<'a> {
    id: i64,
    port: i64,
    bytes_in: i64,
    bytes_out: i64,
    connections: i64,
    open: i64,
    refusals: BTreeMap<&'a str, i64>,
    updated_at: Option<String>,
}

#[derive(Serialize)]
struct LoginItem<'a> {
    id: i64,
    login: &'a str,
    bytes_in: i64,
    bytes_out: i64,
    connections: i64,
    updated_at: Option<String>,
}

/// A flush time in the caller's zone; 0 means never flushed.
fn flushed_at(unix_seconds: i64, tz: Tz) -> Option<String> {
    (unix_seconds != 0).then(|| rutime::format(unix_seconds, tz))
}

/// Every known reason at 0, then the stored counts (a reason a newer plane counts and this
/// list does not know yet still shows).
fn all_refusals(stored: &BTreeMap<String, i64>) -> BTreeMap<&str, i64> {
    let mut refusals: BTreeMap<&str, i64> =
        REFUSAL_REASONS.iter().map(|reason| (*reason, 0)).collect();
    for (reason, count) in stored {
        refusals.insert(reason.as_str(), *count);
    }
    refusals
}

impl<'a> ProxyItem<'a> {
    fn new(listed: &'a ListedProxyCounters, tz: Tz) -> Self {
        let c = &listed.counters;
        Self {
            id: c.proxy_id,
            port: listed.listen_port,
            bytes_in: c.bytes_in,
            bytes_out: c.bytes_out,
            connections: c.connections,
            open: c.open,
            refusals: all_refusals(&c.refusals),
            updated_at: flushed_at(c.updated_at, tz),
        }
    }
}

impl<'a> LoginItem<'a> {
    fn new(listed: &'a ListedLoginCounters, tz: Tz) -> Self {
        let c = &listed.counters;
        Self {
            id: c.login_id,
            login: &listed.login,
            bytes_in: c.bytes_in,
            bytes_out: c.bytes_out,
            connections: c.connections,
            updated_at: flushed_at(c.updated_at, tz),
        }
    }
}

/// The query's `id` (the first one; empty means absent, as list filters take it).
fn proxy_filter(query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::Malformed(format!("Query parse error - {e}")))?;
    let Some((_, raw)) = pairs.iter().find(|(key, _)| key == "id") else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    coerce::int(&Value::String(raw.to_string()))
        .map(Some)
        .ok_or_else(|| ApiError::field("id", coerce::MSG_INT))
}

async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let proxy = proxy_filter(query.as_deref())?;
    let listing = state
        .store
        .proxy_counter_listing(caller.scope(), proxy)
        .await?;
    let tz = caller.tz();
    Ok(reply::serialized(Reply {
        proxies: listing
            .proxies
            .iter()
            .map(|p| ProxyItem::new(p, tz))
            .collect(),
        logins: listing
            .logins
            .iter()
            .map(|l| LoginItem::new(l, tz))
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_filter_reads_id() {
        assert_eq!(proxy_filter(None).unwrap(), None);
        assert_eq!(proxy_filter(Some("id=")).unwrap(), None);
        assert_eq!(proxy_filter(Some("x=1&id=%207")).unwrap(), Some(7));
        assert!(matches!(
            proxy_filter(Some("id=seven")),
            Err(ApiError::Invalid(_))
        ));
    }

    #[test]
    fn refusals_list_every_reason() {
        let stored = BTreeMap::from([("site".to_string(), 4), ("novel".to_string(), 1)]);
        let refusals = all_refusals(&stored);
        assert_eq!(refusals.len(), REFUSAL_REASONS.len() + 1);
        assert_eq!(refusals["site"], 4);
        assert_eq!(refusals["auth"], 0);
        assert_eq!(refusals["novel"], 1);
    }
}
