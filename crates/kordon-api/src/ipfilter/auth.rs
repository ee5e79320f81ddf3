//! `POST /api/account/credentials/verify` and the access-token check of every other call.

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::json;

use super::params::Params;
use super::reply::{self, IpFilterError, IpFilterResult};
use super::tokens::TokenRefusal;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/account/credentials/verify", post(verify))
}

/// The panel user a call acts for.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub user_id: i64,
}

/// Checks the call's `access_token` and extends it. The user must still be active and allowed
/// (a deactivated or deleted user's tokens stop working at once).
pub async fn session(state: &AppState, params: &Params) -> IpFilterResult<Session> {
    let token = match params.0.get("access_token") {
        None | Some(serde_json::Value::Null) => return Err(IpFilterError::NoToken),
        Some(value) => value
            .as_str()
            .ok_or(IpFilterError::Token(TokenRefusal::Malformed))?,
    };
    let tokens = &state.ipfilter.tokens;
    let (_, user_id) = tokens.redeem(token).map_err(IpFilterError::Token)?;
    if !state.store.ipfilter_allowed(user_id).await? {
        tokens.revoke_user(user_id);
        return Err(IpFilterError::Revoked);
    }
    Ok(Session { user_id })
}

/// Credentials (`username`, `password`) → `{"access_token", "expires"}`.
async fn verify(State(state): State<AppState>, params: Params) -> IpFilterResult {
    let mut input = params.input();
    let username = input.req_str("username");
    let password = input.req_str("password");
    input.check()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(IpFilterError::Internal("checked fields missing".into()));
    };
    let Some(user) = state.store.check_credentials(&username, &password).await? else {
        tracing::warn!(user = %username, "ipfilter login refused");
        return Err(IpFilterError::BadCredentials);
    };
    if !state.store.ipfilter_allowed(user.id).await? {
        tracing::warn!(user = %username, "ipfilter login without the right");
        return Err(IpFilterError::NoRight);
    }
    let (token, expires) = state.ipfilter.tokens.issue(user.id);
    tracing::info!(user = %username, "ipfilter login");
    Ok(reply::success_value(
        json!({ "access_token": token, "expires": expires }),
    ))
}
