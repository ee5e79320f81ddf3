//! How the body of a forwarded request is delimited (RFC 9112 §6.3). A proxy that guesses
//! differently from the origin lets one request smuggle another, so every ambiguity is an
//! error the listener answers with 400.

use super::error::HttpError;
use super::head::{tokens, RequestHead};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body: the next request follows the head.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding` ending in `chunked`: forward chunk by chunk up to the last one.
    Chunked,
}

pub fn body_framing(head: &RequestHead<'_>) -> Result<BodyFraming, HttpError> {
    let mut codings = head.values("transfer-encoding").flat_map(tokens).peekable();
    let has_te = codings.peek().is_some();
    let has_cl = head.values("content-length").next().is_some();
    if has_te {
        if has_cl {
            return Err(HttpError::AmbiguousFraming(
                "Transfer-Encoding with Content-Length",
            ));
        }
        if head.minor_version == 0 {
            return Err(HttpError::AmbiguousFraming("Transfer-Encoding in HTTP/1.0"));
        }
        return match codings.last() {
            Some(last) if last.eq_ignore_ascii_case(b"chunked") => Ok(BodyFraming::Chunked),
            _ => Err(HttpError::AmbiguousFraming(
                "last transfer coding is not chunked",
            )),
        };
    }
    let mut length: Option<u64> = None;
    for value in head.values("content-length").flat_map(tokens) {
        if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
            return Err(HttpError::AmbiguousFraming("invalid Content-Length"));
        }
        let n = value
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        if length.is_some_and(|seen| seen != n) {
            return Err(HttpError::AmbiguousFraming(
                "differing Content-Length values",
            ));
        }
        length = Some(n);
    }
    if has_cl && length.is_none() {
        return Err(HttpError::AmbiguousFraming("invalid Content-Length"));
    }
    Ok(match length {
        None | Some(0) => BodyFraming::Empty,
        Some(n) => BodyFraming::Length(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::head::{parse_head, HeadLimits};

    fn framing(headers: &str) -> Result<BodyFraming, HttpError> {
        framing_v(headers, 1)
    }

    fn framing_v(headers: &str, minor: u8) -> Result<BodyFraming, HttpError> {
        let raw = format!("POST http://a/ HTTP/1.{minor}\r\n{headers}\r\n");
        let (head, _) = parse_head(raw.as_bytes(), HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        body_framing(&head)
    }

    #[test]
    fn framings() {
        assert_eq!(framing(""), Ok(BodyFraming::Empty));
        assert_eq!(framing("Content-Length: 0\r\n"), Ok(BodyFraming::Empty));
        assert_eq!(
            framing("Content-Length: 42\r\n"),
            Ok(BodyFraming::Length(42))
        );
        assert_eq!(
            framing("Content-Length: 42, 42\r\nContent-Length: 42\r\n"),
            Ok(BodyFraming::Length(42))
        );
        assert_eq!(
            framing("Transfer-Encoding: gzip, Chunked\r\n"),
            Ok(BodyFraming::Chunked)
        );
    }

    #[test]
    fn ambiguities_are_refused() {
        for headers in [
            "Content-Length: 1\r\nContent-Length: 2\r\n",
            "Content-Length: -1\r\n",
            "Content-Length: +1\r\n",
            "Content-Length: 1 2\r\n",
            "Content-Length:\r\n",
            "Content-Length: 99999999999999999999\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
            "Transfer-Encoding: chunked, gzip\r\n",
        ] {
            assert!(
                matches!(framing(headers), Err(HttpError::AmbiguousFraming(_))),
                "{headers:?}"
            );
        }
        assert!(matches!(
            framing_v("Transfer-Encoding: chunked\r\n", 0),
            Err(HttpError::AmbiguousFraming(_))
        ));
    }
}
