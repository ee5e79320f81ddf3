//! Idle connections: N streams opened through a proxy to the echo server and held without a
//! byte; the proxy's memory is read while they are all open. Then every one of them carries
//! one echo exchange, which proves that each was a live tunnel when it was counted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::client::{self, Route};
use super::process::{group_memory, Memory};
use super::servers;

/// Connections opened (and later checked) at a time.
const IN_FLIGHT: usize = 64;
/// How long one connection or one exchange may take.
const STEP_LIMIT: Duration = Duration::from_secs(10);
/// Time given to the proxy after the last open, before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct IdleFigures {
    pub held: usize,
    pub open_time: Duration,
    /// The proxy's memory before the first connection.
    pub before: Memory,
    /// The proxy's memory with every connection open.
    pub holding: Memory,
}

impl IdleFigures {
    /// Resident KiB with `count` connections, extrapolated from the growth measured.
    pub fn projected_rss_kib(&self, count: usize) -> u64 {
        let growth = self.holding.rss_kib.saturating_sub(self.before.rss_kib);
        self.before.rss_kib + (growth as f64 * count as f64 / self.held as f64).round() as u64
    }

    /// Resident bytes each held connection added.
    pub fn bytes_per_connection(&self) -> f64 {
        self.holding.rss_kib.saturating_sub(self.before.rss_kib) as f64 * 1024.0 / self.held as f64
    }
}

pub async fn measure(
    route: &Route,
    echo: SocketAddr,
    count: usize,
    process_group: u32,
) -> Result<IdleFigures> {
    let before = group_memory(process_group)?;
    let started = Instant::now();
    let streams = open_all(route, echo, count).await?;
    let open_time = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    let holding = group_memory(process_group)?;
    check_all(streams).await?;
    Ok(IdleFigures {
        held: count,
        open_time,
        before,
        holding,
    })
}

async fn open_all(route: &Route, echo: SocketAddr, count: usize) -> Result<Vec<TcpStream>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut openers = JoinSet::new();
    for _ in 0..IN_FLIGHT.min(count) {
        let (route, next) = (route.clone(), next.clone());
        openers.spawn(async move {
            let mut opened = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    return anyhow::Ok(opened);
                }
                let stream = tokio::time::timeout(STEP_LIMIT, client::open(&route, echo))
                    .await
                    .map_err(|_| anyhow::anyhow!("no answer within {} s", STEP_LIMIT.as_secs()))
                    .and_then(|opened| opened)
                    .with_context(|| format!("idle connection {} of {count}", index + 1))?;
                opened.push(stream);
            }
        });
    }
    let mut streams = Vec::with_capacity(count);
    while let Some(opened) = openers.join_next().await {
        streams.extend(opened.context("opener task")??);
    }
    Ok(streams)
}

async fn check_all(streams: Vec<TcpStream>) -> Result<()> {
    let count = streams.len();
    let mut batches: Vec<Vec<TcpStream>> = (0..IN_FLIGHT).map(|_| Vec::new()).collect();
    for (index, stream) in streams.into_iter().enumerate() {
        batches[index % IN_FLIGHT].push(stream);
    }
    let mut checkers = JoinSet::new();
    for batch in batches {
        checkers.spawn(async move {
            let mut alive = 0usize;
            for mut stream in batch {
                if let Ok(Ok(())) =
                    tokio::time::timeout(STEP_LIMIT, servers::exchange(&mut stream)).await
                {
                    alive += 1;
                }
            }
            alive
        });
    }
    let mut alive = 0;
    while let Some(checked) = checkers.join_next().await {
        alive += checked.context("checker task")?;
    }
    if alive != count {
        bail!(
            "{} of the {count} held connections no longer carried an echo exchange",
            count - alive
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::Servers;

    #[tokio::test]
    async fn holds_and_checks_connections_of_a_process_group() {
        let servers = Servers::start().await.unwrap();
        // Direct connections; the memory read is this test process's own group.
        let group = nix::unistd::getpgrp().as_raw() as u32;
        let figures = measure(&Route::Direct, servers.echo, 100, group)
            .await
            .unwrap();
        assert_eq!(figures.held, 100);
        assert!(figures.holding.rss_kib > 0);
    }
}
