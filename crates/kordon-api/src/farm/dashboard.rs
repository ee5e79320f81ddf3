//! `GET /api/dashboard/cpu`: the machine's CPU load (percent), memory (MiB) and uptime, as
//! sampled by `kordon_host::SystemSampler`. Any authenticated user may read it.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use kordon_model::rutime;
use serde_json::json;

use super::auth::Caller;
use super::reply::{self, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/dashboard/cpu", get(cpu))
}

async fn cpu(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    let stats = state.system.sample().await;
    let uptime = i64::try_from(stats.uptime_seconds).unwrap_or(i64::MAX);
    Ok(reply::json(json!({
        "cpu": stats.cpu_percent,
        "memory": {
            "total": stats.memory_total_mib,
            "used": stats.memory_used_mib,
        },
        "uptime": {
            "seconds": stats.uptime_seconds,
            "humanize": rutime::humanize_duration(uptime),
        },
    })))
}
