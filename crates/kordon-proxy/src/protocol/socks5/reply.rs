//! The server's reply to a request: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::address::{write_socket_addr, MAX_IP_ADDRESS_LEN};
use super::VERSION;

/// Every REP code of RFC 1928 §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyCode {
    Succeeded,
    GeneralFailure,
    NotAllowedByRuleset,
    NetworkUnreachable,
    HostUnreachable,
    ConnectionRefused,
    TtlExpired,
    CommandNotSupported,
    AddressTypeNotSupported,
}

impl ReplyCode {
    pub fn to_byte(self) -> u8 {
        match self {
            ReplyCode::Succeeded => 0x00,
            ReplyCode::GeneralFailure => 0x01,
            ReplyCode::NotAllowedByRuleset => 0x02,
            ReplyCode::NetworkUnreachable => 0x03,
            ReplyCode::HostUnreachable => 0x04,
            ReplyCode::ConnectionRefused => 0x05,
            ReplyCode::TtlExpired => 0x06,
            ReplyCode::CommandNotSupported => 0x07,
            ReplyCode::AddressTypeNotSupported => 0x08,
        }
    }

    pub fn from_byte(b: u8) -> Option<ReplyCode> {
        Some(match b {
            0x00 => ReplyCode::Succeeded,
            0x01 => ReplyCode::GeneralFailure,
            0x02 => ReplyCode::NotAllowedByRuleset,
            0x03 => ReplyCode::NetworkUnreachable,
            0x04 => ReplyCode::HostUnreachable,
            0x05 => ReplyCode::ConnectionRefused,
            0x06 => ReplyCode::TtlExpired,
            0x07 => ReplyCode::CommandNotSupported,
            0x08 => ReplyCode::AddressTypeNotSupported,
            _ => return None,
        })
    }
}

/// An encoded reply, on the stack (at most 22 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedReply {
    bytes: [u8; 3 + MAX_IP_ADDRESS_LEN],
    len: usize,
}

impl EncodedReply {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A reply with the address the server bound (the egress socket's local address for
/// CONNECT, the relay's address for UDP ASSOCIATE).
pub fn encode_reply(code: ReplyCode, bound: SocketAddr) -> EncodedReply {
    let mut bytes = [0u8; 3 + MAX_IP_ADDRESS_LEN];
    bytes[0] = VERSION;
    bytes[1] = code.to_byte();
    let mut addr = [0u8; MAX_IP_ADDRESS_LEN];
    let n = write_socket_addr(bound, &mut addr);
    bytes[3..3 + n].copy_from_slice(&addr[..n]);
    EncodedReply { bytes, len: 3 + n }
}

/// A failure reply; the bound address carries no meaning so it is `0.0.0.0:0`.
pub fn encode_failure(code: ReplyCode) -> EncodedReply {
    encode_reply(
        code,
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for b in 0..=8u8 {
            let code = ReplyCode::from_byte(b).unwrap();
            assert_eq!(code.to_byte(), b);
        }
        assert_eq!(ReplyCode::from_byte(9), None);
    }

    #[test]
    fn encodes_ipv4_and_ipv6_bound_addresses() {
        let r = encode_reply(ReplyCode::Succeeded, "10.1.2.3:4567".parse().unwrap());
        assert_eq!(r.as_bytes(), &[5, 0, 0, 1, 10, 1, 2, 3, 0x11, 0xD7]);
        let r = encode_reply(ReplyCode::Succeeded, "[2001:db8::2]:80".parse().unwrap());
        let mut want = vec![5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8];
        want.extend([0; 11]);
        want.extend([2, 0, 80]);
        assert_eq!(r.as_bytes(), &want[..]);
        assert_eq!(
            encode_failure(ReplyCode::NotAllowedByRuleset).as_bytes(),
            &[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]
        );
    }
}
