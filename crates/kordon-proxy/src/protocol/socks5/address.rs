//! The SOCKS5 address field (ATYP, address, port), shared by requests, replies and UDP.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::error::Socks5Error;
use crate::protocol::progress::Cursor;
use crate::protocol::target::{Host, Target};

pub const ATYP_IPV4: u8 = 0x01;
pub const ATYP_DOMAIN: u8 = 0x03;
pub const ATYP_IPV6: u8 = 0x04;

/// An address as sent on the wire. Port 0 is kept: UDP ASSOCIATE and BIND use `0.0.0.0:0`
/// for "not known yet"; [`Address::target`] is the check for a real destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub host: Host,
    pub port: u16,
}

impl Address {
    /// The destination to connect to; port 0 is refused.
    pub fn target(&self) -> Result<Target, Socks5Error> {
        Ok(Target::new(self.host.clone(), self.port)?)
    }

    /// The client's address when it is an IP literal (UDP ASSOCIATE's expected source).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.host.ip().map(|ip| SocketAddr::new(ip, self.port))
    }
}

/// How a domain that is no valid destination is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domains {
    /// Refused: the address is where to connect.
    Destination,
    /// Read as the unspecified address: the field is only a hint (the client's own address
    /// in UDP ASSOCIATE, which some clients fill with a name such as "0").
    Hint,
}

/// Reads ATYP, the address and the port at the cursor. `Ok(None)` means more bytes are needed.
pub(crate) fn read_address(
    c: &mut Cursor<'_>,
    domains: Domains,
) -> Result<Option<Address>, Socks5Error> {
    let Some(atyp) = c.byte() else {
        return Ok(None);
    };
    let host = match atyp {
        ATYP_IPV4 => match c.array::<4>() {
            Some(octets) => Host::Ipv4(Ipv4Addr::from(octets)),
            None => return Ok(None),
        },
        ATYP_IPV6 => match c.array::<16>() {
            Some(octets) => Host::from_ip(Ipv6Addr::from(octets).into()),
            None => return Ok(None),
        },
        ATYP_DOMAIN => {
            let Some(len) = c.byte() else {
                return Ok(None);
            };
            if len == 0 && domains == Domains::Destination {
                return Err(Socks5Error::EmptyDomain);
            }
            match c.take(usize::from(len)) {
                Some(name) => match (Host::parse_bytes(name), domains) {
                    (Ok(host), _) => host,
                    (Err(_), Domains::Hint) => Host::Ipv4(Ipv4Addr::UNSPECIFIED),
                    (Err(error), Domains::Destination) => return Err(error.into()),
                },
                None => return Ok(None),
            }
        }
        other => return Err(Socks5Error::UnknownAddressType(other)),
    };
    match c.u16_be() {
        Some(port) => Ok(Some(Address { host, port })),
        None => Ok(None),
    }
}

/// Longest encoding of an IP address field: ATYP, 16 octets, port.
pub const MAX_IP_ADDRESS_LEN: usize = 1 + 16 + 2;

/// Writes ATYP, address and port of a socket address into `out`, returning the length used.
pub(crate) fn write_socket_addr(addr: SocketAddr, out: &mut [u8; MAX_IP_ADDRESS_LEN]) -> usize {
    let port = addr.port().to_be_bytes();
    match addr {
        SocketAddr::V4(v4) => {
            out[0] = ATYP_IPV4;
            out[1..5].copy_from_slice(&v4.ip().octets());
            out[5..7].copy_from_slice(&port);
            7
        }
        SocketAddr::V6(v6) => {
            out[0] = ATYP_IPV6;
            out[1..17].copy_from_slice(&v6.ip().octets());
            out[17..19].copy_from_slice(&port);
            19
        }
    }
}
