//! SOCKS4 and SOCKS4a requests (no authentication beyond a user id) and their replies.
//!
//! VN=4, CD, DSTPORT, DSTIP, USERID, NUL; SOCKS4a puts `0.0.0.x` (x ≠ 0) in DSTIP and a
//! NUL-terminated domain name after the user id, resolved by the proxy.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::protocol::progress::{Cursor, Progress};
use crate::protocol::target::{Host, Target, TargetError};

/// The version byte of a SOCKS4 request.
pub const VERSION: u8 = 0x04;
/// Longest user id or domain accepted; a longer one is garbage, not a slow client.
pub const MAX_FIELD_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Socks4Error {
    #[error("protocol version {0:#04x}, expected 0x04")]
    BadVersion(u8),
    #[error("unknown command {0:#04x}")]
    UnknownCommand(u8),
    #[error("user id longer than {MAX_FIELD_LEN} bytes")]
    UserIdTooLong,
    #[error("domain name longer than {MAX_FIELD_LEN} bytes")]
    DomainTooLong,
    #[error("invalid destination: {0}")]
    BadTarget(#[from] TargetError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Socks4Command {
    Connect,
    Bind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socks4Request<'b> {
    pub command: Socks4Command,
    pub target: Target,
    /// Borrowed from the buffer; SOCKS4 has no password, so this alone never authenticates.
    pub user_id: &'b [u8],
}

pub fn parse_socks4(buf: &[u8]) -> Result<Progress<Socks4Request<'_>>, Socks4Error> {
    let mut c = Cursor::new(buf);
    let Some(version) = c.byte() else {
        return Ok(Progress::NeedMore);
    };
    if version != VERSION {
        return Err(Socks4Error::BadVersion(version));
    }
    let Some(command) = c.byte() else {
        return Ok(Progress::NeedMore);
    };
    let command = match command {
        0x01 => Socks4Command::Connect,
        0x02 => Socks4Command::Bind,
        other => return Err(Socks4Error::UnknownCommand(other)),
    };
    let (Some(port), Some(ip)) = (c.u16_be(), c.array::<4>()) else {
        return Ok(Progress::NeedMore);
    };
    let Some(user_id) = c.until_nul(MAX_FIELD_LEN) else {
        return field_end(&c, Socks4Error::UserIdTooLong);
    };
    let host = match ip {
        [0, 0, 0, x] if x != 0 => {
            let Some(name) = c.until_nul(MAX_FIELD_LEN) else {
                return field_end(&c, Socks4Error::DomainTooLong);
            };
            Host::parse_bytes(name)?
        }
        _ => Host::Ipv4(Ipv4Addr::from(ip)),
    };
    Ok(Progress::Done {
        value: Socks4Request {
            command,
            target: Target::new(host, port)?,
            user_id,
        },
        consumed: c.position(),
    })
}

/// No NUL yet: more bytes may bring it unless the field is already longer than allowed.
fn field_end<T>(c: &Cursor<'_>, too_long: Socks4Error) -> Result<Progress<T>, Socks4Error> {
    if c.remaining() > MAX_FIELD_LEN {
        Err(too_long)
    } else {
        Ok(Progress::NeedMore)
    }
}

/// The reply's status byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Socks4Status {
    Granted,
    Rejected,
}

/// VN=0, CD (90 granted, 91 rejected), DSTPORT, DSTIP.
pub fn encode_socks4_reply(status: Socks4Status, bound: SocketAddrV4) -> [u8; 8] {
    let code = match status {
        Socks4Status::Granted => 90,
        Socks4Status::Rejected => 91,
    };
    let [p0, p1] = bound.port().to_be_bytes();
    let [a, b, c, d] = bound.ip().octets();
    [0, code, p0, p1, a, b, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_splits(msg: &[u8]) -> Socks4Request<'_> {
        for cut in 0..msg.len() {
            assert_eq!(
                parse_socks4(&msg[..cut]),
                Ok(Progress::NeedMore),
                "cut {cut}"
            );
        }
        let (req, used) = parse_socks4(msg).unwrap().done().unwrap();
        assert_eq!(used, msg.len());
        req
    }

    #[test]
    fn socks4_connect() {
        let req = all_splits(b"\x04\x01\x00\x50\x5d\xb8\xd8\x22bob\x00");
        assert_eq!(req.command, Socks4Command::Connect);
        assert_eq!(req.target.to_string(), "93.184.216.34:80");
        assert_eq!(req.user_id, b"bob");
    }

    #[test]
    fn socks4a_domain() {
        let req = all_splits(b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00Example.org\x00");
        assert_eq!(req.target.to_string(), "example.org:443");
        assert!(req.user_id.is_empty());
    }

    #[test]
    fn refusals() {
        assert_eq!(parse_socks4(&[5, 1]), Err(Socks4Error::BadVersion(5)));
        assert_eq!(parse_socks4(&[4, 3]), Err(Socks4Error::UnknownCommand(3)));
        let mut long = b"\x04\x01\x00\x50\x01\x02\x03\x04".to_vec();
        long.extend([b'x'; 256]);
        assert_eq!(parse_socks4(&long), Err(Socks4Error::UserIdTooLong));
        let mut long = b"\x04\x01\x00\x50\x00\x00\x00\x01\x00".to_vec();
        long.extend([b'x'; 256]);
        assert_eq!(parse_socks4(&long), Err(Socks4Error::DomainTooLong));
        assert_eq!(
            parse_socks4(b"\x04\x01\x00\x00\x01\x02\x03\x04\x00"),
            Err(Socks4Error::BadTarget(TargetError::PortZero))
        );
    }

    #[test]
    fn reply_bytes() {
        let r = encode_socks4_reply(Socks4Status::Granted, "10.0.0.1:8080".parse().unwrap());
        assert_eq!(r, [0, 90, 0x1f, 0x90, 10, 0, 0, 1]);
        let r = encode_socks4_reply(
            Socks4Status::Rejected,
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
        );
        assert_eq!(r, [0, 91, 0, 0, 0, 0, 0, 0]);
    }
}
