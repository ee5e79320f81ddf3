//! The client's request: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT.

use super::address::{read_address, Address, Domains};
use super::error::Socks5Error;
use super::VERSION;
use crate::protocol::progress::{Cursor, Progress};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Connect,
    Bind,
    UdpAssociate,
}

impl Command {
    fn from_byte(b: u8) -> Result<Command, Socks5Error> {
        match b {
            0x01 => Ok(Command::Connect),
            0x02 => Ok(Command::Bind),
            0x03 => Ok(Command::UdpAssociate),
            other => Err(Socks5Error::UnknownCommand(other)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub command: Command,
    pub address: Address,
}

/// Parses a request. RSV is not checked: RFC 1928 gives it no meaning and refusing it would
/// only break clients. An unknown command or address type is an error that carries its reply
/// code ([`Socks5Error::reply_code`]); the address is only read once the command is known.
pub fn parse_request(buf: &[u8]) -> Result<Progress<Request>, Socks5Error> {
    let mut c = Cursor::new(buf);
    let Some(version) = c.byte() else {
        return Ok(Progress::NeedMore);
    };
    if version != VERSION {
        return Err(Socks5Error::BadVersion(version));
    }
    let Some(command) = c.byte() else {
        return Ok(Progress::NeedMore);
    };
    let command = Command::from_byte(command)?;
    if c.byte().is_none() {
        return Ok(Progress::NeedMore);
    }
    let domains = match command {
        Command::Connect => Domains::Destination,
        Command::Bind | Command::UdpAssociate => Domains::Hint,
    };
    match read_address(&mut c, domains)? {
        Some(address) => Ok(Progress::Done {
            value: Request { command, address },
            consumed: c.position(),
        }),
        None => Ok(Progress::NeedMore),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::socks5::ReplyCode;
    use crate::protocol::target::{Host, TargetError};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn all_splits(msg: &[u8]) -> Request {
        for cut in 0..msg.len() {
            assert_eq!(
                parse_request(&msg[..cut]),
                Ok(Progress::NeedMore),
                "cut {cut}"
            );
        }
        let mut pipelined = msg.to_vec();
        pipelined.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let (req, used) = parse_request(&pipelined).unwrap().done().unwrap();
        assert_eq!(used, msg.len());
        req
    }

    #[test]
    fn connect_ipv4() {
        let req = all_splits(&[5, 1, 0, 1, 93, 184, 216, 34, 0x01, 0xBB]);
        assert_eq!(req.command, Command::Connect);
        assert_eq!(
            req.address.host,
            Host::Ipv4(Ipv4Addr::new(93, 184, 216, 34))
        );
        assert_eq!(req.address.port, 443);
        assert_eq!(
            req.address.target().unwrap().to_string(),
            "93.184.216.34:443"
        );
    }

    #[test]
    fn connect_ipv6() {
        let mut msg = vec![5, 1, 0, 4];
        msg.extend(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets());
        msg.extend(80u16.to_be_bytes());
        let req = all_splits(&msg);
        assert_eq!(
            req.address.target().unwrap().to_string(),
            "[2001:db8::1]:80"
        );
    }

    #[test]
    fn connect_domain() {
        let mut msg = vec![5, 1, 0, 3, 11];
        msg.extend(b"Example.COM");
        msg.extend(8080u16.to_be_bytes());
        let req = all_splits(&msg);
        assert_eq!(req.address.host, Host::Domain("example.com".into()));
        assert_eq!(req.address.port, 8080);
    }

    #[test]
    fn domain_holding_an_ip_literal_is_an_address() {
        let mut msg = vec![5, 1, 0, 3, 9];
        msg.extend(b"127.0.0.1");
        msg.extend(22u16.to_be_bytes());
        let req = all_splits(&msg);
        assert_eq!(req.address.host, Host::Ipv4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn udp_associate_and_bind_keep_port_zero() {
        let req = all_splits(&[5, 3, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(req.command, Command::UdpAssociate);
        assert_eq!(req.address.port, 0);
        assert_eq!(
            req.address.target(),
            Err(Socks5Error::BadTarget(TargetError::PortZero))
        );
        assert_eq!(
            all_splits(&[5, 2, 0, 1, 1, 2, 3, 4, 0, 1]).command,
            Command::Bind
        );
    }

    #[test]
    fn errors_carry_reply_codes() {
        let err = parse_request(&[5, 9, 0, 1]).unwrap_err();
        assert_eq!(err, Socks5Error::UnknownCommand(9));
        assert_eq!(err.reply_code(), Some(ReplyCode::CommandNotSupported));
        let err = parse_request(&[5, 1, 0, 2, 0]).unwrap_err();
        assert_eq!(err.reply_code(), Some(ReplyCode::AddressTypeNotSupported));
        let err = parse_request(&[5, 1, 0, 3, 0, 0, 80]).unwrap_err();
        assert_eq!(err, Socks5Error::EmptyDomain);
        assert_eq!(err.reply_code(), Some(ReplyCode::HostUnreachable));
        let err = parse_request(b"\x05\x01\x00\x03\x03a/b\x00\x50").unwrap_err();
        assert_eq!(
            err,
            Socks5Error::BadTarget(TargetError::BadDomainByte(b'/'))
        );
        let err = parse_request(&[4, 1, 0, 80]).unwrap_err();
        assert_eq!(err.reply_code(), None);
    }

    /// UDP ASSOCIATE's address is the client's own, a hint only: PySocks sends the name "0".
    #[test]
    fn udp_associate_takes_any_hint() {
        let request = all_splits(&[5, 3, 0, 3, 1, b'0', 0, 0]);
        assert_eq!(request.command, Command::UdpAssociate);
        assert_eq!(request.address.host, Host::Ipv4(Ipv4Addr::UNSPECIFIED));
        let empty = all_splits(&[5, 3, 0, 3, 0, 0, 0]);
        assert_eq!(empty.address.host, Host::Ipv4(Ipv4Addr::UNSPECIFIED));
        // CONNECT to the same name is refused.
        assert!(parse_request(&[5, 1, 0, 3, 1, b'0', 0, 80]).is_err());
    }
}
