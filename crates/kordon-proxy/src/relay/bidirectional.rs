//! Both directions of a relay at once, with half-close.

use tokio::net::TcpStream;

use super::error::RelayError;
use super::flow::Flow;
use super::tally::{Direction, Tally};
use super::{Engine, RelayControls};

/// The two connections and the bytes each direction sends before relaying (bytes already
/// read past a request or response head).
pub(crate) struct Ends<'a> {
    pub(crate) client: &'a TcpStream,
    pub(crate) upstream: &'a TcpStream,
    pub(crate) client_first: &'a [u8],
    pub(crate) upstream_first: &'a [u8],
}

/// Relays until both directions reached end of stream; the first error ends both.
pub(crate) async fn both_ways(
    engine: Engine,
    ends: Ends<'_>,
    controls: &RelayControls<'_>,
    tally: &Tally<'_>,
) -> Result<(), RelayError> {
    let flow = |direction| {
        Flow::new(
            direction,
            ends.client,
            ends.upstream,
            controls,
            tally,
            engine,
        )
    };
    let outbound = pump(flow(Direction::Outbound), ends.client_first);
    let inbound = pump(flow(Direction::Inbound), ends.upstream_first);
    tokio::try_join!(outbound, inbound).map(|_| ())
}

/// One direction to its end: the buffered bytes, then everything the source sends, then a
/// half-close so the destination sees the end while the other direction goes on.
async fn pump(mut flow: Flow<'_>, first: &[u8]) -> Result<(), RelayError> {
    flow.write_all(first).await?;
    flow.forward(None).await?;
    flow.half_close()
}
