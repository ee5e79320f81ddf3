//! Why an HTTP proxy request was refused.

use crate::protocol::target::TargetError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("request head larger than {limit} bytes")]
    HeadTooLarge { limit: usize },
    #[error("more than {limit} header fields")]
    TooManyHeaders { limit: usize },
    #[error("malformed request head: {0}")]
    Malformed(&'static str),
    #[error("origin-form target {0:?} sent to a proxy")]
    NotProxyForm(String),
    #[error("scheme of {0:?} is not http")]
    UnsupportedScheme(String),
    #[error("user information in the request target")]
    UserInfoInTarget,
    #[error("invalid target: {0}")]
    BadTarget(#[from] TargetError),
    #[error("Proxy-Authorization sent more than once")]
    DuplicateAuthorization,
    #[error("Proxy-Authorization scheme is not Basic")]
    NotBasic,
    #[error("Proxy-Authorization credentials are not valid base64")]
    BadBase64,
    #[error("Proxy-Authorization credentials have no colon")]
    NoColon,
    #[error("Proxy-Authorization credentials are not UTF-8")]
    NotUtf8,
    #[error("ambiguous body framing: {0}")]
    AmbiguousFraming(&'static str),
}
