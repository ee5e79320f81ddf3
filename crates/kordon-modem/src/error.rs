//! What can go wrong talking to a modem, told apart the way monitoring needs: a modem that
//! is not there, one that does not answer in time, one that refuses, one that talks nonsense.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// No connection could be made (interface down, modem unplugged, nothing listening).
    #[error("modem unreachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The modem accepted the request but did not answer within the configured bound.
    #[error("modem API at {url} did not answer within {after:?}")]
    Timeout { url: String, after: Duration },
    /// The firmware answered with an error of its own (HiLink `<error><code>`, goform
    /// `"result":"failure"`).
    #[error("modem refused {endpoint}: firmware error {code}{}", message_suffix(.message))]
    Protocol {
        endpoint: String,
        code: String,
        message: String,
    },
    /// The reply could not be understood (HTTP status, malformed XML/JSON, missing field).
    #[error("bad reply from {endpoint}: {reason}")]
    BadReply { endpoint: String, reason: String },
    /// The HTTP client could not be set up (e.g. binding to the interface is not allowed).
    #[error("modem HTTP client could not be built: {0}")]
    Client(String),
    /// The port's model is not one kordon has a driver for.
    #[error("no driver for modem model {0}")]
    UnknownModel(String),
}

fn message_suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    }
}

impl DriverError {
    /// The firmware code when the modem itself refused the request.
    pub fn firmware_code(&self) -> Option<&str> {
        match self {
            DriverError::Protocol { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the modem could not be reached at all (as opposed to answering badly).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DriverError::Unreachable { .. })
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, DriverError::Timeout { .. })
    }
}
