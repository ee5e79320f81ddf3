//! Header fields that belong to one connection and must not be forwarded (RFC 9110 §7.6.1).

use super::head::{tokens, RequestHead};

/// Always connection-specific, whatever `Connection` lists.
const ALWAYS: [&str; 7] = [
    "connection",
    "proxy-authorization",
    "proxy-connection",
    "keep-alive",
    "te",
    "trailer",
    "proxy-authenticate",
];

/// The hop-by-hop set of one request: the fixed names, the names its `Connection` header
/// lists, and `Upgrade` unless the forwarder tunnels the upgraded connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopByHop<'b> {
    listed: Vec<&'b [u8]>,
    keep_upgrade: bool,
}

impl<'b> HopByHop<'b> {
    /// `tunnelling` is true when the forwarder passes an `Upgrade` through (then turns the
    /// connection into a tunnel once the origin agrees with 101).
    pub fn of(head: &RequestHead<'b>, tunnelling: bool) -> HopByHop<'b> {
        let listed = head.values("connection").flat_map(tokens).collect();
        HopByHop {
            listed,
            keep_upgrade: tunnelling,
        }
    }

    /// Whether a header field called `name` is stripped before forwarding.
    pub fn strips(&self, name: &str) -> bool {
        if name.eq_ignore_ascii_case("upgrade") {
            return !self.keep_upgrade;
        }
        ALWAYS.iter().any(|h| name.eq_ignore_ascii_case(h))
            || self
                .listed
                .iter()
                .any(|l| l.eq_ignore_ascii_case(name.as_bytes()))
    }

    pub fn keeps_upgrade(&self) -> bool {
        self.keep_upgrade
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::head::{parse_head, HeadLimits};

    const RAW: &[u8] = b"GET http://a/ HTTP/1.1\r\nConnection: X-Secret , keep-alive,,Upgrade\r\nConnection: X-Other\r\nUpgrade: websocket\r\nX-Secret: 1\r\nAccept: */*\r\n\r\n";

    #[test]
    fn fixed_and_listed_names() {
        let (head, _) = parse_head(RAW, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        let hop = HopByHop::of(&head, false);
        for name in [
            "Connection",
            "Proxy-Authorization",
            "proxy-connection",
            "Keep-Alive",
            "TE",
            "Trailer",
            "Upgrade",
            "x-secret",
            "X-OTHER",
        ] {
            assert!(hop.strips(name), "{name}");
        }
        for name in [
            "Accept",
            "Host",
            "Transfer-Encoding",
            "Content-Length",
            "Trailers",
        ] {
            assert!(!hop.strips(name), "{name}");
        }
    }

    #[test]
    fn upgrade_is_kept_when_tunnelling() {
        let (head, _) = parse_head(RAW, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        let hop = HopByHop::of(&head, true);
        assert!(!hop.strips("Upgrade"));
        assert!(hop.strips("Connection"));
        assert!(hop.keeps_upgrade());
    }
}
