//! `POST /api/auth/login/` → `{"key"}`; `POST /api/auth/logout/` (extension) revokes the key.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::json;

use super::auth::{token_from_headers, Caller};
use super::body::Body;
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
}

async fn login(State(state): State<AppState>, body: Body) -> ApiResult {
    let mut input = body.input();
    let username = input.req_str("username");
    let password = input.req_str("password");
    input.check()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Internal("checked fields missing".into()));
    };
    match state.store.check_credentials(&username, &password).await? {
        Some(user) => {
            let key = state.store.issue_key(user.id).await?;
            tracing::info!(user = %user.username, "panel login");
            Ok(reply::json(json!({ "key": key })))
        }
        None => {
            tracing::warn!(user = %username, "panel login refused");
            Err(ApiError::field(
                "non_field_errors",
                "Unable to log in with provided credentials.",
            ))
        }
    }
}

async fn logout(
    _caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(key) = token_from_headers(&headers) {
        state.store.revoke_key(&key).await?;
    }
    Ok(reply::ok())
}
