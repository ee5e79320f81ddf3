//! Replies and errors in the farm dialect's shapes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kordon_model::FieldErrors;
use kordon_store::StoreError;
use serde::Serialize;
use serde_json::{json, Value};

/// Every way a farm handler can fail, each with the status and body the dialect uses.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input: HTTP 200 `{"errors": {...}}` (clients read `errors.<field>[0]`).
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    /// The body is not JSON or a form.
    #[error("malformed body: {0}")]
    Malformed(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden")]
    Forbidden,
    /// A part of kordon the request needs is not running (or not built yet).
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(FieldErrors::single(field, message))
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Invalid(errors)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { what, id } => {
                ApiError::NotFound(format!("No {what} with id {id}."))
            }
            StoreError::Conflict { field, message } => ApiError::field(&field, message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

fn detail(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({ "detail": text.into() }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Invalid(errors) => {
                (StatusCode::OK, Json(json!({ "errors": errors }))).into_response()
            }
            ApiError::Malformed(text) => detail(StatusCode::BAD_REQUEST, text),
            ApiError::NotFound(text) => detail(StatusCode::NOT_FOUND, text),
            ApiError::Unauthorized(text) => detail(StatusCode::UNAUTHORIZED, text),
            ApiError::Forbidden => detail(
                StatusCode::FORBIDDEN,
                "You do not have permission to perform this action.",
            ),
            ApiError::Unavailable(text) => detail(StatusCode::SERVICE_UNAVAILABLE, text),
            ApiError::Internal(text) => {
                tracing::error!(error = %text, "request failed");
                detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
            }
        }
    }
}

/// `{"result": "ok"}`, the reply of batch actions.
pub fn ok() -> Response {
    Json(json!({ "result": "ok" })).into_response()
}

/// A JSON reply with status 200.
pub fn json(value: Value) -> Response {
    Json(value).into_response()
}

/// A JSON reply with status 200 written straight from `value`, without a [`Value`] tree in
/// between (worth it for long lists).
pub fn serialized<T: Serialize>(value: T) -> Response {
    Json(value).into_response()
}
