//! How a response body is delimited (RFC 9112 §6.3) and whether the upstream connection
//! outlives the response (§9.3).

use crate::protocol::http::head::tokens;
use crate::protocol::http::BodyFraming;

use super::response_head::{ResponseError, ResponseHead};

/// How a message body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding, forwarded as is up to its last chunk and trailers.
    Chunked,
    /// Everything until the sender closes (responses only).
    UntilClose,
}

impl Framing {
    /// Whether the body ends without closing the connection.
    pub fn is_delimited(self) -> bool {
        self != Framing::UntilClose
    }
}

impl From<BodyFraming> for Framing {
    fn from(framing: BodyFraming) -> Framing {
        match framing {
            BodyFraming::Empty => Framing::Empty,
            BodyFraming::Length(n) => Framing::Length(n),
            BodyFraming::Chunked => Framing::Chunked,
        }
    }
}

/// The body framing of a final response. `request_was_head`: the answer to HEAD never has a
/// body, whatever its fields say. A response with both `Transfer-Encoding` and
/// `Content-Length` is refused rather than forwarded: RFC 9112 §6.3 calls it a likely
/// smuggling attempt that "ought to be handled as an error".
pub fn response_framing(
    head: &ResponseHead<'_>,
    request_was_head: bool,
) -> Result<Framing, ResponseError> {
    if request_was_head || head.is_interim() || matches!(head.status, 204 | 304) {
        return Ok(Framing::Empty);
    }
    let mut codings = head.values("transfer-encoding").flat_map(tokens).peekable();
    let has_length = head.values("content-length").next().is_some();
    if codings.peek().is_some() {
        if has_length {
            return Err(ResponseError::AmbiguousFraming(
                "Transfer-Encoding with Content-Length",
            ));
        }
        if head.minor_version == 0 {
            return Err(ResponseError::AmbiguousFraming(
                "Transfer-Encoding in HTTP/1.0",
            ));
        }
        // Chunked last: its own end. Any other last coding: until close (§6.3 item 4).
        return Ok(match codings.last() {
            Some(last) if last.eq_ignore_ascii_case(b"chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        });
    }
    match content_length(head.values("content-length"))? {
        Some(0) => Ok(Framing::Empty),
        Some(n) => Ok(Framing::Length(n)),
        None => Ok(Framing::UntilClose),
    }
}

/// The one length all `Content-Length` values agree on (a list of identical values is
/// allowed, §8.6); `None` without the field.
fn content_length<'b>(
    values: impl Iterator<Item = &'b [u8]>,
) -> Result<Option<u64>, ResponseError> {
    const INVALID: ResponseError = ResponseError::AmbiguousFraming("invalid Content-Length");
    let mut length = None;
    for value in values {
        let mut any = false;
        for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            any = true;
            if token.is_empty() || token.len() > 19 || !token.iter().all(u8::is_ascii_digit) {
                return Err(INVALID);
            }
            let n = token
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
            if length.is_some_and(|seen| seen != n) {
                return Err(ResponseError::AmbiguousFraming(
                    "differing Content-Length values",
                ));
            }
            length = Some(n);
        }
        if !any {
            return Err(INVALID);
        }
    }
    Ok(length)
}

/// The connection options the upstream sent (`Connection` tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionOptions {
    pub close: bool,
    pub keep_alive: bool,
}

impl ConnectionOptions {
    pub fn of(head: &ResponseHead<'_>) -> ConnectionOptions {
        let mut options = ConnectionOptions::default();
        for token in head.values("connection").flat_map(tokens) {
            options.close |= token.eq_ignore_ascii_case(b"close");
            options.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
        }
        options
    }

    /// Whether the upstream keeps the connection after this response: HTTP/1.1 unless it
    /// says `close`, HTTP/1.0 only if it says `keep-alive`.
    pub fn persistent(self, minor_version: u8) -> bool {
        !self.close && (minor_version >= 1 || self.keep_alive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::head::Header;

    fn head(
        minor_version: u8,
        status: u16,
        fields: &[(&'static str, &'static str)],
    ) -> ResponseHead<'static> {
        ResponseHead {
            minor_version,
            status,
            reason: "",
            headers: fields
                .iter()
                .map(|(name, value)| Header {
                    name,
                    value: value.as_bytes(),
                })
                .collect(),
        }
    }

    #[test]
    fn framings() {
        let cl = [("Content-Length", "12")];
        assert_eq!(
            response_framing(&head(1, 200, &cl), false),
            Ok(Framing::Length(12))
        );
        assert_eq!(
            response_framing(&head(1, 200, &cl), true),
            Ok(Framing::Empty)
        );
        for status in [100, 103, 204, 304] {
            assert_eq!(
                response_framing(&head(1, status, &cl), false),
                Ok(Framing::Empty)
            );
        }
        assert_eq!(
            response_framing(
                &head(
                    1,
                    200,
                    &[("Content-Length", "7, 7"), ("content-length", "7")]
                ),
                false
            ),
            Ok(Framing::Length(7))
        );
        assert_eq!(
            response_framing(&head(1, 200, &[("Content-Length", "0")]), false),
            Ok(Framing::Empty)
        );
        assert_eq!(
            response_framing(
                &head(1, 200, &[("Transfer-Encoding", "gzip, Chunked")]),
                false
            ),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            response_framing(
                &head(1, 200, &[("Transfer-Encoding", "chunked, gzip")]),
                false
            ),
            Ok(Framing::UntilClose)
        );
        assert_eq!(
            response_framing(&head(1, 200, &[]), false),
            Ok(Framing::UntilClose)
        );
        assert_eq!(
            response_framing(&head(0, 200, &[]), false),
            Ok(Framing::UntilClose)
        );
    }

    #[test]
    fn ambiguities_are_errors() {
        for fields in [
            &[("Content-Length", "1"), ("Content-Length", "2")][..],
            &[("Content-Length", "1, 2")],
            &[("Content-Length", "-1")],
            &[("Content-Length", "")],
            &[("Content-Length", "1 2")],
            &[("Content-Length", "99999999999999999999")],
            &[("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
        ] {
            assert!(
                matches!(
                    response_framing(&head(1, 200, fields), false),
                    Err(ResponseError::AmbiguousFraming(_))
                ),
                "{fields:?}"
            );
        }
        assert!(matches!(
            response_framing(&head(0, 200, &[("Transfer-Encoding", "chunked")]), false),
            Err(ResponseError::AmbiguousFraming(_))
        ));
    }

    #[test]
    fn persistence() {
        let options = |fields| ConnectionOptions::of(&head(1, 200, fields));
        assert!(options(&[]).persistent(1));
        assert!(!options(&[]).persistent(0));
        assert!(options(&[("Connection", "Keep-Alive")]).persistent(0));
        assert!(!options(&[("Connection", "foo, close")]).persistent(1));
        assert!(options(&[("Connection", "close")]).close);
    }
}
