//! HiLink's session bookkeeping: the `SessionID` cookie and the queue of single-use
//! `__RequestVerificationToken`s. The firmware hands out one token with `SesTokInfo` and a
//! fresh one (or two, `…one`/`…two`) in the headers of every write's reply.

use reqwest::header::{HeaderMap, SET_COOKIE};

/// Reply headers that carry the next request token(s).
const NEXT_TOKEN_HEADERS: [&str; 3] = [
    "__RequestVerificationTokenone",
    "__RequestVerificationTokentwo",
    "__RequestVerificationToken",
];

#[derive(Default, Clone, PartialEq, Eq)]
pub struct Session {
    /// The `Cookie` header value, `SessionID=…`.
    pub cookie: Option<String>,
    tokens: Vec<String>,
}

/// The cookie and tokens are credentials for the modem's API: debug output shows only
/// whether they are there.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("has_cookie", &self.cookie.is_some())
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl Session {
    /// A session from `SesTokInfo`'s `SesInfo` and `TokInfo`.
    pub fn from_ses_tok_info(ses_info: Option<&str>, tok_info: Option<&str>) -> Session {
        let cookie = ses_info
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(|text| {
                if text.contains('=') {
                    text.to_owned()
                } else {
                    format!("SessionID={text}")
                }
            });
        let tokens = tok_info
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(|token| vec![token.to_owned()])
            .unwrap_or_default();
        Session { cookie, tokens }
    }

    /// Whether a `SesTokInfo` exchange has happened (a session is never empty after one).
    pub fn is_established(&self) -> bool {
        self.cookie.is_some() || !self.tokens.is_empty()
    }

    /// Takes the token for the next write; the firmware accepts each one once.
    pub fn take_token(&mut self) -> Option<String> {
        if self.tokens.is_empty() {
            None
        } else {
            Some(self.tokens.remove(0))
        }
    }

    /// Remembers what a reply's headers renew: next token(s) and a rotated session cookie.
    pub fn absorb_reply_headers(&mut self, headers: &HeaderMap) {
        let mut fresh: Vec<String> = Vec::new();
        // `…one`/`…two` come as a pair; the plain header only when they are absent.
        for name in &NEXT_TOKEN_HEADERS[..2] {
            if let Some(token) = header_text(headers, name) {
                fresh.push(token);
            }
        }
        if fresh.is_empty() {
            if let Some(token) = header_text(headers, NEXT_TOKEN_HEADERS[2]) {
                fresh.push(token);
            }
        }
        if !fresh.is_empty() {
            self.tokens = fresh;
        }
        for value in headers.get_all(SET_COOKIE) {
            if let Some(cookie) = value.to_str().ok().and_then(session_cookie) {
                self.cookie = Some(cookie);
            }
        }
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `SessionID=abc` from `SessionID=abc; path=/; HttpOnly`.
fn session_cookie(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?.trim();
    let (name, value) = pair.split_once('=')?;
    (name.trim() == "SessionID" && !value.trim().is_empty()).then(|| pair.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_token_is_used_once() {
        let mut session = Session::from_ses_tok_info(Some("SessionID=s1"), Some("t1"));
        assert_eq!(session.cookie.as_deref(), Some("SessionID=s1"));
        assert_eq!(session.take_token().as_deref(), Some("t1"));
        assert_eq!(session.take_token(), None);
        assert!(session.is_established());
    }

    #[test]
    fn reply_headers_renew_tokens_and_cookie() {
        let mut session = Session::from_ses_tok_info(Some("s0"), Some("t0"));
        assert_eq!(session.cookie.as_deref(), Some("SessionID=s0"));
        let mut headers = HeaderMap::new();
        headers.insert("__requestverificationtoken", HeaderValue::from_static("t1"));
        headers.insert(
            SET_COOKIE,
            HeaderValue::from_static("SessionID=s1; path=/; HttpOnly"),
        );
        session.absorb_reply_headers(&headers);
        assert_eq!(session.cookie.as_deref(), Some("SessionID=s1"));
        assert_eq!(session.take_token().as_deref(), Some("t1"));

        let mut pair = HeaderMap::new();
        pair.insert(
            "__requestverificationtokenone",
            HeaderValue::from_static("a"),
        );
        pair.insert(
            "__requestverificationtokentwo",
            HeaderValue::from_static("b"),
        );
        pair.insert("__requestverificationtoken", HeaderValue::from_static("c"));
        session.absorb_reply_headers(&pair);
        assert_eq!(session.take_token().as_deref(), Some("a"));
        assert_eq!(session.take_token().as_deref(), Some("b"));
        assert_eq!(session.take_token(), None);
    }

    #[test]
    fn debug_output_hides_credentials() {
        let session = Session::from_ses_tok_info(Some("SessionID=secret1"), Some("secret2"));
        let shown = format!("{session:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn an_empty_session_is_not_established() {
        assert!(!Session::default().is_established());
        assert!(!Session::from_ses_tok_info(Some(" "), Some("")).is_established());
    }
}
