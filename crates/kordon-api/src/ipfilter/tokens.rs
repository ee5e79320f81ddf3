//! Access tokens of the ipfilter dialect: 32 upper-case hex characters from the OS's CSPRNG,
//! valid [`TOKEN_LIFETIME_MS`] from issue and extended by each call that uses them. They live
//! in memory only (a restart ends every session, as a 30-second token can afford).
//!
//! An expired token is remembered for a while so a client is told "expired" rather than
//! "unknown"; a user's tokens are dropped when the user may no longer use the API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::RngCore;

use super::clock::Clock;

/// How long a token lives without use.
pub const TOKEN_LIFETIME_MS: i64 = 30_000;
/// How long an expired token is still recognised as expired.
const EXPIRED_MEMORY_MS: i64 = 3_600_000;
/// The length of a token.
pub const TOKEN_LEN: usize = 32;

/// Why a token does not open the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Malformed,
    Unknown,
    /// Expired at these unix milliseconds.
    Expired(i64),
}

#[derive(Debug, Clone, Copy)]
struct Grant {
    user_id: i64,
    expires_ms: i64,
}

/// The issued tokens. Cheap to clone (shared).
#[derive(Clone)]
pub struct TokenBook {
    clock: Arc<dyn Clock>,
    grants: Arc<Mutex<HashMap<String, Grant>>>,
}

/// A token as the client may send it: 32 hex digits (any case). Returns the canonical
/// upper-case form.
pub fn canonical(token: &str) -> Option<String> {
    let token = token.trim();
    (token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| token.to_ascii_uppercase())
}

impl TokenBook {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            grants: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, HashMap<String, Grant>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.grants.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new token for `user_id`; returns it with its lifetime in seconds.
    pub fn issue(&self, user_id: i64) -> (String, i64) {
        let mut bytes = [0u8; TOKEN_LEN / 2];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex_upper(&bytes);
        let now = self.clock.now_millis();
        let mut grants = self.grants();
        grants.retain(|_, grant| grant.expires_ms + EXPIRED_MEMORY_MS > now);
        grants.insert(
            token.clone(),
            Grant {
                user_id,
                expires_ms: now + TOKEN_LIFETIME_MS,
            },
        );
        (token, TOKEN_LIFETIME_MS / 1000)
    }

    /// The user of a live token, whose lifetime starts again.
    pub fn redeem(&self, token: &str) -> Result<(String, i64), TokenRefusal> {
        let token = canonical(token).ok_or(TokenRefusal::Malformed)?;
        let now = self.clock.now_millis();
        let mut grants = self.grants();
        let grant = grants.get_mut(&token).ok_or(TokenRefusal::Unknown)?;
        if grant.expires_ms <= now {
            return Err(TokenRefusal::Expired(grant.expires_ms));
        }
        grant.expires_ms = now + TOKEN_LIFETIME_MS;
        Ok((token, grant.user_id))
    }

    /// Drops every token of `user_id`.
    pub fn revoke_user(&self, user_id: i64) {
        self.grants().retain(|_, grant| grant.user_id != user_id);
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfilter::clock::ManualClock;

    #[test]
    fn tokens_live_thirty_seconds_from_last_use() {
        let clock = ManualClock::new();
        let book = TokenBook::new(Arc::new(clock.clone()));
        let (token, lifetime) = book.issue(7);
        assert_eq!(lifetime, 30);
        assert_eq!(token.len(), 32);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        clock.advance(29_000);
        assert_eq!(book.redeem(&token.to_lowercase()).unwrap().1, 7);
        clock.advance(29_000);
        assert!(book.redeem(&token).is_ok(), "extended by the last use");
        clock.advance(30_000);
        assert!(matches!(book.redeem(&token), Err(TokenRefusal::Expired(_))));
        assert_eq!(book.redeem("0123"), Err(TokenRefusal::Malformed));
        assert_eq!(
            book.redeem("0123456789ABCDEF0123456789ABCDEF"),
            Err(TokenRefusal::Unknown)
        );
        let (other, _) = book.issue(8);
        book.revoke_user(8);
        assert_eq!(book.redeem(&other), Err(TokenRefusal::Unknown));
    }
}
