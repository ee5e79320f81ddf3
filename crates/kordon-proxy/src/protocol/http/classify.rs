//! What a proxy request asks for: a CONNECT tunnel or an absolute-URI request to forward.

use std::borrow::Cow;

use super::error::HttpError;
use super::head::RequestHead;
use crate::protocol::target::Target;

/// The port of an `http://` URI that names none.
pub const DEFAULT_HTTP_PORT: u16 = 80;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyRequest<'b> {
    /// `CONNECT host:port`: a tunnel to any port.
    Connect(Target),
    /// `METHOD http://host[:port]/path`: forwarded with `path` as the origin-form target.
    Forward { target: Target, path: Cow<'b, str> },
}

/// Reads the request target. The `Host` header is ignored: for absolute-form requests RFC
/// 9112 §3.2.2 makes the URI authoritative, and CONNECT names its destination itself.
pub fn classify<'b>(head: &RequestHead<'b>) -> Result<ProxyRequest<'b>, HttpError> {
    if head.method == "CONNECT" {
        return Ok(ProxyRequest::Connect(Target::parse_authority(head.target)?));
    }
    let (target, path) = parse_absolute_uri(head.target)?;
    Ok(ProxyRequest::Forward { target, path })
}

fn parse_absolute_uri(uri: &str) -> Result<(Target, Cow<'_, str>), HttpError> {
    let Some(colon) = uri.find("://") else {
        return Err(HttpError::NotProxyForm(uri.to_owned()));
    };
    let (scheme, rest) = (&uri[..colon], &uri[colon + 3..]);
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(HttpError::UnsupportedScheme(uri.to_owned()));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err(HttpError::UserInfoInTarget);
    }
    let target = Target::parse_authority_or(authority, DEFAULT_HTTP_PORT)?;
    let path = path.split_once('#').map_or(path, |(before, _)| before);
    let path = if path.starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("/{path}"))
    };
    Ok((target, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::head::{parse_head, HeadLimits};
    use crate::protocol::target::{Host, TargetError};

    fn classify_line(method: &str, target: &str) -> Result<ProxyRequest<'static>, HttpError> {
        let raw = format!("{method} {target} HTTP/1.1\r\nHost: ignored.example\r\n\r\n");
        let raw: &'static [u8] = Box::leak(raw.into_bytes().into_boxed_slice());
        let (head, _) = parse_head(raw, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        classify(&head)
    }

    fn forward(target: &str) -> (String, String) {
        match classify_line("GET", target).unwrap() {
            ProxyRequest::Forward { target, path } => (target.to_string(), path.into_owned()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connect_targets() {
        let ProxyRequest::Connect(t) = classify_line("CONNECT", "example.com:443").unwrap() else {
            panic!()
        };
        assert_eq!(t.host(), &Host::Domain("example.com".into()));
        assert_eq!(t.port(), 443);
        let ProxyRequest::Connect(t) = classify_line("CONNECT", "[2001:db8::1]:22").unwrap() else {
            panic!()
        };
        assert_eq!(t.to_string(), "[2001:db8::1]:22");
        assert_eq!(
            classify_line("CONNECT", "example.com"),
            Err(HttpError::BadTarget(TargetError::MissingPort))
        );
        assert_eq!(
            classify_line("CONNECT", "http://example.com:443/"),
            Err(HttpError::BadTarget(TargetError::ExtraColon))
        );
    }

    #[test]
    fn absolute_uris() {
        assert_eq!(
            forward("http://example.com/a/b?c=d"),
            ("example.com:80".into(), "/a/b?c=d".into())
        );
        assert_eq!(
            forward("HTTP://Example.com:8080"),
            ("example.com:8080".into(), "/".into())
        );
        assert_eq!(
            forward("http://example.com?q"),
            ("example.com:80".into(), "/?q".into())
        );
        assert_eq!(
            forward("http://[::1]:81/x#frag"),
            ("[::1]:81".into(), "/x".into())
        );
        assert_eq!(
            forward("http://10.0.0.1/"),
            ("10.0.0.1:80".into(), "/".into())
        );
    }

    #[test]
    fn refused_targets() {
        assert!(matches!(
            classify_line("GET", "/index.html"),
            Err(HttpError::NotProxyForm(_))
        ));
        assert!(matches!(
            classify_line("GET", "https://a.com/"),
            Err(HttpError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            classify_line("GET", "ftp://a.com/"),
            Err(HttpError::UnsupportedScheme(_))
        ));
        assert_eq!(
            classify_line("GET", "http://u:p@a.com/"),
            Err(HttpError::UserInfoInTarget)
        );
        assert_eq!(
            classify_line("GET", "http:///path"),
            Err(HttpError::BadTarget(TargetError::EmptyHost))
        );
        assert_eq!(
            classify_line("GET", "http://a.com:0/"),
            Err(HttpError::BadTarget(TargetError::PortZero))
        );
        assert_eq!(
            classify_line("GET", "http://2130706433/"),
            Err(HttpError::BadTarget(TargetError::NumericHost))
        );
    }
}
