//! The request head sent upstream for an absolute-URI request.

use super::head::RequestHead;
use super::hop_by_hop::HopByHop;
use crate::protocol::target::Target;

use super::classify::DEFAULT_HTTP_PORT;

/// Appends the upstream head to `out`: the request line in origin form, `Host` from the URI
/// (the client's own `Host` is replaced, RFC 9112 §3.2.2), every end-to-end field in order,
/// and `Connection: Upgrade` when an upgrade is passed through. No other `Connection` field
/// is written: the upstream connection lives as HTTP/1.x's default for the version says.
pub fn encode_forward_head(
    head: &RequestHead<'_>,
    target: &Target,
    path: &str,
    hop: &HopByHop<'_>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(head.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(if head.minor_version == 0 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    out.extend_from_slice(b"Host: ");
    out.extend_from_slice(target.host().to_string().as_bytes());
    if target.port() != DEFAULT_HTTP_PORT {
        out.extend_from_slice(format!(":{}", target.port()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    let mut upgrading = false;
    for h in &head.headers {
        if h.name.eq_ignore_ascii_case("host") || hop.strips(h.name) {
            continue;
        }
        upgrading |= h.name.eq_ignore_ascii_case("upgrade");
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    if upgrading && hop.keeps_upgrade() {
        out.extend_from_slice(b"Connection: Upgrade\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::classify::{classify, ProxyRequest};
    use crate::protocol::http::head::{parse_head, HeadLimits};

    fn forwarded(raw: &[u8], tunnelling: bool) -> String {
        let (head, _) = parse_head(raw, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        let ProxyRequest::Forward { target, path } = classify(&head).unwrap() else {
            panic!("not a forward")
        };
        let mut out = Vec::new();
        encode_forward_head(
            &head,
            &target,
            &path,
            &HopByHop::of(&head, tunnelling),
            &mut out,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strips_hop_by_hop_and_rewrites_host() {
        let raw = b"POST http://Example.com:8080/p?q HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: Basic YTpi\r\nProxy-Connection: keep-alive\r\nConnection: X-Trace\r\nX-Trace: 1\r\nContent-Length: 2\r\nUpgrade: h2c\r\n\r\n";
        assert_eq!(
            forwarded(raw, false),
            "POST /p?q HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 2\r\n\r\n"
        );
    }

    #[test]
    fn default_port_ipv6_and_upgrade() {
        let raw = b"GET http://[2001:db8::1]/ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(
            forwarded(raw, true),
            "GET /ws HTTP/1.1\r\nHost: [2001:db8::1]\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        );
        let raw = b"GET http://a.example HTTP/1.0\r\n\r\n";
        assert_eq!(
            forwarded(raw, false),
            "GET / HTTP/1.0\r\nHost: a.example\r\n\r\n"
        );
    }
}
