//! The response head written to the client: the upstream's status and end-to-end fields,
//! this hop's own connection fields (RFC 9110 §7.6.1).

use crate::protocol::http::head::tokens;

use super::response_head::ResponseHead;

/// Fields that describe one connection and never cross the proxy, whatever `Connection`
/// lists. `Upgrade` is among them except in a 101 that switches the tunnel.
const ALWAYS_STRIPPED: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "upgrade",
    "proxy-authenticate",
    "proxy-authentication-info",
];

/// Fields kept even when `Connection` names them: the body is forwarded in the framing the
/// upstream chose, so dropping its description would make the client misread where the body
/// ends.
const FRAMING: [&str; 2] = ["content-length", "transfer-encoding"];

/// What this hop says about the client connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientConnection {
    /// An interim (1xx) response: nothing about the connection yet.
    Interim,
    /// The connection stays open; HTTP/1.0 clients need to be told (`Connection: keep-alive`).
    KeepAlive { client_minor_version: u8 },
    /// The connection closes after this response.
    Close,
    /// 101: `Upgrade` is forwarded and the connection becomes a tunnel.
    Upgrade,
}

/// Appends the client's head to `out`.
pub fn encode_client_head(
    head: &ResponseHead<'_>,
    connection: ClientConnection,
    out: &mut Vec<u8>,
) {
    // The proxy speaks HTTP/1.1 on its own connections (RFC 9110 §6.2).
    out.extend_from_slice(format!("HTTP/1.1 {} ", head.status).as_bytes());
    out.extend_from_slice(head.reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    let listed: Vec<&[u8]> = head.values("connection").flat_map(tokens).collect();
    for field in &head.headers {
        let upgrade_kept =
            connection == ClientConnection::Upgrade && field.name.eq_ignore_ascii_case("upgrade");
        let stripped = ALWAYS_STRIPPED
            .iter()
            .any(|n| field.name.eq_ignore_ascii_case(n))
            || (listed
                .iter()
                .any(|l| l.eq_ignore_ascii_case(field.name.as_bytes()))
                && !FRAMING.iter().any(|n| field.name.eq_ignore_ascii_case(n)));
        if stripped && !upgrade_kept {
            continue;
        }
        out.extend_from_slice(field.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(field.value);
        out.extend_from_slice(b"\r\n");
    }
    match connection {
        ClientConnection::Interim => {}
        ClientConnection::KeepAlive {
            client_minor_version: 0,
        } => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        ClientConnection::KeepAlive { .. } => {}
        ClientConnection::Close => out.extend_from_slice(b"Connection: close\r\n"),
        ClientConnection::Upgrade => out.extend_from_slice(b"Connection: Upgrade\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::http_exchange::response_head::{parse_response_head, ResponseLimits};

    fn encoded(raw: &[u8], connection: ClientConnection) -> String {
        let (head, _) = parse_response_head(raw, ResponseLimits::default())
            .unwrap()
            .done()
            .unwrap();
        let mut out = Vec::new();
        encode_client_head(&head, connection, &mut out);
        String::from_utf8(out).unwrap()
    }

    const RAW: &[u8] = b"HTTP/1.0 200 Fine\r\nConnection: X-Hop, close, Content-Length\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nContent-Length: 3\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nTrailer: X-Sum\r\nSet-Cookie: a=b\r\n\r\n";

    #[test]
    fn strips_hop_by_hop_and_states_the_connection() {
        assert_eq!(
            encoded(RAW, ClientConnection::Close),
            "HTTP/1.1 200 Fine\r\nContent-Length: 3\r\nTrailer: X-Sum\r\nSet-Cookie: a=b\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            encoded(
                RAW,
                ClientConnection::KeepAlive {
                    client_minor_version: 1
                }
            ),
            "HTTP/1.1 200 Fine\r\nContent-Length: 3\r\nTrailer: X-Sum\r\nSet-Cookie: a=b\r\n\r\n"
        );
        assert_eq!(
            encoded(RAW, ClientConnection::KeepAlive { client_minor_version: 0 }),
            "HTTP/1.1 200 Fine\r\nContent-Length: 3\r\nTrailer: X-Sum\r\nSet-Cookie: a=b\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    #[test]
    fn interim_and_switch() {
        assert_eq!(
            encoded(b"HTTP/1.1 100 Continue\r\n\r\n", ClientConnection::Interim),
            "HTTP/1.1 100 Continue\r\n\r\n"
        );
        assert_eq!(
            encoded(
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n",
                ClientConnection::Upgrade
            ),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\nConnection: Upgrade\r\n\r\n"
        );
    }
}
