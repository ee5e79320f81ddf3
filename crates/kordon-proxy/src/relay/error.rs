//! Why a relay or an HTTP exchange failed.

use std::io;

use super::http_exchange::{ChunkError, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading from or writing to the client failed (reset, broken pipe, closed mid-body).
    #[error("client connection: {0}")]
    Client(#[source] io::Error),
    /// Reading from or writing to the upstream connection failed.
    #[error("upstream connection: {0}")]
    Upstream(#[source] io::Error),
    /// The upstream connection ended before a complete response head. On a reused upstream
    /// connection this is the race with the origin's keep-alive timeout: nothing reached the
    /// client, and an idempotent request may be retried on a new connection.
    #[error("upstream closed the connection before sending a response")]
    UpstreamClosed,
    /// The upstream response cannot be forwarded safely (answer 502 if nothing was sent yet).
    #[error("malformed upstream response: {0}")]
    BadResponse(#[from] ResponseError),
    /// The client's chunked request body broke the chunked syntax.
    #[error("malformed chunked request body: {0}")]
    BadRequestBody(#[source] ChunkError),
}

/// Which connection an IO error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Upstream,
}

impl Side {
    pub(crate) fn error(self, error: io::Error) -> RelayError {
        match self {
            Side::Client => RelayError::Client(error),
            Side::Upstream => RelayError::Upstream(error),
        }
    }
}
