//! Bulk throughput: N parallel streams through a route move a total byte count to or from the
//! bulk server; throughput is that total over the wall time from the first connect to the
//! last byte (a download's last byte read, an upload's acknowledgement).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

use super::client::{self, Route};
use super::servers::{bulk_request, Direction, BULK_CHUNK};

/// One bulk measurement.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub bytes: u64,
    pub elapsed: Duration,
}

impl Throughput {
    /// Decimal megabytes per second.
    pub fn megabytes_per_second(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64() / 1e6
    }
}

/// The median of rounds by throughput (the upper one of an even count).
pub fn median(mut rounds: Vec<Throughput>) -> Option<Throughput> {
    rounds.sort_by(|a, b| {
        a.megabytes_per_second()
            .total_cmp(&b.megabytes_per_second())
    });
    rounds.get(rounds.len() / 2).copied()
}

/// Moves `total` bytes over `streams` streams (split evenly); fails when any stream fails or
/// the whole transfer takes longer than `limit`.
pub async fn measure(
    route: &Route,
    server: SocketAddr,
    direction: Direction,
    streams: usize,
    total: u64,
    limit: Duration,
) -> Result<Throughput> {
    if streams == 0 || total < streams as u64 {
        bail!("bulk needs at least one byte per stream");
    }
    let share = total / streams as u64;
    let started = Instant::now();
    let mut transfers = JoinSet::new();
    for index in 0..streams {
        let route = route.clone();
        let bytes = if index + 1 == streams {
            total - share * (streams as u64 - 1)
        } else {
            share
        };
        transfers.spawn(async move { transfer(&route, server, direction, bytes).await });
    }
    let all = async {
        while let Some(done) = transfers.join_next().await {
            done.context("bulk stream task")??;
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(limit, all).await.with_context(|| {
        format!(
            "{} of {total} bytes over {streams} streams took longer than {} s",
            direction.label(),
            limit.as_secs()
        )
    })??;
    Ok(Throughput {
        bytes: total,
        elapsed: started.elapsed(),
    })
}

async fn transfer(
    route: &Route,
    server: SocketAddr,
    direction: Direction,
    bytes: u64,
) -> Result<()> {
    let mut stream = client::open(route, server).await?;
    stream.write_all(&bulk_request(direction, bytes)).await?;
    let mut buffer = vec![0x33_u8; BULK_CHUNK];
    match direction {
        Direction::Download => {
            let mut received = 0u64;
            loop {
                let read = stream.read(&mut buffer).await?;
                if read == 0 {
                    break;
                }
                received += read as u64;
            }
            if received != bytes {
                bail!("download ended after {received} of {bytes} bytes");
            }
        }
        Direction::Upload => {
            let mut left = bytes;
            while left > 0 {
                let now = left.min(BULK_CHUNK as u64) as usize;
                stream.write_all(&buffer[..now]).await?;
                left -= now as u64;
            }
            let mut ack = [0u8; 8];
            stream
                .read_exact(&mut ack)
                .await
                .context("upload acknowledgement")?;
            let received = u64::from_be_bytes(ack);
            if received != bytes {
                bail!("the sink received {received} of {bytes} bytes");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::Servers;

    #[test]
    fn median_of_rounds() {
        let second = |seconds: u64| Throughput {
            bytes: 1_000_000,
            elapsed: Duration::from_secs(seconds),
        };
        let middle = median(vec![second(1), second(4), second(2)]).unwrap();
        assert_eq!(middle.elapsed, Duration::from_secs(2));
        assert!(median(Vec::new()).is_none());
    }

    #[tokio::test]
    async fn moves_the_whole_count_both_ways() {
        let servers = Servers::start().await.unwrap();
        for direction in [Direction::Download, Direction::Upload] {
            let figure = measure(
                &Route::Direct,
                servers.bulk,
                direction,
                4,
                10 * 1024 * 1024 + 3,
                Duration::from_secs(30),
            )
            .await
            .unwrap();
            assert_eq!(figure.bytes, 10 * 1024 * 1024 + 3);
            assert!(figure.megabytes_per_second() > 0.0);
        }
    }
}
