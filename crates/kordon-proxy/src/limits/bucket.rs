//! A token bucket in bytes, shared by many tasks. Rates are set in bits per second, as the
//! API states them; 0 means unlimited, and then taking never waits nor locks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The smallest burst: one full read buffer, so a slow cap still moves whole buffers.
pub const MIN_BURST: u64 = 16 * 1024;

#[derive(Debug)]
struct Level {
    /// Bytes available now (never above the burst).
    tokens: f64,
    refilled: Instant,
}

/// The burst in seconds of the rate. Short, so a cap holds over any few seconds (a client
/// measuring from its first byte sees at most this much above the rate), long enough that
/// shaped connections move large chunks rather than many small ones.
pub const BURST_WINDOW: f64 = 0.1;

/// Bytes per second and the burst ([`BURST_WINDOW`] worth, at least [`MIN_BURST`]).
fn shape(bits_per_second: u64) -> (f64, f64) {
    let bytes = bits_per_second as f64 / 8.0;
    (bytes, (bytes * BURST_WINDOW).max(MIN_BURST as f64))
}

#[derive(Debug)]
pub struct TokenBucket {
    /// Bits per second; 0 = unlimited. Read without the lock on every take.
    bits_per_second: AtomicU64,
    level: Mutex<Level>,
    /// Wakes waiters when the rate changes, so a raised or lifted cap applies at once.
    rate_changed: Notify,
    /// Takers queue here, first come first served (tokio's mutex is fair), so connections
    /// sharing a login take turns chunk by chunk instead of whichever timer fires first
    /// winning every time.
    turn: tokio::sync::Mutex<()>,
}

impl TokenBucket {
    /// A bucket that starts full.
    pub fn new(bits_per_second: u64) -> TokenBucket {
        let (_, burst) = shape(bits_per_second);
        TokenBucket {
            bits_per_second: AtomicU64::new(bits_per_second),
            level: Mutex::new(Level {
                tokens: burst,
                refilled: Instant::now(),
            }),
            rate_changed: Notify::new(),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    pub fn bits_per_second(&self) -> u64 {
        self.bits_per_second.load(Ordering::Relaxed)
    }

    pub fn is_unlimited(&self) -> bool {
        self.bits_per_second() == 0
    }

    /// Changes the rate live; tasks waiting in [`TokenBucket::take`] re-plan with it.
    pub fn set_rate(&self, bits_per_second: u64) {
        {
            let mut level = self.lock();
            // Under the lock, so tokens earned so far count at the old rate, none at the new.
            let previous = self.bits_per_second();
            if previous == bits_per_second {
                return;
            }
            refill(&mut level, previous);
            self.bits_per_second
                .store(bits_per_second, Ordering::Relaxed);
            let (_, burst) = shape(bits_per_second);
            level.tokens = level.tokens.min(burst);
        }
        self.rate_changed.notify_waiters();
    }

    /// Waits until `bytes` may pass. More than one burst is taken a burst at a time.
    pub async fn take(&self, bytes: u64) {
        // The common case of an unlimited login costs one atomic load, no lock.
        if self.is_unlimited() {
            return;
        }
        let mut left = bytes;
        while left > 0 {
            let _turn = self.turn.lock().await;
            left -= self.take_some(left).await;
        }
    }

    /// Waits until up to one burst of `wanted` is available, takes it and says how much it
    /// took (all of it when unlimited).
    async fn take_some(&self, wanted: u64) -> u64 {
        loop {
            let rate_changed = self.rate_changed.notified();
            tokio::pin!(rate_changed);
            // Registered before the rate is read, so a change in between is not missed.
            rate_changed.as_mut().enable();
            let wait = {
                let mut level = self.lock();
                // Read under the lock: `set_rate` changes it there.
                let rate = self.bits_per_second();
                if rate == 0 {
                    return wanted;
                }
                refill(&mut level, rate);
                let (bytes_per_second, burst) = shape(rate);
                let chunk = wanted.min(burst as u64);
                if level.tokens >= chunk as f64 {
                    level.tokens -= chunk as f64;
                    return chunk;
                }
                Duration::from_secs_f64((chunk as f64 - level.tokens) / bytes_per_second)
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = &mut rate_changed => {}
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Level> {
        // The level is two numbers updated together; a panic elsewhere cannot leave it torn.
        self.level
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Adds the tokens earned since the last refill at `bits_per_second`.
fn refill(level: &mut Level, bits_per_second: u64) {
    let now = Instant::now();
    let elapsed = now.saturating_duration_since(level.refilled).as_secs_f64();
    level.refilled = now;
    if bits_per_second == 0 {
        return;
    }
    let (bytes_per_second, burst) = shape(bits_per_second);
    level.tokens = (level.tokens + elapsed * bytes_per_second).min(burst);
}
