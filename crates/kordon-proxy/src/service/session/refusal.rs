//! Why a session refused a request, and how each protocol says so.

use std::io;

use crate::egress::ResolveError;
use crate::guard::Forbidden;
use crate::protocol::http::refusal as http;
use crate::protocol::socks5::ReplyCode;
use crate::stats::RefusalKind;

#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("wrong or missing credentials")]
    Auth,
    #[error("client address not allowed by the profile")]
    ClientAddress,
    #[error("the profile is at its maxconn")]
    Maxconn,
    #[error("destination refused by the profile's site lists")]
    Site,
    #[error("destination port refused by the profile's targetport rule")]
    TargetPort,
    #[error("destination refused: {0}")]
    Forbidden(Forbidden),
    #[error("the port is inactive")]
    PortInactive,
    #[error("the port did not come up in time")]
    EgressDown,
    #[error("cannot resolve: {0}")]
    Resolve(ResolveError),
    #[error("cannot connect: {0}")]
    Connect(io::Error),
}

impl Refusal {
    pub fn kind(&self) -> RefusalKind {
        match self {
            Refusal::Auth => RefusalKind::Auth,
            Refusal::ClientAddress => RefusalKind::ClientAddress,
            Refusal::Maxconn => RefusalKind::Maxconn,
            Refusal::Site => RefusalKind::Site,
            Refusal::TargetPort => RefusalKind::TargetPort,
            Refusal::Forbidden(_) => RefusalKind::Forbidden,
            Refusal::PortInactive | Refusal::EgressDown => RefusalKind::Egress,
            Refusal::Resolve(_) => RefusalKind::Resolve,
            Refusal::Connect(_) => RefusalKind::Connect,
        }
    }

    pub fn socks5_reply(&self) -> ReplyCode {
        match self {
            Refusal::Auth
            | Refusal::ClientAddress
            | Refusal::Site
            | Refusal::TargetPort
            | Refusal::Forbidden(_) => ReplyCode::NotAllowedByRuleset,
            Refusal::Maxconn => ReplyCode::GeneralFailure,
            Refusal::PortInactive | Refusal::EgressDown => ReplyCode::NetworkUnreachable,
            Refusal::Resolve(_) => ReplyCode::HostUnreachable,
            Refusal::Connect(error) => match error.kind() {
                io::ErrorKind::ConnectionRefused => ReplyCode::ConnectionRefused,
                io::ErrorKind::NetworkUnreachable => ReplyCode::NetworkUnreachable,
                io::ErrorKind::TimedOut => ReplyCode::TtlExpired,
                _ => ReplyCode::HostUnreachable,
            },
        }
    }

    pub fn http_response(&self) -> &'static [u8] {
        match self {
            Refusal::Auth => http::proxy_auth_required(),
            Refusal::ClientAddress
            | Refusal::Site
            | Refusal::TargetPort
            | Refusal::Forbidden(_) => http::forbidden(),
            Refusal::Maxconn | Refusal::PortInactive => http::service_unavailable(),
            Refusal::EgressDown => http::gateway_timeout(),
            Refusal::Resolve(ResolveError::Timeout(_)) => http::gateway_timeout(),
            Refusal::Resolve(_) => http::bad_gateway(),
            Refusal::Connect(error) if error.kind() == io::ErrorKind::TimedOut => {
                http::gateway_timeout()
            }
            Refusal::Connect(_) => http::bad_gateway(),
        }
    }
}
