//! HiLink sessions and their single-use `__RequestVerificationToken`s.
//!
//! A session is named by the `SessionID` cookie. Each token is accepted once, for the session
//! it was issued to, and only while no expiry (token epoch bump) happened since it was issued.

use std::collections::VecDeque;

use rand::distributions::{Alphanumeric, DistString};

/// Wrong session (`SessionID` cookie missing or unknown).
pub const ERROR_WRONG_SESSION: u32 = 125003;
/// Missing, used or expired token.
pub const ERROR_CSRF: u32 = 125002;

const MAX_SESSIONS: usize = 32;
const MAX_TOKENS: usize = 8;

#[derive(Debug, Default)]
pub struct TokenBook {
    sessions: VecDeque<Session>,
}

#[derive(Debug)]
struct Session {
    id: String,
    tokens: VecDeque<(String, u64)>,
}

impl TokenBook {
    /// The session named by `cookie` if it is known, else a new one.
    pub fn session(&mut self, cookie: Option<&str>) -> String {
        if let Some(id) = cookie {
            if self.sessions.iter().any(|s| s.id == id) {
                return id.to_string();
            }
        }
        let id = Alphanumeric.sample_string(&mut rand::thread_rng(), 128);
        if self.sessions.len() == MAX_SESSIONS {
            self.sessions.pop_front();
        }
        self.sessions.push_back(Session {
            id: id.clone(),
            tokens: VecDeque::new(),
        });
        id
    }

    /// A new token for `session` (which must come from [`TokenBook::session`]).
    pub fn issue(&mut self, session: &str, epoch: u64) -> String {
        let token = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
        if let Some(s) = self.sessions.iter_mut().find(|s| s.id == session) {
            if s.tokens.len() == MAX_TOKENS {
                s.tokens.pop_front();
            }
            s.tokens.push_back((token.clone(), epoch));
        }
        token
    }

    /// Accepts `token` once for `session`; the error is the firmware's error code.
    pub fn consume(
        &mut self,
        session: Option<&str>,
        token: Option<&str>,
        epoch: u64,
    ) -> Result<(), u32> {
        let s = session
            .and_then(|id| self.sessions.iter_mut().find(|s| s.id == id))
            .ok_or(ERROR_WRONG_SESSION)?;
        let token = token.ok_or(ERROR_CSRF)?;
        let at = s
            .tokens
            .iter()
            .position(|(t, _)| t == token)
            .ok_or(ERROR_CSRF)?;
        let (_, issued_in) = s.tokens.remove(at).ok_or(ERROR_CSRF)?;
        if issued_in == epoch {
            Ok(())
        } else {
            Err(ERROR_CSRF)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_single_use_per_session_and_die_with_their_epoch() {
        let mut book = TokenBook::default();
        let s = book.session(None);
        assert_eq!(book.session(Some(&s)), s);
        let t = book.issue(&s, 0);
        assert_eq!(
            book.consume(Some("nope"), Some(&t), 0),
            Err(ERROR_WRONG_SESSION)
        );
        assert_eq!(book.consume(Some(&s), Some(&t), 0), Ok(()));
        assert_eq!(book.consume(Some(&s), Some(&t), 0), Err(ERROR_CSRF));
        let t2 = book.issue(&s, 0);
        assert_eq!(book.consume(Some(&s), Some(&t2), 1), Err(ERROR_CSRF));
        assert_eq!(book.consume(Some(&s), None, 1), Err(ERROR_CSRF));
        let other = book.session(None);
        let t3 = book.issue(&other, 1);
        assert_eq!(book.consume(Some(&s), Some(&t3), 1), Err(ERROR_CSRF));
    }
}
