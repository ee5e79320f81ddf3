//! The upstream response head (status line and header fields), parsed with `httparse`
//! within limits, and what it says about its body and its connection.

use crate::protocol::http::head::Header;
use crate::protocol::http::head_limit::{complete_within, describe, TooLarge};
use crate::protocol::Progress;

use super::chunked::ChunkError;

/// The most header fields [`ResponseLimits::max_headers`] can allow (the parse array is on
/// the stack of a synchronous function, never held across an await).
pub const RESPONSE_HEADER_CAPACITY: usize = 256;

/// Bounds on an upstream response head: origins send more and longer fields than clients
/// (cookies, security policies), so these are looser than the request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimits {
    /// Bytes of status line and header fields, blank line included.
    pub max_head_len: usize,
    /// Header fields; clamped to [`RESPONSE_HEADER_CAPACITY`].
    pub max_headers: usize,
}

impl Default for ResponseLimits {
    fn default() -> Self {
        ResponseLimits {
            max_head_len: 64 * 1024,
            max_headers: 128,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("response head larger than {limit} bytes")]
    HeadTooLarge { limit: usize },
    #[error("more than {limit} header fields in the response")]
    TooManyHeaders { limit: usize },
    #[error("malformed response head: {0}")]
    Malformed(&'static str),
    #[error("status code {0} is outside 100-599")]
    BadStatus(u16),
    #[error("connection closed inside the response head")]
    IncompleteHead,
    #[error("ambiguous response framing: {0}")]
    AmbiguousFraming(&'static str),
    #[error("101 Switching Protocols to a request that asked for no upgrade")]
    UnexpectedSwitch,
    #[error("more than {0} interim (1xx) responses")]
    TooManyInterim(usize),
    #[error("chunked response body: {0}")]
    Chunked(#[from] ChunkError),
}

/// A parsed response head borrowing the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead<'b> {
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub status: u16,
    pub reason: &'b str,
    pub headers: Vec<Header<'b>>,
}

impl<'b> ResponseHead<'b> {
    /// Values of every field called `name` (case-insensitive), in order.
    pub fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b [u8]> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// Whether this is an interim (1xx) response another response follows.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status)
    }
}

/// Parses the head once its blank line has arrived; `NeedMore` until then, an error as soon
/// as the buffer holds more than the limit without a complete head.
pub fn parse_response_head(
    buf: &[u8],
    limits: ResponseLimits,
) -> Result<Progress<ResponseHead<'_>>, ResponseError> {
    let max_headers = limits.max_headers.min(RESPONSE_HEADER_CAPACITY);
    let mut storage = [httparse::EMPTY_HEADER; RESPONSE_HEADER_CAPACITY];
    let mut response = httparse::Response::new(&mut storage[..max_headers]);
    let status = response.parse(buf).map_err(|e| match e {
        httparse::Error::TooManyHeaders => ResponseError::TooManyHeaders { limit: max_headers },
        other => ResponseError::Malformed(describe(other, "invalid status line")),
    })?;
    let too_large = ResponseError::HeadTooLarge {
        limit: limits.max_head_len,
    };
    let consumed = match complete_within(status, buf.len(), limits.max_head_len) {
        Ok(Some(n)) => n,
        Ok(None) => return Ok(Progress::NeedMore),
        Err(TooLarge) => return Err(too_large),
    };
    let (Some(minor_version), Some(status)) = (response.version, response.code) else {
        return Err(ResponseError::Malformed("incomplete status line"));
    };
    if !(100..600).contains(&status) {
        return Err(ResponseError::BadStatus(status));
    }
    let headers = response
        .headers
        .iter()
        .map(|h| Header {
            name: h.name,
            value: h.value,
        })
        .collect();
    Ok(Progress::Done {
        value: ResponseHead {
            minor_version,
            status,
            reason: response.reason.unwrap_or(""),
            headers,
        },
        consumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=b\r\n\r\n";

    #[test]
    fn parses_every_split_point() {
        for cut in 0..HEAD.len() {
            assert_eq!(
                parse_response_head(&HEAD[..cut], ResponseLimits::default()),
                Ok(Progress::NeedMore),
                "cut {cut}"
            );
        }
        let mut with_body = HEAD.to_vec();
        with_body.extend_from_slice(b"hello");
        let (head, used) = parse_response_head(&with_body, ResponseLimits::default())
            .unwrap()
            .done()
            .unwrap();
        assert_eq!(used, HEAD.len());
        assert_eq!(
            (head.minor_version, head.status, head.reason),
            (1, 200, "OK")
        );
        assert_eq!(
            head.values("content-length").collect::<Vec<_>>(),
            vec![&b"5"[..]]
        );
        assert!(!head.is_interim());
    }

    #[test]
    fn refusals() {
        let limits = ResponseLimits {
            max_head_len: 64,
            max_headers: 2,
        };
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.extend([b'a'; 60]);
        assert_eq!(
            parse_response_head(&long, limits),
            Err(ResponseError::HeadTooLarge { limit: 64 })
        );
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits),
            Err(ResponseError::TooManyHeaders { limit: 2 })
        );
        for raw in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"ICY 200 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n",
            b"\x16\x03\x01\x00",
        ] {
            assert!(
                matches!(
                    parse_response_head(raw, ResponseLimits::default()),
                    Err(ResponseError::Malformed(_))
                ),
                "{raw:?}"
            );
        }
        assert_eq!(
            parse_response_head(b"HTTP/1.1 999 Nope\r\n\r\n", ResponseLimits::default()),
            Err(ResponseError::BadStatus(999))
        );
    }
}
