//! Username/password sub-negotiation (RFC 1929) and its reply.

use super::error::Socks5Error;
use crate::protocol::progress::{Cursor, Progress};

/// Version byte of the username/password sub-negotiation.
pub const AUTH_VERSION: u8 = 0x01;

/// Credentials borrowed from the receive buffer; compared, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserPass<'b> {
    pub username: &'b [u8],
    pub password: &'b [u8],
}

/// Parses VER, ULEN, UNAME, PLEN, PASSWD. Empty names and passwords are accepted here even
/// though RFC 1929 asks for at least one byte: they never match a login, so the client gets
/// the sub-negotiation's own failure status instead of a dropped connection.
pub fn parse_auth(buf: &[u8]) -> Result<Progress<UserPass<'_>>, Socks5Error> {
    let mut c = Cursor::new(buf);
    let Some(version) = c.byte() else {
        return Ok(Progress::NeedMore);
    };
    if version != AUTH_VERSION {
        return Err(Socks5Error::BadAuthVersion(version));
    }
    let Some(username) = c.byte().and_then(|len| c.take(usize::from(len))) else {
        return Ok(Progress::NeedMore);
    };
    let Some(password) = c.byte().and_then(|len| c.take(usize::from(len))) else {
        return Ok(Progress::NeedMore);
    };
    Ok(Progress::Done {
        value: UserPass { username, password },
        consumed: c.position(),
    })
}

/// The sub-negotiation's status: `0x00` lets the client go on, anything else must close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStatus {
    Success,
    Failure,
}

impl AuthStatus {
    pub fn encode(self) -> [u8; 2] {
        match self {
            AuthStatus::Success => [AUTH_VERSION, 0x00],
            AuthStatus::Failure => [AUTH_VERSION, 0x01],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_split_point() {
        let msg = b"\x01\x05alice\x06s3cr:t";
        for cut in 0..msg.len() {
            assert_eq!(parse_auth(&msg[..cut]), Ok(Progress::NeedMore), "cut {cut}");
        }
        let mut pipelined = msg.to_vec();
        pipelined.extend_from_slice(&[5, 1, 0]);
        let (up, used) = parse_auth(&pipelined).unwrap().done().unwrap();
        assert_eq!(used, msg.len());
        assert_eq!(up.username, b"alice");
        assert_eq!(up.password, b"s3cr:t");
    }

    #[test]
    fn empty_and_longest_fields() {
        let (up, used) = parse_auth(&[1, 0, 0]).unwrap().done().unwrap();
        assert_eq!((up.username, up.password, used), (&b""[..], &b""[..], 3));
        let mut msg = vec![1, 255];
        msg.extend([b'u'; 255]);
        msg.push(255);
        msg.extend([b'p'; 255]);
        let (up, used) = parse_auth(&msg).unwrap().done().unwrap();
        assert_eq!(
            (up.username.len(), up.password.len(), used),
            (255, 255, 513)
        );
    }

    #[test]
    fn refuses_wrong_version_and_encodes_status() {
        assert_eq!(parse_auth(&[5, 1, 0]), Err(Socks5Error::BadAuthVersion(5)));
        assert_eq!(AuthStatus::Success.encode(), [1, 0]);
        assert_eq!(AuthStatus::Failure.encode(), [1, 1]);
    }
}
