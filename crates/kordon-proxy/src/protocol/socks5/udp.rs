//! The header of UDP ASSOCIATE datagrams: RSV (2), FRAG, ATYP, DST.ADDR, DST.PORT, DATA.

use std::net::SocketAddr;

use super::address::{read_address, write_socket_addr, Address, Domains, MAX_IP_ADDRESS_LEN};
use super::error::Socks5Error;
use crate::protocol::progress::Cursor;

/// A client datagram: where it goes and its payload, borrowed from the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpDatagram<'b> {
    pub destination: Address,
    pub data: &'b [u8],
}

/// Parses one whole datagram (UDP never delivers half of one, so a short one is an error).
/// Fragments are refused: RFC 1928 §7 lets a relay without reassembly drop them.
pub fn parse_udp_datagram(buf: &[u8]) -> Result<UdpDatagram<'_>, Socks5Error> {
    let mut c = Cursor::new(buf);
    if c.take(2).is_none() {
        return Err(Socks5Error::TruncatedDatagram);
    }
    let frag = c.byte().ok_or(Socks5Error::TruncatedDatagram)?;
    if frag != 0 {
        return Err(Socks5Error::Fragmented(frag));
    }
    let destination =
        read_address(&mut c, Domains::Destination)?.ok_or(Socks5Error::TruncatedDatagram)?;
    let start = c.position();
    let data = c.take(c.remaining()).unwrap_or_default();
    debug_assert_eq!(start + data.len(), buf.len());
    Ok(UdpDatagram { destination, data })
}

/// Longest header [`encode_udp_header`] writes.
pub const MAX_UDP_HEADER_LEN: usize = 3 + MAX_IP_ADDRESS_LEN;

/// Appends the header of a datagram coming back from `source` to `out`; the caller appends
/// the payload after it.
pub fn encode_udp_header(source: SocketAddr, out: &mut Vec<u8>) {
    let mut addr = [0u8; MAX_IP_ADDRESS_LEN];
    let n = write_socket_addr(source, &mut addr);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&addr[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::target::Host;

    #[test]
    fn parses_domain_datagram() {
        let mut msg = vec![0, 0, 0, 3, 7];
        msg.extend(b"dns.lab");
        msg.extend(53u16.to_be_bytes());
        msg.extend(b"query");
        let d = parse_udp_datagram(&msg).unwrap();
        assert_eq!(d.destination.host, Host::Domain("dns.lab".into()));
        assert_eq!(d.destination.port, 53);
        assert_eq!(d.data, b"query");
    }

    #[test]
    fn empty_payload_is_allowed() {
        let d = parse_udp_datagram(&[0, 0, 0, 1, 1, 2, 3, 4, 0, 53]).unwrap();
        assert!(d.data.is_empty());
    }

    #[test]
    fn short_or_fragmented_datagrams_are_refused() {
        let msg = [0, 0, 0, 1, 1, 2, 3, 4, 0, 53];
        for cut in 0..msg.len() {
            assert_eq!(
                parse_udp_datagram(&msg[..cut]),
                Err(Socks5Error::TruncatedDatagram),
                "cut {cut}"
            );
        }
        assert_eq!(
            parse_udp_datagram(&[0, 0, 1, 1, 1, 2, 3, 4, 0, 53]),
            Err(Socks5Error::Fragmented(1))
        );
        assert_eq!(
            parse_udp_datagram(&[0, 0, 0, 7, 1]),
            Err(Socks5Error::UnknownAddressType(7))
        );
    }

    #[test]
    fn header_round_trips() {
        for src in ["192.0.2.1:53", "[2001:db8::53]:5353"] {
            let src: SocketAddr = src.parse().unwrap();
            let mut out = Vec::new();
            encode_udp_header(src, &mut out);
            out.extend_from_slice(b"answer");
            let d = parse_udp_datagram(&out).unwrap();
            assert_eq!(d.destination.socket_addr(), Some(src));
            assert_eq!(d.data, b"answer");
        }
    }
}
