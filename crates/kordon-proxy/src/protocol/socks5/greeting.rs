//! The client's greeting (VER, NMETHODS, METHODS) and the server's method selection.

use super::error::Socks5Error;
use super::VERSION;
use crate::protocol::progress::{Cursor, Progress};

/// An authentication method number (RFC 1928 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    NoAuthentication,
    Gssapi,
    UsernamePassword,
    /// Sent by the server when none of the offered methods is acceptable.
    NoAcceptable,
    Other(u8),
}

impl Method {
    pub fn from_byte(b: u8) -> Method {
        match b {
            0x00 => Method::NoAuthentication,
            0x01 => Method::Gssapi,
            0x02 => Method::UsernamePassword,
            0xFF => Method::NoAcceptable,
            other => Method::Other(other),
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            Method::NoAuthentication => 0x00,
            Method::Gssapi => 0x01,
            Method::UsernamePassword => 0x02,
            Method::NoAcceptable => 0xFF,
            Method::Other(b) => b,
        }
    }
}

/// The set of methods a client offers, kept as a 256-bit set (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    offered: [u64; 4],
}

impl Greeting {
    pub fn offers(&self, method: Method) -> bool {
        let b = method.to_byte();
        self.offered[usize::from(b / 64)] & (1u64 << (b % 64)) != 0
    }

    /// The method the server answers with, given the one the profile requires.
    pub fn select(&self, required: Method) -> Method {
        if self.offers(required) {
            required
        } else {
            Method::NoAcceptable
        }
    }
}

/// Parses VER, NMETHODS and the method list.
pub fn parse_greeting(buf: &[u8]) -> Result<Progress<Greeting>, Socks5Error> {
    let mut c = Cursor::new(buf);
    let Some(version) = c.byte() else {
        return Ok(Progress::NeedMore);
    };
    if version != VERSION {
        return Err(Socks5Error::BadVersion(version));
    }
    let Some(count) = c.byte() else {
        return Ok(Progress::NeedMore);
    };
    if count == 0 {
        return Err(Socks5Error::NoMethods);
    }
    let Some(methods) = c.take(usize::from(count)) else {
        return Ok(Progress::NeedMore);
    };
    let mut offered = [0u64; 4];
    for &m in methods {
        offered[usize::from(m / 64)] |= 1u64 << (m % 64);
    }
    Ok(Progress::Done {
        value: Greeting { offered },
        consumed: c.position(),
    })
}

/// The server's method selection message.
pub fn encode_method_selection(method: Method) -> [u8; 2] {
    [VERSION, method.to_byte()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_split_point() {
        let msg = [5, 3, 0x00, 0x02, 0x80, 0xAA];
        for cut in 0..5 {
            assert_eq!(
                parse_greeting(&msg[..cut]),
                Ok(Progress::NeedMore),
                "cut {cut}"
            );
        }
        let (g, used) = parse_greeting(&msg).unwrap().done().unwrap();
        assert_eq!(used, 5, "pipelined bytes stay unconsumed");
        assert!(g.offers(Method::NoAuthentication));
        assert!(g.offers(Method::UsernamePassword));
        assert!(g.offers(Method::Other(0x80)));
        assert!(!g.offers(Method::Gssapi));
        assert!(!g.offers(Method::NoAcceptable));
        assert_eq!(g.select(Method::UsernamePassword), Method::UsernamePassword);
    }

    #[test]
    fn refuses_what_is_not_socks5() {
        assert_eq!(
            parse_greeting(b"GET / HTTP/1.1"),
            Err(Socks5Error::BadVersion(b'G'))
        );
        assert_eq!(parse_greeting(&[4, 1, 0]), Err(Socks5Error::BadVersion(4)));
        assert_eq!(parse_greeting(&[5, 0]), Err(Socks5Error::NoMethods));
    }

    #[test]
    fn selection_without_a_common_method() {
        let (g, _) = parse_greeting(&[5, 1, 0]).unwrap().done().unwrap();
        assert_eq!(g.select(Method::UsernamePassword), Method::NoAcceptable);
        assert_eq!(encode_method_selection(Method::NoAcceptable), [5, 0xFF]);
        assert_eq!(encode_method_selection(Method::UsernamePassword), [5, 2]);
    }

    #[test]
    fn all_256_methods() {
        let mut msg = vec![5, 255];
        msg.extend(0..=254u8);
        let (g, used) = parse_greeting(&msg).unwrap().done().unwrap();
        assert_eq!(used, 257);
        assert!((0..=254u8).all(|m| g.offers(Method::from_byte(m))));
        assert!(!g.offers(Method::NoAcceptable));
    }
}
