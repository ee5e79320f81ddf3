//! Moving bytes between client and destination once both are connected.

use std::io;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::limits::LoginLimit;

pub enum Direction {
    /// Client to internet.
    Outbound,
    /// Internet to client.
    Inbound,
}

pub trait Meter: Send + Sync {
    fn record(&self, direction: Direction, bytes: u64);
}

pub async fn relay(
    mut client: TcpStream,
    mut upstream: TcpStream,
    leftover: &[u8],
    _limit: Option<Arc<LoginLimit>>,
    meter: &dyn Meter,
) -> io::Result<()> {
    upstream.write_all(leftover).await?;
    meter.record(Direction::Outbound, leftover.len() as u64);
    let (out, inb) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    meter.record(Direction::Outbound, out);
    meter.record(Direction::Inbound, inb);
    Ok(())
}
