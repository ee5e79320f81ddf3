//! Counting bytes as they flow: the caller's [`Meter`], the relay's own totals, and the time
//! of the last byte for the idle deadline.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

use super::error::Side;
use super::{RelayEnd, RelayTotals};

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to internet (shaped by the login's `outbound` bucket).
    Outbound,
    /// Internet to client (shaped by the login's `inbound` bucket).
    Inbound,
}

impl Direction {
    /// The side bytes of this direction are read from.
    pub(crate) fn source(self) -> Side {
        match self {
            Direction::Outbound => Side::Client,
            Direction::Inbound => Side::Upstream,
        }
    }

    /// The side bytes of this direction are written to.
    pub(crate) fn destination(self) -> Side {
        match self {
            Direction::Outbound => Side::Upstream,
            Direction::Inbound => Side::Client,
        }
    }
}

/// Where traffic is counted while it flows. Called once per chunk written (up to 64 KiB), not
/// only at the end, so long transfers show up live; implementations should be atomic adds.
pub trait Meter: Send + Sync {
    fn record(&self, direction: Direction, bytes: u64);
}

/// The counters of one relay or exchange. Both directions update it from the same task, but
/// through shared references, hence atomics (uncontended, so as cheap as plain adds).
pub(crate) struct Tally<'m> {
    meter: &'m dyn Meter,
    outbound: AtomicU64,
    inbound: AtomicU64,
    started: Instant,
    /// Milliseconds from `started` to the last byte read or written.
    last_active_ms: AtomicU64,
}

impl<'m> Tally<'m> {
    pub(crate) fn new(meter: &'m dyn Meter) -> Tally<'m> {
        Tally {
            meter,
            outbound: AtomicU64::new(0),
            inbound: AtomicU64::new(0),
            started: Instant::now(),
            last_active_ms: AtomicU64::new(0),
        }
    }

    /// `bytes` were written in `direction`.
    pub(crate) fn record(&self, direction: Direction, bytes: u64) {
        let counter = match direction {
            Direction::Outbound => &self.outbound,
            Direction::Inbound => &self.inbound,
        };
        counter.fetch_add(bytes, Ordering::Relaxed);
        self.meter.record(direction, bytes);
        self.touch();
    }

    /// Something moved (also reads that are not forwarded yet, such as a response head).
    pub(crate) fn touch(&self) {
        let ms = self.started.elapsed().as_millis();
        self.last_active_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub(crate) fn last_active(&self) -> Instant {
        let ms = self.last_active_ms.load(Ordering::Relaxed);
        self.started + std::time::Duration::from_millis(ms)
    }

    pub(crate) fn outbound(&self) -> u64 {
        self.outbound.load(Ordering::Relaxed)
    }

    pub(crate) fn inbound(&self) -> u64 {
        self.inbound.load(Ordering::Relaxed)
    }

    pub(crate) fn totals(&self, end: RelayEnd) -> RelayTotals {
        RelayTotals {
            outbound: self.outbound(),
            inbound: self.inbound(),
            end,
        }
    }
}
