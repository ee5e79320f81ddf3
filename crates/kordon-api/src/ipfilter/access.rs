//! `POST /api/users/ipfilter_access` (extension, farm key of a superuser):
//! `{"id": [user ids], "ipfilter_access": true|false}` gives or takes the right to the
//! ipfilter API; `GET` lists the users who have it. Superusers always have it.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::farm::auth::Caller;
use crate::farm::body::Body;
use crate::farm::reply::{self, ApiError, ApiResult};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/users/ipfilter_access", get(list).post(set))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult {
    caller.require_superuser()?;
    let ids = state.store.ipfilter_access_users(&[]).await?;
    Ok(reply::json(json!({ "id": ids })))
}

async fn set(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    caller.require_superuser()?;
    let mut input = body.input();
    let mut ids = input.req_int_list("id").unwrap_or_default();
    let allowed = input.req_bool("ipfilter_access");
    input.check()?;
    let allowed = allowed.ok_or_else(|| ApiError::Internal("checked field missing".into()))?;
    ids.sort_unstable();
    ids.dedup();
    state.store.set_ipfilter_access(&ids, allowed).await?;
    if !allowed {
        for id in &ids {
            state.ipfilter.tokens.revoke_user(*id);
        }
    }
    tracing::info!(?ids, allowed, by = %caller.user.username, "ipfilter access changed");
    Ok(reply::ok())
}
