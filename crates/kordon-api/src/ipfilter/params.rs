//! The parameters of an ipfilter call: the query string and the body (JSON or form) merged
//! into one object, the body winning. The document puts `access_token` in the query of GET
//! calls and in the JSON body of POST calls; kordon takes either, on every call.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use kordon_model::coerce::Input;
use serde_json::{Map, Value};

use super::reply::IpFilterError;
use crate::farm::body;

/// The largest body of a single-rule call.
const MAX_BODY: usize = 1024 * 1024;

/// The merged parameters.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// The `access_token` parameter, if sent as text.
    pub fn token(&self) -> Option<&str> {
        self.0.get("access_token").and_then(Value::as_str)
    }

    pub fn input(&self) -> Input {
        Input::new(self.0.clone())
    }
}

/// The query string's pairs as a JSON object of strings.
pub fn query_object(query: Option<&str>) -> Result<Map<String, Value>, IpFilterError> {
    let Some(query) = query else {
        return Ok(Map::new());
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| IpFilterError::Malformed(format!("Query string parse error - {e}")))?;
    Ok(pairs
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect())
}

/// Merges a parsed body over the query parameters.
pub fn merge(mut query: Map<String, Value>, body: Value) -> Result<Params, IpFilterError> {
    match body {
        Value::Object(fields) => {
            query.extend(fields);
            Ok(Params(query))
        }
        _ => Err(IpFilterError::field(
            "non_field_errors",
            "Invalid data. Expected a JSON object.",
        )),
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = IpFilterError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let query = query_object(request.uri().query())?;
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes: Bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
            .await
            .map_err(|e| IpFilterError::Malformed(format!("Cannot read body - {e}")))?;
        let value = body::parse(content_type.as_deref(), &bytes)
            .map_err(|e| IpFilterError::Malformed(e.to_string()))?;
        merge(query, value)
    }
}
