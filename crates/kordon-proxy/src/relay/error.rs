//! Why a relay or an HTTP exchange failed.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading from or writing to the client failed (reset, broken pipe, closed mid-body).
    #[error("client connection: {0}")]
    Client(#[source] io::Error),
    /// Reading from or writing to the upstream connection failed.
    #[error("upstream connection: {0}")]
    Upstream(#[source] io::Error),
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
