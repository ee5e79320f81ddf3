//! Why a SOCKS5 message was refused, and which reply (if any) tells the client.

use super::reply::ReplyCode;
use crate::protocol::target::TargetError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Socks5Error {
    #[error("protocol version {0:#04x}, expected 0x05")]
    BadVersion(u8),
    #[error("username/password sub-negotiation version {0:#04x}, expected 0x01")]
    BadAuthVersion(u8),
    #[error("greeting offers no authentication method")]
    NoMethods,
    #[error("unknown command {0:#04x}")]
    UnknownCommand(u8),
    #[error("unknown address type {0:#04x}")]
    UnknownAddressType(u8),
    #[error("empty domain name")]
    EmptyDomain,
    #[error("invalid destination: {0}")]
    BadTarget(#[from] TargetError),
    #[error("UDP datagram shorter than its header")]
    TruncatedDatagram,
    #[error("UDP fragment {0} (fragmentation is not supported)")]
    Fragmented(u8),
}

impl Socks5Error {
    /// The reply code for a failed request, or `None` when the peer does not speak SOCKS5
    /// well enough to be answered and the connection is simply closed.
    pub fn reply_code(&self) -> Option<ReplyCode> {
        match self {
            Socks5Error::UnknownCommand(_) => Some(ReplyCode::CommandNotSupported),
            Socks5Error::UnknownAddressType(_) => Some(ReplyCode::AddressTypeNotSupported),
            Socks5Error::EmptyDomain | Socks5Error::BadTarget(_) => {
                Some(ReplyCode::HostUnreachable)
            }
            Socks5Error::BadVersion(_)
            | Socks5Error::BadAuthVersion(_)
            | Socks5Error::NoMethods
            | Socks5Error::TruncatedDatagram
            | Socks5Error::Fragmented(_) => None,
        }
    }
}
