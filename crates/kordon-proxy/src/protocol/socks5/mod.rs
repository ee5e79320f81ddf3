//! SOCKS version 5 (RFC 1928) with username/password authentication (RFC 1929).
//!
//! A client connection goes through [`greeting`] → method selection reply → optionally
//! [`auth`] → [`request`] → [`reply`]; UDP ASSOCIATE then carries datagrams with the [`udp`]
//! header.

pub mod address;
pub mod auth;
pub mod error;
pub mod greeting;
pub mod reply;
pub mod request;
pub mod udp;

pub use address::Address;
pub use auth::{parse_auth, AuthStatus, UserPass};
pub use error::Socks5Error;
pub use greeting::{encode_method_selection, parse_greeting, Greeting, Method};
pub use reply::{encode_failure, encode_reply, EncodedReply, ReplyCode};
pub use request::{parse_request, Command, Request};
pub use udp::{encode_udp_header, parse_udp_datagram, UdpDatagram};

/// The protocol version byte that starts every SOCKS5 message.
pub const VERSION: u8 = 0x05;
