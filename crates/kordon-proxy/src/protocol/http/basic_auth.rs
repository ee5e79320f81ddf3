//! `Proxy-Authorization: Basic` credentials (RFC 7617).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};

use super::error::HttpError;
use super::head::RequestHead;

/// Standard alphabet; padding optional because some clients leave it out.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Longest encoded credentials accepted (a login and password of 255 bytes each, and more).
const MAX_ENCODED_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

/// The credentials of the request, `None` if it sends no `Proxy-Authorization`. The login
/// ends at the first colon; the password may hold colons.
pub fn proxy_credentials(head: &RequestHead<'_>) -> Result<Option<Credentials>, HttpError> {
    let mut values = head.values("proxy-authorization");
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(HttpError::DuplicateAuthorization);
    }
    decode_basic(value).map(Some)
}

/// Decodes a `Basic <base64>` header value.
pub fn decode_basic(value: &[u8]) -> Result<Credentials, HttpError> {
    let value = value.trim_ascii();
    let split = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .ok_or(HttpError::NotBasic)?;
    let (scheme, encoded) = value.split_at(split);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(HttpError::NotBasic);
    }
    let encoded = encoded.trim_ascii();
    if encoded.len() > MAX_ENCODED_LEN {
        return Err(HttpError::BadBase64);
    }
    let decoded = BASE64.decode(encoded).map_err(|_| HttpError::BadBase64)?;
    let text = String::from_utf8(decoded).map_err(|_| HttpError::NotUtf8)?;
    let (login, password) = text.split_once(':').ok_or(HttpError::NoColon)?;
    Ok(Credentials {
        login: login.to_owned(),
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::head::{parse_head, HeadLimits};

    fn creds(login: &str, password: &str) -> Credentials {
        Credentials {
            login: login.into(),
            password: password.into(),
        }
    }

    #[test]
    fn decodes_and_splits_at_the_first_colon() {
        // "alice:pa:ss"
        assert_eq!(
            decode_basic(b"Basic YWxpY2U6cGE6c3M="),
            Ok(creds("alice", "pa:ss"))
        );
        assert_eq!(
            decode_basic(b"basic   YWxpY2U6cGE6c3M"),
            Ok(creds("alice", "pa:ss"))
        );
        // ":" and "alice:"
        assert_eq!(decode_basic(b"Basic Og=="), Ok(creds("", "")));
        assert_eq!(decode_basic(b"BASIC YWxpY2U6"), Ok(creds("alice", "")));
    }

    #[test]
    fn refuses_bad_values() {
        assert_eq!(decode_basic(b"Bearer abc"), Err(HttpError::NotBasic));
        assert_eq!(decode_basic(b"Basic"), Err(HttpError::NotBasic));
        assert_eq!(decode_basic(b"Basic !!!"), Err(HttpError::BadBase64));
        // "alice" without a colon
        assert_eq!(decode_basic(b"Basic YWxpY2U="), Err(HttpError::NoColon));
        // 0xff 0x3a
        assert_eq!(decode_basic(b"Basic /zo="), Err(HttpError::NotUtf8));
        let long = format!("Basic {}", "A".repeat(MAX_ENCODED_LEN + 4));
        assert_eq!(decode_basic(long.as_bytes()), Err(HttpError::BadBase64));
    }

    #[test]
    fn from_the_head() {
        let raw = b"CONNECT a.com:443 HTTP/1.1\r\nproxy-authorization: Basic YTpi\r\n\r\n";
        let (head, _) = parse_head(raw, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        assert_eq!(proxy_credentials(&head), Ok(Some(creds("a", "b"))));
        let raw = b"CONNECT a.com:443 HTTP/1.1\r\n\r\n";
        let (head, _) = parse_head(raw, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        assert_eq!(proxy_credentials(&head), Ok(None));
        let raw = b"CONNECT a.com:443 HTTP/1.1\r\nProxy-Authorization: Basic YTpi\r\nProxy-Authorization: Basic YzpkCg==\r\n\r\n";
        let (head, _) = parse_head(raw, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        assert_eq!(
            proxy_credentials(&head),
            Err(HttpError::DuplicateAuthorization)
        );
    }
}
