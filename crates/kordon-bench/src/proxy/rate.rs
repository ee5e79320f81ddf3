//! Connection rate: W workers each loop over connect (with the route's handshake), a 1 KiB
//! request, the 1 KiB reply and the close, for a fixed window after a warm-up. Each
//! connection's latency runs from the start of its TCP connect to the last byte of its reply.
//! Rounds of one lane are pooled: connections over the summed windows, percentiles over every
//! connection. The warm-up and the window are separate runs, so the proxy's CPU time can be
//! read around the window alone.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::task::JoinSet;

use super::client::{self, Route};
use super::servers;
use super::stats::percentile;

/// A connection that takes longer than this counts as failed.
const CONNECTION_LIMIT: Duration = Duration::from_secs(10);

/// One connection-rate measurement.
#[derive(Debug, Clone)]
pub struct RateFigures {
    pub completed: usize,
    pub window: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: usize,
    pub first_error: Option<String>,
    /// The proxy's CPU milliseconds per 1,000 connections, median of the rounds; `None`
    /// without a proxy.
    pub proxy_cpu_ms_per_thousand: Option<f64>,
}

impl RateFigures {
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.window.as_secs_f64()
    }
}

/// Connections seen over one or more windows: each latency, the time measured, the
/// failures.
#[derive(Debug, Default)]
pub struct Tally {
    latencies: Vec<Duration>,
    window: Duration,
    /// Connections that completed after the window closed (not in the rate, but the proxy
    /// carried them while its CPU was metered).
    late: usize,
    errors: usize,
    first_error: Option<String>,
}

impl Tally {
    /// Adds another window's connections (rounds of one lane are pooled).
    pub fn absorb(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.window += other.window;
        self.late += other.late;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// Every connection that completed, in the window or just after it.
    pub fn exchanges(&self) -> usize {
        self.latencies.len() + self.late
    }

    /// One line for progress output.
    pub fn summary(&self) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        format!(
            "{:.0}/s, p99 {:.2} ms, {} errors",
            sorted.len() as f64 / self.window.as_secs_f64().max(f64::EPSILON),
            percentile(&sorted, 99.0).as_secs_f64() * 1000.0,
            self.errors
        )
    }

    /// The rate and latency percentiles; an error when no connection completed at all.
    pub fn figures(mut self) -> Result<RateFigures> {
        if self.latencies.is_empty() {
            bail!(
                "no connection completed in {} s: {}",
                self.window.as_secs(),
                self.first_error.as_deref().unwrap_or("no error either")
            );
        }
        self.latencies.sort_unstable();
        Ok(RateFigures {
            completed: self.latencies.len(),
            window: self.window,
            p50: percentile(&self.latencies, 50.0),
            p99: percentile(&self.latencies, 99.0),
            errors: self.errors,
            first_error: self.first_error,
            proxy_cpu_ms_per_thousand: None,
        })
    }
}

/// All workers for `window`; counts the connections that completed inside it. Returns once
/// every worker's last connection has ended.
pub async fn run(
    route: &Route,
    echo: SocketAddr,
    workers: usize,
    window: Duration,
) -> Result<Tally> {
    let deadline = Instant::now() + window;
    let mut running = JoinSet::new();
    for _ in 0..workers {
        let route = route.clone();
        running.spawn(async move { worker(&route, echo, deadline).await });
    }
    let mut total = Tally {
        window,
        ..Tally::default()
    };
    while let Some(tally) = running.join_next().await {
        total.absorb(tally.context("rate worker task")?);
    }
    Ok(total)
}

async fn worker(route: &Route, echo: SocketAddr, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let outcome = tokio::time::timeout(CONNECTION_LIMIT, async {
            let mut stream = client::open(route, echo).await?;
            servers::request_reply(&mut stream).await?;
            let latency = started.elapsed();
            servers::await_close(&mut stream).await?;
            anyhow::Ok(latency)
        })
        .await;
        let finished_in_window = Instant::now() <= deadline;
        match outcome {
            Ok(Ok(latency)) if finished_in_window => tally.latencies.push(latency),
            Ok(Ok(_)) => tally.late += 1,
            Ok(Err(error)) => {
                tally.errors += 1;
                tally
                    .first_error
                    .get_or_insert_with(|| format!("{error:#}"));
            }
            Err(_) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| {
                    format!("a connection took over {} s", CONNECTION_LIMIT.as_secs())
                });
            }
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::Servers;

    #[tokio::test]
    async fn counts_connections_and_their_latency() {
        let servers = Servers::start().await.unwrap();
        let mut tally = Tally::default();
        for _ in 0..2 {
            let round = run(&Route::Direct, servers.echo, 4, Duration::from_millis(300))
                .await
                .unwrap();
            assert!(round.exchanges() >= round.latencies.len());
            // Each worker may finish one connection after the window.
            assert!(round.late <= 4);
            tally.absorb(round);
        }
        let exchanges = tally.exchanges();
        let figures = tally.figures().unwrap();
        assert!(exchanges >= figures.completed && figures.proxy_cpu_ms_per_thousand.is_none());
        assert_eq!(figures.window, Duration::from_millis(600));
        assert!(figures.completed > 0 && figures.per_second() > 0.0);
        assert_eq!(figures.errors, 0, "{:?}", figures.first_error);
        assert!(figures.p50 <= figures.p99 && figures.p99 > Duration::ZERO);
    }
}
