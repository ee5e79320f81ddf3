//! The client side of SOCKS5 (RFC 1928) with username/password login (RFC 1929), as bytes:
//! what to send and how to read each reply. No IO here; `client` drives it.

use std::net::SocketAddr;

use anyhow::{bail, Result};

use super::client::Credentials;

// Shared with the bare relay, the server side.
pub const VERSION: u8 = 5;
pub const NO_AUTH: u8 = 0x00;
const LOGIN: u8 = 0x02;
pub const NO_ACCEPTABLE_METHOD: u8 = 0xff;
const LOGIN_VERSION: u8 = 1;
pub const CONNECT: u8 = 1;
pub const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;

/// The greeting: one method offered, login when credentials are given, none otherwise.
pub fn greeting(login: Option<&Credentials>) -> [u8; 3] {
    [VERSION, 1, method(login)]
}

fn method(login: Option<&Credentials>) -> u8 {
    if login.is_some() {
        LOGIN
    } else {
        NO_AUTH
    }
}

/// Checks the server's method choice against the one offered.
pub fn check_method_choice(reply: [u8; 2], login: Option<&Credentials>) -> Result<()> {
    if reply[0] != VERSION {
        bail!("SOCKS5 method reply has version {}, not 5", reply[0]);
    }
    if reply[1] == NO_ACCEPTABLE_METHOD {
        bail!(
            "SOCKS5 server accepts no offered method (offered {:#04x})",
            method(login)
        );
    }
    if reply[1] != method(login) {
        bail!(
            "SOCKS5 server chose method {:#04x}, offered {:#04x}",
            reply[1],
            method(login)
        );
    }
    Ok(())
}

/// The RFC 1929 login request; each field is at most 255 bytes on the wire.
pub fn login_request(login: &Credentials) -> Result<Vec<u8>> {
    let user = login.login.as_bytes();
    let password = login.password.as_bytes();
    let (Ok(user_len), Ok(password_len)) = (u8::try_from(user.len()), u8::try_from(password.len()))
    else {
        bail!("SOCKS5 login and password must each be at most 255 bytes");
    };
    if user.is_empty() || password.is_empty() {
        bail!("SOCKS5 login and password must not be empty");
    }
    let mut request = Vec::with_capacity(3 + user.len() + password.len());
    request.extend([LOGIN_VERSION, user_len]);
    request.extend_from_slice(user);
    request.push(password_len);
    request.extend_from_slice(password);
    Ok(request)
}

/// Status 0 is success; anything else is a refused login.
pub fn check_login_status(reply: [u8; 2]) -> Result<()> {
    if reply[0] != LOGIN_VERSION {
        bail!("SOCKS5 login reply has version {}, not 1", reply[0]);
    }
    if reply[1] != 0 {
        bail!("SOCKS5 login refused (status {})", reply[1]);
    }
    Ok(())
}

/// CONNECT to an address literal.
pub fn connect_request(target: SocketAddr) -> Vec<u8> {
    let mut request = vec![VERSION, CONNECT, 0];
    match target {
        SocketAddr::V4(v4) => {
            request.push(ATYP_IPV4);
            request.extend(v4.ip().octets());
        }
        SocketAddr::V6(v6) => {
            request.push(ATYP_IPV6);
            request.extend(v6.ip().octets());
        }
    }
    request.extend(target.port().to_be_bytes());
    request
}

/// How much of the CONNECT reply follows its first four bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplyRest {
    /// This many bytes (bound address and port).
    Exactly(usize),
    /// A domain: one length byte, then that many bytes and the port.
    Domain,
}

/// Reads the first four bytes of the CONNECT reply: success, or the server's reason.
pub fn reply_rest(head: [u8; 4]) -> Result<ReplyRest> {
    if head[0] != VERSION {
        bail!("SOCKS5 reply has version {}, not 5", head[0]);
    }
    if head[1] != 0 {
        bail!(
            "SOCKS5 CONNECT refused: reply {} ({})",
            head[1],
            reply_reason(head[1])
        );
    }
    match head[3] {
        ATYP_IPV4 => Ok(ReplyRest::Exactly(4 + 2)),
        ATYP_IPV6 => Ok(ReplyRest::Exactly(16 + 2)),
        ATYP_DOMAIN => Ok(ReplyRest::Domain),
        other => bail!("SOCKS5 reply has unknown address type {other}"),
    }
}

fn reply_reason(code: u8) -> &'static str {
    match code {
        1 => "general failure",
        2 => "not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> Credentials {
        Credentials {
            login: "bench".into(),
            password: "pw1".into(),
        }
    }

    #[test]
    fn offers_login_only_with_credentials() {
        assert_eq!(greeting(None), [5, 1, 0]);
        assert_eq!(greeting(Some(&login())), [5, 1, 2]);
        assert!(check_method_choice([5, 2], Some(&login())).is_ok());
        let refused = check_method_choice([5, 0xff], None).unwrap_err();
        assert!(refused.to_string().contains("accepts no offered method"));
        assert!(check_method_choice([5, 0], Some(&login())).is_err());
    }

    #[test]
    fn encodes_login_and_reads_status() {
        assert_eq!(
            login_request(&login()).unwrap(),
            b"\x01\x05bench\x03pw1".to_vec()
        );
        let long = Credentials {
            login: "x".repeat(256),
            password: "p".into(),
        };
        assert!(login_request(&long).is_err());
        assert!(check_login_status([1, 0]).is_ok());
        assert!(check_login_status([1, 1])
            .unwrap_err()
            .to_string()
            .contains("refused"));
    }

    #[test]
    fn encodes_connect_and_reads_reply() {
        let target: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            connect_request(target),
            vec![5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]
        );
        assert_eq!(reply_rest([5, 0, 0, 1]).unwrap(), ReplyRest::Exactly(6));
        assert_eq!(reply_rest([5, 0, 0, 4]).unwrap(), ReplyRest::Exactly(18));
        assert_eq!(reply_rest([5, 0, 0, 3]).unwrap(), ReplyRest::Domain);
        let refused = reply_rest([5, 2, 0, 1]).unwrap_err().to_string();
        assert!(refused.contains("not allowed by ruleset"), "{refused}");
    }
}
