//! Moving bytes between an authenticated client and its upstream connection.
//!
//! [`relay`] joins two TCP connections both ways until both are done (CONNECT tunnels, SOCKS
//! connections, upgraded HTTP connections); [`http_exchange`] forwards one absolute-URI HTTP
//! request and its response, keeping both connections usable for the next one.
//!
//! Every byte goes through the same one-direction [`flow`]: `splice(2)` through a pipe
//! (`splice`), or a user-space buffer (`copy`) for bulk transfers and where the kernel cannot
//! splice, the flow's `gear` choosing per step and sizing the buffer (`buffers`, under a
//! process-wide budget); tokens taken from the login's shared bucket per chunk (`shaping`) and
//! counted per chunk on the [`Meter`] (`tally`).
//!
//! Why by hand: the crates that splice under tokio (`tokio-splice`, `realm_io`) copy two
//! sockets both ways as one opaque call. The proxy needs more in the loop: tokens taken per
//! chunk from buckets shared across connections whose rate changes live, bytes counted as they
//! flow, a stop token and an idle deadline, body lengths that end a transfer exactly (HTTP), and
//! no pipe or buffer held by an idle connection.

mod bidirectional;
mod buffers;
mod copy;
mod error;
mod flow;
mod gear;
pub mod http_exchange;
mod pipe;
mod shaping;
mod shelf;
mod splice;
mod tally;
mod watch;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::limits::LoginLimit;

pub use error::RelayError;
pub use http_exchange::{http_exchange, ExchangeError, ExchangeOutcome, ForwardRequest};
pub use tally::{Direction, Meter};

/// How bytes may cross the kernel boundary. `Splice` splices and shifts to copying for bulk
/// transfers (and for good when the kernel refuses to splice a descriptor); `Copy` only copies,
/// so tests and benches can measure that path on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Splice,
    // Chosen only by tests and the relay benchmark.
    #[cfg_attr(not(test), allow(dead_code))]
    Copy,
}

/// What every relayed byte is subject to.
#[derive(Clone, Copy)]
pub struct RelayControls<'a> {
    /// The login's shared buckets; `None` (or unlimited buckets) for no shaping.
    pub limit: Option<&'a LoginLimit>,
    /// Where bytes are counted as they flow.
    pub meter: &'a dyn Meter,
    /// Cancelled: close both connections now (the profile was deleted or disabled).
    pub stop: &'a CancellationToken,
    /// No byte in either direction for this long: close.
    pub idle_timeout: Option<Duration>,
}

/// Why a relay ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEnd {
    /// Both sides finished sending (end of stream each way).
    Finished,
    /// The stop token was cancelled.
    Stopped,
    /// No byte moved for the idle timeout.
    IdleTimeout,
}

/// Bytes moved by a relay, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayTotals {
    /// Client to internet.
    pub outbound: u64,
    /// Internet to client.
    pub inbound: u64,
    pub end: RelayEnd,
}

/// Relays `client` and `upstream` both ways until both are done, then closes both.
///
/// `client_leftover` (bytes the client sent after its request head) goes upstream first. An
/// end of stream on one side shuts down writing on the other and the other direction goes on;
/// an error on either side ends both.
pub async fn relay(
    client: TcpStream,
    upstream: TcpStream,
    client_leftover: &[u8],
    limit: Option<Arc<LoginLimit>>,
    meter: &dyn Meter,
    stop: CancellationToken,
    idle_timeout: Option<Duration>,
) -> Result<RelayTotals, RelayError> {
    let controls = RelayControls {
        limit: limit.as_deref(),
        meter,
        stop: &stop,
        idle_timeout,
    };
    relay_streams(
        Engine::Splice,
        &client,
        &upstream,
        client_leftover,
        &controls,
    )
    .await
}

/// [`relay`] on borrowed streams with a chosen engine.
pub(crate) async fn relay_streams(
    engine: Engine,
    client: &TcpStream,
    upstream: &TcpStream,
    client_leftover: &[u8],
    controls: &RelayControls<'_>,
) -> Result<RelayTotals, RelayError> {
    let tally = tally::Tally::new(controls.meter);
    let both = std::pin::pin!(bidirectional::both_ways(
        engine,
        bidirectional::Ends {
            client,
            upstream,
            client_first: client_leftover,
            upstream_first: &[],
        },
        controls,
        &tally,
    ));
    let ended = watch::supervise(both, controls, &tally).await?;
    Ok(tally.totals(ended.end()))
}
