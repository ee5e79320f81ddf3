//! Ending a relay early: the stop token and the idle deadline.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::error::RelayError;
use super::tally::Tally;
use super::{RelayControls, RelayEnd};

/// How supervised work ended.
pub(crate) enum Ended<T> {
    Done(T),
    Stopped,
    IdleTimeout,
}

impl<T> Ended<T> {
    pub(crate) fn end(&self) -> RelayEnd {
        match self {
            Ended::Done(_) => RelayEnd::Finished,
            Ended::Stopped => RelayEnd::Stopped,
            Ended::IdleTimeout => RelayEnd::IdleTimeout,
        }
    }
}

/// Runs `work` until it finishes, the stop token is cancelled or nothing moves for the idle
/// timeout; the caller then closes the connections. `work` is pinned by the caller so it is
/// stored once, in the caller's future, rather than moved into this one (async fn arguments
/// are not overlapped with the locals they are moved into, which would double the relay's
/// size).
pub(crate) async fn supervise<T>(
    work: Pin<&mut impl Future<Output = Result<T, RelayError>>>,
    controls: &RelayControls<'_>,
    tally: &Tally<'_>,
) -> Result<Ended<T>, RelayError> {
    tokio::select! {
        // Stop first: a deleted profile must not move one more chunk.
        biased;
        _ = controls.stop.cancelled() => Ok(Ended::Stopped),
        _ = idle_expired(tally, controls.idle_timeout) => Ok(Ended::IdleTimeout),
        done = work => done.map(Ended::Done),
    }
}

/// Completes once nothing has moved for `timeout`; never without one. Sleeps until the
/// deadline the last activity implies, so a busy relay costs one timer wake per timeout.
async fn idle_expired(tally: &Tally<'_>, timeout: Option<Duration>) {
    let Some(timeout) = timeout else {
        return std::future::pending().await;
    };
    loop {
        let deadline = tally.last_active() + timeout;
        if deadline <= Instant::now() {
            return;
        }
        sleep_until(deadline).await;
    }
}
