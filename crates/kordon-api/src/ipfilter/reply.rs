//! Replies of the ipfilter dialect. Every reply carries `errcode` (0 on success) and `errmsg`;
//! failures add `errors` (messages per field) where fields are at fault. The HTTP status says
//! the class of failure too. The codes are listed in `docs/ipfilter-api.md`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kordon_model::FieldErrors;
use kordon_store::StoreError;
use serde_json::{json, Map, Value};

use super::tokens::TokenRefusal;

/// Every way an ipfilter call can fail.
#[derive(Debug, thiserror::Error)]
pub enum IpFilterError {
    #[error("invalid parameters: {0}")]
    Invalid(FieldErrors),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("wrong username or password")]
    BadCredentials,
    #[error("user may not use the ipfilter API")]
    NoRight,
    #[error("access token: {0:?}")]
    Token(TokenRefusal),
    #[error("access_token is missing")]
    NoToken,
    #[error("the user of this access token may no longer use the API")]
    Revoked,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("duplicate: {0}")]
    Duplicate(FieldErrors),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type IpFilterResult<T = Response> = Result<T, IpFilterError>;

impl IpFilterError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        IpFilterError::Invalid(FieldErrors::single(field, message))
    }

    /// The dialect's error code, HTTP status and message.
    fn parts(&self) -> (i64, StatusCode, String) {
        match self {
            IpFilterError::Invalid(_) => (
                10001,
                StatusCode::BAD_REQUEST,
                "Invalid parameters.".into(),
            ),
            IpFilterError::Malformed(text) => (10001, StatusCode::BAD_REQUEST, text.clone()),
            IpFilterError::BadCredentials => (
                10002,
                StatusCode::UNAUTHORIZED,
                "Wrong username or password.".into(),
            ),
            IpFilterError::NoRight => (
                10006,
                StatusCode::FORBIDDEN,
                "This user may not use the ipfilter API.".into(),
            ),
            IpFilterError::NoToken => (
                10003,
                StatusCode::UNAUTHORIZED,
                "access_token is required; get one from POST /api/account/credentials/verify."
                    .into(),
            ),
            IpFilterError::Token(TokenRefusal::Malformed) => (
                10003,
                StatusCode::UNAUTHORIZED,
                "access_token is malformed: expected 32 hexadecimal characters.".into(),
            ),
            IpFilterError::Token(TokenRefusal::Unknown) => (
                10004,
                StatusCode::UNAUTHORIZED,
                "access_token is unknown; get one from POST /api/account/credentials/verify."
                    .into(),
            ),
            IpFilterError::Token(TokenRefusal::Expired(_)) => (
                10005,
                StatusCode::UNAUTHORIZED,
                "access_token has expired (30 s without use); get a new one from POST /api/account/credentials/verify."
                    .into(),
            ),
            IpFilterError::Revoked => (
                10004,
                StatusCode::UNAUTHORIZED,
                "access_token is no longer valid: its user is inactive, deleted or lost the right to the ipfilter API."
                    .into(),
            ),
            IpFilterError::NotFound(text) => (10007, StatusCode::NOT_FOUND, text.clone()),
            IpFilterError::Duplicate(_) => (
                10008,
                StatusCode::CONFLICT,
                "The rule duplicates a stored rule.".into(),
            ),
            IpFilterError::Unavailable(text) => {
                (10010, StatusCode::SERVICE_UNAVAILABLE, text.clone())
            }
            IpFilterError::Internal(_) => (
                10009,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error.".into(),
            ),
        }
    }
}

impl From<FieldErrors> for IpFilterError {
    fn from(errors: FieldErrors) -> Self {
        IpFilterError::Invalid(errors)
    }
}

impl From<StoreError> for IpFilterError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { id, .. } => {
                IpFilterError::NotFound(format!("No ip filter with id {id}."))
            }
            StoreError::Conflict { field, message } => {
                IpFilterError::Duplicate(FieldErrors::single(&field, message))
            }
            other => IpFilterError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for IpFilterError {
    fn into_response(self) -> Response {
        let (code, status, message) = self.parts();
        let mut body = json!({ "errcode": code, "errmsg": message });
        match &self {
            IpFilterError::Invalid(errors) | IpFilterError::Duplicate(errors) => {
                body["errors"] = json!(errors);
            }
            IpFilterError::Internal(text) => {
                tracing::error!(error = %text, "ipfilter request failed");
            }
            _ => {}
        }
        (status, Json(body)).into_response()
    }
}

/// A success reply: `fields` plus `errcode: 0`, `errmsg: "SUCCESS"`.
pub fn success(fields: Map<String, Value>) -> Response {
    let mut body = Map::with_capacity(fields.len() + 2);
    body.insert("errcode".into(), Value::from(0));
    body.insert("errmsg".into(), Value::from("SUCCESS"));
    body.extend(fields);
    Json(Value::Object(body)).into_response()
}

/// A success reply of one JSON object's members.
pub fn success_value(value: Value) -> Response {
    match value {
        Value::Object(fields) => success(fields),
        other => Json(other).into_response(),
    }
}
