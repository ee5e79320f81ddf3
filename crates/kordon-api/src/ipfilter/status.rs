//! `GET /api/ip_filter/status` (extension): how the rules are enforced right now — whether the
//! kernel (nftables) enforces them or only kordon's own listeners do, and why.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::auth::session;
use super::params::Params;
use super::reply::{self, IpFilterResult};
use crate::AppState;

/// The ipfilter plane's account of itself, as a JSON object.
pub trait EnforcementReport: Send + Sync {
    fn report(&self) -> Value;
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/ip_filter/status", get(status).post(status))
}

async fn status(State(state): State<AppState>, params: Params) -> IpFilterResult {
    session(&state, &params).await?;
    let report = match &state.ipfilter.report {
        Some(report) => report.report(),
        None => json!({
            "kernel": {"active": false, "reason": "the ipfilter plane does not run in this process"},
        }),
    };
    Ok(reply::success_value(json!({ "enforcement": report })))
}
