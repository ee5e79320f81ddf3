//! The client side of HTTP CONNECT (RFC 9110 §9.3.6) with `Proxy-Authorization: Basic`, as
//! bytes. No IO here; `client` drives it.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use base64::Engine;

use super::client::Credentials;

/// The longest reply head accepted from a proxy.
pub const MAX_HEAD: usize = 8 * 1024;

/// The CONNECT request for an address literal, with Basic credentials when given.
pub fn request(target: SocketAddr, login: Option<&Credentials>) -> String {
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(login) = login {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", login.login, login.password));
        head.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// The length of the reply head (through the blank line) once it is complete.
pub fn head_length(received: &[u8]) -> Option<usize> {
    received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Any 2xx status opens the tunnel; anything else is the proxy's refusal.
pub fn check_status(head: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(head);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("CONNECT reply is not HTTP/1.x: {status_line:?}");
    }
    let code: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("CONNECT reply has no status code: {status_line:?}"))?;
    if !(200..300).contains(&code) {
        bail!("CONNECT refused: {status_line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_basic_credentials_when_given() {
        let target: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            request(target, None),
            "CONNECT 127.0.0.1:9000 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n"
        );
        let login = Credentials {
            login: "bench".into(),
            password: "pw1".into(),
        };
        // base64("bench:pw1")
        assert!(request(target, Some(&login))
            .contains("\r\nProxy-Authorization: Basic YmVuY2g6cHcx\r\n\r\n"));
    }

    #[test]
    fn finds_the_head_and_reads_the_status() {
        assert_eq!(head_length(b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(head_length(b"HTTP/1.1 200 OK\r\n\r\n"), Some(19));
        assert!(check_status(b"HTTP/1.1 200 Connection established\r\n\r\n").is_ok());
        assert!(check_status(b"HTTP/1.0 200 OK\r\n\r\n").is_ok());
        let refused = check_status(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("407"), "{refused}");
        assert!(check_status(b"SSH-2.0-x\r\n\r\n").is_err());
    }
}
