//! The request head (request line and header fields), parsed with `httparse` within limits.

use super::error::HttpError;
use super::head_limit::{complete_within, describe, TooLarge};
use crate::protocol::progress::Progress;

/// The most header fields [`HeadLimits::max_headers`] can allow (the parse array is on the
/// stack).
pub const HEADER_CAPACITY: usize = 128;

/// Bounds on what a client may send before the proxy answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Bytes of request line and headers, blank line included.
    pub max_head_len: usize,
    /// Header fields; clamped to [`HEADER_CAPACITY`].
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_head_len: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// A header field borrowed from the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'b> {
    pub name: &'b str,
    pub value: &'b [u8],
}

/// A parsed request head borrowing the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead<'b> {
    pub method: &'b str,
    pub target: &'b str,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub headers: Vec<Header<'b>>,
}

impl<'b> RequestHead<'b> {
    /// Values of every field called `name` (case-insensitive), in order.
    pub fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b [u8]> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// Whether the client wants the connection kept after this exchange: HTTP/1.1 unless it
    /// says `close`, HTTP/1.0 only if it says `keep-alive` (in `Connection` or the older
    /// `Proxy-Connection`).
    pub fn wants_keep_alive(&self) -> bool {
        let mut close = false;
        let mut keep = false;
        for value in self
            .values("connection")
            .chain(self.values("proxy-connection"))
        {
            for token in tokens(value) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
        !close && (self.minor_version >= 1 || keep)
    }
}

/// The comma-separated tokens of a list-valued header, trimmed, empty ones skipped.
pub(crate) fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// Parses the head once the blank line has arrived; `NeedMore` until then, and an error as
/// soon as the buffer holds more than the limit without a complete head.
pub fn parse_head(buf: &[u8], limits: HeadLimits) -> Result<Progress<RequestHead<'_>>, HttpError> {
    let max_headers = limits.max_headers.min(HEADER_CAPACITY);
    let mut storage = [httparse::EMPTY_HEADER; HEADER_CAPACITY];
    let mut req = httparse::Request::new(&mut storage[..max_headers]);
    let status = req.parse(buf).map_err(|e| match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders { limit: max_headers },
        other => HttpError::Malformed(describe(other, "invalid method")),
    })?;
    let too_large = HttpError::HeadTooLarge {
        limit: limits.max_head_len,
    };
    let consumed = match complete_within(status, buf.len(), limits.max_head_len) {
        Ok(Some(n)) => n,
        Ok(None) => return Ok(Progress::NeedMore),
        Err(TooLarge) => return Err(too_large),
    };
    let (Some(method), Some(target), Some(minor_version)) = (req.method, req.path, req.version)
    else {
        return Err(HttpError::Malformed("incomplete request line"));
    };
    let headers = req
        .headers
        .iter()
        .map(|h| Header {
            name: h.name,
            value: h.value,
        })
        .collect();
    Ok(Progress::Done {
        value: RequestHead {
            method,
            target,
            minor_version,
            headers,
        },
        consumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\nProxy-Connection: keep-alive\r\n\r\n";

    #[test]
    fn parses_every_split_point() {
        for cut in 0..HEAD.len() {
            assert_eq!(
                parse_head(&HEAD[..cut], HeadLimits::default()),
                Ok(Progress::NeedMore),
                "cut {cut}"
            );
        }
        let mut pipelined = HEAD.to_vec();
        pipelined.extend_from_slice(b"body bytes");
        let (head, used) = parse_head(&pipelined, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        assert_eq!(used, HEAD.len());
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "http://example.com/a?b");
        assert_eq!(head.minor_version, 1);
        assert_eq!(
            head.values("HOST").collect::<Vec<_>>(),
            vec![&b"example.com"[..]]
        );
        assert!(head.wants_keep_alive());
    }

    #[test]
    fn keep_alive_rules() {
        let parse = |raw: &'static [u8]| {
            parse_head(raw, HeadLimits::default())
                .unwrap()
                .done()
                .unwrap()
                .0
        };
        assert!(!parse(b"GET http://a/ HTTP/1.0\r\n\r\n").wants_keep_alive());
        assert!(
            parse(b"GET http://a/ HTTP/1.0\r\nProxy-Connection: Keep-Alive\r\n\r\n")
                .wants_keep_alive()
        );
        assert!(
            !parse(b"GET http://a/ HTTP/1.1\r\nConnection: foo, close\r\n\r\n").wants_keep_alive()
        );
    }

    #[test]
    fn oversize_head_is_refused_before_it_completes() {
        let limits = HeadLimits {
            max_head_len: 64,
            max_headers: 8,
        };
        let mut raw = b"GET http://a/ HTTP/1.1\r\nX-Long: ".to_vec();
        raw.extend([b'a'; 40]);
        assert_eq!(
            parse_head(&raw, limits),
            Err(HttpError::HeadTooLarge { limit: 64 })
        );
        raw.truncate(63);
        assert_eq!(parse_head(&raw, limits), Ok(Progress::NeedMore));
        let mut complete = b"GET http://a/ HTTP/1.1\r\nX: ".to_vec();
        complete.extend([b'a'; 40]);
        complete.extend(b"\r\n\r\n");
        assert_eq!(
            parse_head(&complete, limits),
            Err(HttpError::HeadTooLarge { limit: 64 })
        );
    }

    #[test]
    fn too_many_headers() {
        let limits = HeadLimits {
            max_head_len: 4096,
            max_headers: 2,
        };
        let raw = b"GET http://a/ HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            parse_head(raw, limits),
            Err(HttpError::TooManyHeaders { limit: 2 })
        );
        let big = HeadLimits {
            max_head_len: 1 << 20,
            max_headers: 10_000,
        };
        let mut raw = b"GET http://a/ HTTP/1.1\r\n".to_vec();
        for i in 0..=HEADER_CAPACITY {
            raw.extend(format!("H{i}: v\r\n").bytes());
        }
        raw.extend(b"\r\n");
        assert_eq!(
            parse_head(&raw, big),
            Err(HttpError::TooManyHeaders {
                limit: HEADER_CAPACITY
            })
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for raw in [
            &b"\x05\x01\x00"[..],
            b"GET http://a/ HTTP/2.0\r\n\r\n",
            b"GET http://a/ HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"G\x00T / HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(
                    parse_head(raw, HeadLimits::default()),
                    Err(HttpError::Malformed(_))
                ),
                "{raw:?}"
            );
        }
    }
}
