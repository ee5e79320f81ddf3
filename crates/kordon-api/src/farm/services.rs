//! `GET /api/devices/services/status`, `POST /api/devices/services/stop|start`.
//!
//! The services are the supervisor's (`kordon_supervisor`). Status always lists the
//! document's names, each `true` only when a plane has registered it and it is running, plus
//! every other registered service. Stopping or starting a document name that no plane of
//! this build registers is refused with 503 rather than answered with a fake `ok`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use kordon_supervisor::SupervisorError;
use serde_json::{Map, Value};

use super::auth::Caller;
use super::body::Body;
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

/// The services the document names, in its order.
pub const DOCUMENTED_SERVICES: &[&str] = &[
    "normal",
    "osfp",
    "reconnect",
    "scheduler",
    "high",
    "proxy",
    "rabbitmq",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/devices/services/status", get(status))
        .route("/api/devices/services/stop", post(stop))
        .route("/api/devices/services/start", post(start))
}

async fn status(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    let mut services = Map::new();
    for name in DOCUMENTED_SERVICES {
        services.insert((*name).to_string(), Value::Bool(false));
    }
    for service in state.supervisor.status().await {
        services.insert(service.name, Value::Bool(service.running));
    }
    Ok(reply::json(Value::Object(services)))
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Start,
    Stop,
}

/// The `name` of a start/stop request, checked against the registered services.
async fn service_name(state: &AppState, body: Body) -> ApiResult<String> {
    let mut input = body.input();
    let name = input.req_str("name").map(|n| n.trim().to_string());
    input.check()?;
    let Some(name) = name else {
        return Err(ApiError::Internal("checked field missing".into()));
    };
    if state.supervisor.is_registered(&name).await {
        return Ok(name);
    }
    if DOCUMENTED_SERVICES.contains(&name.as_str()) {
        return Err(ApiError::Unavailable(format!(
            "service '{name}' is not built in this version of kordon"
        )));
    }
    Err(unknown_service(state, &name).await)
}

async fn unknown_service(state: &AppState, name: &str) -> ApiError {
    let mut known: Vec<String> = DOCUMENTED_SERVICES.iter().map(|n| n.to_string()).collect();
    for service in state.supervisor.status().await {
        if !known.contains(&service.name) {
            known.push(service.name);
        }
    }
    ApiError::field(
        "name",
        format!(
            "Unknown service \"{name}\"; services: {}.",
            known.join(", ")
        ),
    )
}

async fn act(state: &AppState, caller: &Caller, body: Body, action: Action) -> ApiResult {
    caller.require_superuser()?;
    let name = service_name(state, body).await?;
    let done = match action {
        Action::Start => state.supervisor.start(&name).await,
        Action::Stop => state.supervisor.stop(&name).await,
    };
    match done {
        Ok(()) => {
            tracing::info!(service = %name, ?action, by = %caller.user.username, "service control");
            Ok(reply::ok())
        }
        Err(SupervisorError::Unknown(name)) => Err(unknown_service(state, &name).await),
    }
}

async fn stop(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    act(&state, &caller, body, Action::Stop).await
}

async fn start(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    act(&state, &caller, body, Action::Start).await
}
