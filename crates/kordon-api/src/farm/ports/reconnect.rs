//! IP rotation requests: `POST /api/devices/modem/reconnect {"id": [..]}` and the rotation
//! link `GET /api/devices/modem/reconnect?token=<key>&id=<id>` a customer opens in a browser.
//!
//! The link's `token` is either a panel user's API key (checked like the header, delegation
//! included) or the port's own link token, good for that port only.
//!
//! Rotation itself belongs to the `reconnect` service, which kordon does not have yet. Both
//! requests are authenticated and every id checked, then refused with 503: a client must not
//! believe an IP changed when it did not.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use kordon_model::coerce;

use crate::farm::auth::{
    caller_by_key, is_key_shaped, token_from_headers, Caller, MSG_BAD_TOKEN, MSG_NO_CREDENTIALS,
};
use crate::farm::body::Body;
use crate::farm::reply::{ApiError, ApiResult};
use crate::AppState;

pub const MSG_ROTATION_UNAVAILABLE: &str =
    "IP rotation is not available: the 'reconnect' service is not running.";

fn rotation_unavailable() -> ApiError {
    ApiError::Unavailable(MSG_ROTATION_UNAVAILABLE.to_string())
}

pub async fn reconnect_batch(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> ApiResult {
    let mut input = body.input();
    let ids = input.req_int_list("id");
    input.check()?;
    let ids = ids.unwrap_or_default();
    state
        .store
        .check_ports_visible(caller.scope(), &ids)
        .await?;
    Err(rotation_unavailable())
}

/// The query's `token` and `id` (the first of each).
fn link_params(query: Option<&str>) -> (Option<String>, Option<String>) {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    (first("token"), first("id"))
}

pub async fn reconnect_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let (token, id) = link_params(query.as_deref());
    let token = token
        .or_else(|| token_from_headers(&headers))
        .ok_or(ApiError::Unauthorized(MSG_NO_CREDENTIALS))?;
    let id = id
        .map(serde_json::Value::String)
        .as_ref()
        .and_then(coerce::int);
    match caller_by_key(&state, &token).await {
        Ok(caller) => {
            let id = id.ok_or_else(|| ApiError::field("id", coerce::MSG_INT))?;
            state
                .store
                .check_ports_visible(caller.scope(), &[id])
                .await?;
        }
        Err(ApiError::Unauthorized(_)) => {
            // Not a user's key: it must be this port's own link token. Without a readable id
            // there is no port to check it against, so the token is as good as wrong.
            let valid = match id {
                Some(id) if is_key_shaped(&token) => {
                    state.store.is_port_link_token(id, &token).await?
                }
                _ => false,
            };
            if !valid {
                return Err(ApiError::Unauthorized(MSG_BAD_TOKEN));
            }
        }
        Err(other) => return Err(other),
    }
    Err(rotation_unavailable())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_link_params() {
        assert_eq!(
            link_params(Some("token=abc&id=7&id=8")),
            (Some("abc".into()), Some("7".into()))
        );
        assert_eq!(link_params(Some("token=&x=1")), (None, None));
        assert_eq!(link_params(None), (None, None));
    }
}
