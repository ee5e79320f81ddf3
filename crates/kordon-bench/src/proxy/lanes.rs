//! The lanes of a run: each a way from the bench's clients to its servers (direct, or through
//! one proxy configuration), with the process group whose memory it costs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::client::{self, Route};
use super::servers;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneId {
    Direct,
    Dante,
    Squid,
    BareRelay,
    KordonSocks,
    KordonConnect,
    KordonSocksIpOnly,
}

impl LaneId {
    pub fn label(self) -> &'static str {
        match self {
            LaneId::Direct => "direct (no proxy)",
            LaneId::Dante => "dante SOCKS5 (no auth)",
            LaneId::Squid => "squid CONNECT (no auth)",
            LaneId::BareRelay => "bare relay SOCKS5 (floor)",
            LaneId::KordonSocks => "kordon SOCKS5 (login)",
            LaneId::KordonConnect => "kordon CONNECT (login)",
            LaneId::KordonSocksIpOnly => "kordon SOCKS5 (iponly)",
        }
    }

    pub fn is_kordon(self) -> bool {
        matches!(
            self,
            LaneId::KordonSocks | LaneId::KordonConnect | LaneId::KordonSocksIpOnly
        )
    }
}

/// Lanes of the bulk test, in the order measured. The bare relay is a floor for bulk
/// throughput only; its thread per connection says nothing about connection rates.
pub const BULK: [LaneId; 6] = [
    LaneId::Direct,
    LaneId::Dante,
    LaneId::Squid,
    LaneId::BareRelay,
    LaneId::KordonSocks,
    LaneId::KordonConnect,
];

/// Lanes of the connection-rate test; direct first, the baseline of added latency.
pub const RATE: [LaneId; 6] = [
    LaneId::Direct,
    LaneId::Dante,
    LaneId::Squid,
    LaneId::KordonSocks,
    LaneId::KordonSocksIpOnly,
    LaneId::KordonConnect,
];

/// Lanes of the idle-connections test (a proxy is needed to have memory to measure).
pub const IDLE: [LaneId; 4] = [
    LaneId::Dante,
    LaneId::Squid,
    LaneId::KordonSocks,
    LaneId::KordonConnect,
];

pub struct Lane {
    pub id: LaneId,
    pub route: Route,
    /// The process group of the proxy behind this lane; `None` for direct.
    pub process_group: Option<u32>,
}

/// Retries one echo exchange along `route` until it works: the proxy is up and carries
/// traffic. The last failure is the error.
pub async fn probe(route: &Route, echo: SocketAddr, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let attempt = async {
            let mut stream = client::open(route, echo).await?;
            servers::exchange(&mut stream).await
        };
        let error = match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => format!("{error:#}"),
            Err(_) => "no answer within 5 s".to_owned(),
        };
        if Instant::now() > deadline {
            bail!("no echo exchange through the proxy: {error}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A port free on every local address now (the proxy about to be started binds it).
pub fn free_port() -> Result<u16> {
    Ok(free_ports(1)?[0])
}

/// `count` distinct ports free on every local address now.
pub fn free_ports(count: usize) -> Result<Vec<u16>> {
    // Held together until all are chosen, so the kernel cannot hand one out twice.
    let listeners = (0..count)
        .map(|_| std::net::TcpListener::bind("0.0.0.0:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|listener| Ok(listener.local_addr()?.port()))
        .collect()
}
