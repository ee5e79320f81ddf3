//! A run's results made up for the tests of the report and the targets: the peers measured,
//! kordon's lanes too when asked.

use std::time::Duration;

use super::args::Workloads;
use super::bulk::Throughput;
use super::idle::IdleFigures;
use super::lanes::LaneId;
use super::process::Memory;
use super::rate::RateFigures;
use super::results::{BulkCase, BulkFigures, KordonState, Measured, Results, RunShape};
use super::servers::Direction;

pub fn shape() -> RunShape {
    RunShape {
        workloads: Workloads::ALL,
        bulk_bytes: 1 << 30,
        workers: 32,
        rate_window_seconds: 2,
        rounds: 3,
        idle: 9_872,
        idle_requested: 10_000,
        open_files: 20_000,
    }
}

/// Bytes moved in one second (the throughput in MB/s), and the proxy's CPU per GiB (the
/// machine 90% busy).
fn bulk(megabytes: f64, cpu_seconds_per_gib: Option<f64>) -> anyhow::Result<BulkFigures> {
    Ok(BulkFigures {
        throughput: Throughput {
            bytes: (megabytes * 1e6) as u64,
            elapsed: Duration::from_secs(1),
        },
        proxy_cpu_seconds_per_gib: cpu_seconds_per_gib,
        machine_busy: Some(0.9),
    })
}

fn rate(
    per_second: usize,
    p99_ms: u64,
    cpu_ms_per_thousand: Option<f64>,
) -> anyhow::Result<RateFigures> {
    Ok(RateFigures {
        completed: per_second * 6,
        window: Duration::from_secs(6),
        p50: Duration::from_millis(1),
        p99: Duration::from_millis(p99_ms),
        errors: 0,
        first_error: None,
        proxy_cpu_ms_per_thousand: cpu_ms_per_thousand,
    })
}

fn idle(before_mib: u64, holding_mib: u64) -> anyhow::Result<IdleFigures> {
    let memory = |mib: u64| Memory {
        rss_kib: mib * 1024,
        hwm_kib: mib * 1024,
        pss_kib: mib * 1024,
        processes: 1,
    };
    Ok(IdleFigures {
        held: 9_872,
        open_time: Duration::from_secs(3),
        before: memory(before_mib),
        holding: memory(holding_mib),
    })
}

/// Peers measured; kordon's lanes only when `kordon` is true. kordon spends half its peer's
/// CPU in every bulk case and per connection.
pub fn results(kordon: bool) -> Results {
    let mut cases = Vec::new();
    for streams in [1, 16] {
        let mut lanes = Measured::default();
        lanes.push(LaneId::Direct, bulk(2000.0, None));
        lanes.push(LaneId::Dante, bulk(700.0, Some(0.8)));
        lanes.push(LaneId::Squid, bulk(800.0, Some(1.0)));
        lanes.push(LaneId::BareRelay, bulk(1400.0, Some(0.5)));
        if kordon {
            lanes.push(LaneId::KordonSocks, bulk(1500.0, Some(0.4)));
            // Below squid with 16 streams only.
            lanes.push(
                LaneId::KordonConnect,
                bulk(if streams == 1 { 1200.0 } else { 790.0 }, Some(0.5)),
            );
        }
        cases.push(BulkCase {
            streams,
            direction: Direction::Download,
            lanes,
        });
    }
    let mut rates = Measured::default();
    rates.push(LaneId::Direct, rate(20_000, 5, None));
    rates.push(LaneId::Dante, rate(5_000, 15, Some(400.0)));
    let mut idles = Measured::default();
    idles.push(LaneId::Dante, idle(140, 3_760));
    if kordon {
        rates.push(LaneId::KordonSocks, rate(11_000, 9, Some(200.0)));
        rates.push(LaneId::KordonSocksIpOnly, Err(anyhow::anyhow!("refused")));
        idles.push(LaneId::KordonSocks, idle(20, 150));
        // 196 MiB holding 9,872 projects to about 198 MiB at 10,000: still under 200.
        idles.push(LaneId::KordonConnect, idle(20, 196));
    }
    Results {
        shape: shape(),
        kordon: if kordon {
            KordonState::Measured
        } else {
            KordonState::Pending("no plane".into())
        },
        bulk: cases,
        rate: rates,
        idle: idles,
    }
}
