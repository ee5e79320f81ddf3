//! `Authorization: Token <key>` authentication and the caller's scope.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use chrono_tz::Tz;
use kordon_store::users::User;
use kordon_store::Scope;

use super::reply::ApiError;
use crate::AppState;

pub const MSG_NO_CREDENTIALS: &str = "Authentication credentials were not provided.";
pub const MSG_BAD_TOKEN: &str = "Invalid token.";

/// The key from `Authorization: Token <key>` (or `Bearer <key>`), if the header has one.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        let key = key.trim();
        (!key.is_empty()).then(|| key.to_string())
    } else {
        None
    }
}

/// A syntactically possible key: 40 hex characters. Anything else is refused before the store.
pub fn is_key_shaped(key: &str) -> bool {
    key.len() == 40 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The authenticated panel user of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
}

impl Caller {
    pub fn id(&self) -> i64 {
        self.user.id
    }

    pub fn is_superuser(&self) -> bool {
        self.user.is_superuser
    }

    /// What this caller may see: everything for superusers, their delegated ports otherwise.
    pub fn scope(&self) -> Scope {
        if self.user.is_superuser {
            Scope::All
        } else {
            Scope::User(self.user.id)
        }
    }

    /// The caller's time zone, for dates in replies and filters.
    pub fn tz(&self) -> Tz {
        self.user
            .timezone
            .parse()
            .unwrap_or(chrono_tz::Europe::Moscow)
    }

    /// Refuses non-superusers with 403.
    pub fn require_superuser(&self) -> Result<(), ApiError> {
        if self.user.is_superuser {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// Resolves a key to its active user.
pub async fn caller_by_key(state: &AppState, key: &str) -> Result<Caller, ApiError> {
    if !is_key_shaped(key) {
        return Err(ApiError::Unauthorized(MSG_BAD_TOKEN));
    }
    match state.store.user_by_key(key).await? {
        Some(user) => Ok(Caller { user }),
        None => Err(ApiError::Unauthorized(MSG_BAD_TOKEN)),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key =
            token_from_headers(&parts.headers).ok_or(ApiError::Unauthorized(MSG_NO_CREDENTIALS))?;
        caller_by_key(state, &key).await
    }
}
