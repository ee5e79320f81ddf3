//! IP rotation requests: `POST /api/devices/modem/reconnect {"id": [..]}` and the rotation
//! link `GET /api/devices/modem/reconnect?token=<key>&id=<id>` a customer opens in a browser.
//!
//! The link's `token` is either a panel user's API key (checked like the header, delegation
//! included) or the port's own link token, good for that port only.
//!
//! Both requests are authenticated and every id checked (404 for an id the caller cannot see),
//! then handed to the rotation service ([`crate::rotation::PortRotation`]). The reply is `{"result": "ok"}` when
//! every port's rotation started; a port that may not rotate now (already rotating, inside
//! `reconnect_min`, inactive) is named in an error on `id` with the reason, while the other
//! ports' rotations go ahead. Without a running `reconnect` service the reply is 503: a client
//! must not believe an IP changed when it did not.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use kordon_model::{coerce, FieldErrors};

use crate::farm::auth::{
    caller_by_key, is_key_shaped, token_from_headers, Caller, MSG_BAD_TOKEN, MSG_NO_CREDENTIALS,
};
use crate::farm::body::Body;
use crate::farm::reply::{self, ApiError, ApiResult};
use crate::rotation::RotationAnswers;
use crate::AppState;

pub const MSG_ROTATION_UNAVAILABLE: &str =
    "IP rotation is not available: the 'reconnect' service is not running.";

fn rotation_unavailable() -> ApiError {
    ApiError::Unavailable(MSG_ROTATION_UNAVAILABLE.to_string())
}

/// Hands checked ids to the rotation service and shapes its answer.
async fn rotate(state: &AppState, ids: &[i64]) -> ApiResult {
    let Some(rotation) = state.rotation.as_deref() else {
        return Err(rotation_unavailable());
    };
    let answers = rotation
        .request(ids)
        .await
        .map_err(|unavailable| ApiError::Unavailable(unavailable.0))?;
    reply_for(answers)
}

/// `ok` when every rotation started, else an error on `id` naming each refused port.
fn reply_for(answers: RotationAnswers) -> ApiResult {
    let mut errors = FieldErrors::new();
    for (id, verdict) in answers {
        if let Err(reason) = verdict {
            errors.add("id", format!("Port {id}: {reason}."));
        }
    }
    if errors.is_empty() {
        Ok(reply::ok())
    } else {
        Err(ApiError::Invalid(errors))
    }
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
    rotate(&state, &ids).await
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
    let Some(id) = id else {
        return Err(ApiError::field("id", coerce::MSG_INT));
    };
    rotate(&state, &[id]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_named_per_port_on_id() {
        assert!(reply_for(vec![(1, Ok(())), (2, Ok(()))]).is_ok());
        let Err(ApiError::Invalid(errors)) = reply_for(vec![
            (1, Ok(())),
            (2, Err("a rotation of this port is already running".into())),
            (3, Err("the port is inactive".into())),
        ]) else {
            panic!("refusals must be field errors");
        };
        let fields: Vec<(&str, &[String])> = errors.fields().collect();
        assert_eq!(
            fields,
            vec![(
                "id",
                &[
                    "Port 2: a rotation of this port is already running.".to_string(),
                    "Port 3: the port is inactive.".to_string()
                ][..]
            )]
        );
    }

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
