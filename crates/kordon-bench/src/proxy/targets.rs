//! The targets, judged from a run's figures as ratios (the machines are small and
//! noisy; ratios within one run are what compares).

use super::lanes::LaneId;
use super::results::Results;
use super::servers::Direction;

/// kordon's resident memory with the idle connections held, at most.
pub const IDLE_MEMORY_LIMIT_MIB: f64 = 200.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Met {
    Yes,
    No,
    /// Not judged: why (pending the plane, a failed lane…).
    Unknown(String),
}

impl Met {
    pub fn label(&self) -> String {
        match self {
            Met::Yes => "met".to_owned(),
            Met::No => "NOT met".to_owned(),
            Met::Unknown(why) => why.clone(),
        }
    }
}

pub struct Verdict {
    pub target: String,
    pub measured: String,
    pub met: Met,
}

pub fn ratio_text(ratio: f64) -> String {
    format!("{ratio:.2}×")
}

pub fn evaluate(results: &Results) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for (kordon, peer, factor, target) in [
        (
            LaneId::KordonSocks,
            LaneId::Dante,
            2.0,
            "bulk: kordon SOCKS5 ≥ 2× dante",
        ),
        (
            LaneId::KordonConnect,
            LaneId::Squid,
            1.0,
            "bulk: kordon CONNECT ≥ squid",
        ),
        (
            LaneId::KordonSocks,
            LaneId::Direct,
            0.5,
            "bulk: kordon SOCKS5 ≥ ½ direct",
        ),
        (
            LaneId::KordonConnect,
            LaneId::Direct,
            0.5,
            "bulk: kordon CONNECT ≥ ½ direct",
        ),
    ] {
        verdicts.push(bulk_verdict(results, kordon, peer, factor, target));
    }
    for kordon in [LaneId::KordonSocks, LaneId::KordonSocksIpOnly] {
        let rates = (
            results.rate.value(kordon).map(|r| r.per_second()),
            results.rate.value(LaneId::Dante).map(|r| r.per_second()),
        );
        verdicts.push(match rates {
            (Some(lane), Some(dante)) => Verdict {
                target: format!("connections/s: {} ≥ 2× dante", kordon.label()),
                measured: format!("{} ({lane:.0} ÷ {dante:.0})", ratio_text(lane / dante)),
                met: judged(lane >= 2.0 * dante),
            },
            _ => unjudged(
                results,
                format!("connections/s: {} ≥ 2× dante", kordon.label()),
                kordon,
            ),
        });
    }
    for kordon in [LaneId::KordonSocks, LaneId::KordonSocksIpOnly] {
        let target = format!("p99 latency added: {} < dante", kordon.label());
        verdicts.push(
            match (
                results.added_p99_ms(kordon),
                results.added_p99_ms(LaneId::Dante),
            ) {
                (Some(lane), Some(dante)) => Verdict {
                    target,
                    measured: format!("kordon {lane:+.2} ms, dante {dante:+.2} ms"),
                    met: judged(lane < dante),
                },
                _ => unjudged(results, target, kordon),
            },
        );
    }
    let shape = &results.shape;
    for kordon in [LaneId::KordonSocks, LaneId::KordonConnect] {
        let target = format!(
            "memory with {} idle connections: {} < {IDLE_MEMORY_LIMIT_MIB:.0} MiB",
            shape.idle_requested,
            kordon.label()
        );
        verdicts.push(match results.idle.value(kordon) {
            Some(idle) => {
                let held = idle.holding.rss_kib as f64 / 1024.0;
                let at_target = idle.projected_rss_kib(shape.idle_requested) as f64 / 1024.0;
                let measured = if shape.idle < shape.idle_requested {
                    format!(
                        "{held:.1} MiB RSS holding {}; {at_target:.1} MiB projected to {}",
                        shape.idle, shape.idle_requested
                    )
                } else {
                    format!("{held:.1} MiB RSS")
                };
                Verdict {
                    target,
                    measured,
                    met: judged(at_target < IDLE_MEMORY_LIMIT_MIB),
                }
            }
            None => unjudged(results, target, kordon),
        });
    }
    verdicts
}

fn judged(met: bool) -> Met {
    if met {
        Met::Yes
    } else {
        Met::No
    }
}

/// A target whose figures are missing: pending kordon, or a lane that failed.
fn unjudged(results: &Results, target: String, kordon: LaneId) -> Verdict {
    // A kordon lane that ran (even into a failure) is not pending.
    let kordon_ran = results.rate.has(kordon)
        || results.idle.has(kordon)
        || results.bulk.iter().any(|case| case.lanes.has(kordon));
    let why = if kordon_ran {
        "a lane failed (see its table)".to_owned()
    } else {
        results.kordon.missing().to_owned()
    };
    Verdict {
        target,
        measured: "—".to_owned(),
        met: Met::Unknown(why),
    }
}

fn case_name(streams: usize, direction: Direction) -> String {
    let arrow = match direction {
        Direction::Download => "↓",
        Direction::Upload => "↑",
    };
    format!("{streams}{arrow}")
}

fn bulk_verdict(
    results: &Results,
    kordon: LaneId,
    peer: LaneId,
    factor: f64,
    target: &str,
) -> Verdict {
    let mut parts = Vec::new();
    let mut all_met = true;
    for case in &results.bulk {
        let (Some(lane), Some(base)) = (
            case.megabytes_per_second(kordon),
            case.megabytes_per_second(peer),
        ) else {
            return unjudged(results, target.to_owned(), kordon);
        };
        let ratio = lane / base;
        all_met &= ratio >= factor;
        parts.push(format!(
            "{} {}",
            case_name(case.streams, case.direction),
            ratio_text(ratio)
        ));
    }
    if parts.is_empty() {
        return unjudged(results, target.to_owned(), kordon);
    }
    Verdict {
        target: target.to_owned(),
        measured: parts.join(", "),
        met: judged(all_met),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::Throughput;
    use crate::idle::IdleFigures;
    use crate::process::Memory;
    use crate::rate::RateFigures;
    use crate::results::{BulkCase, KordonState, Measured, RunShape};
    use std::time::Duration;

    fn shape() -> RunShape {
        RunShape {
            bulk_bytes: 1 << 30,
            workers: 32,
            rate_window_seconds: 2,
            rounds: 3,
            idle: 9_872,
            idle_requested: 10_000,
            open_files: 20_000,
        }
    }

    /// Bytes moved in one second: the throughput in MB/s.
    fn megabytes(value: f64) -> anyhow::Result<Throughput> {
        Ok(Throughput {
            bytes: (value * 1e6) as u64,
            elapsed: Duration::from_secs(1),
        })
    }

    fn rate(per_second: usize, p99_ms: u64) -> anyhow::Result<RateFigures> {
        Ok(RateFigures {
            completed: per_second * 6,
            window: Duration::from_secs(6),
            p50: Duration::from_millis(1),
            p99: Duration::from_millis(p99_ms),
            errors: 0,
            first_error: None,
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

    /// Peers measured; kordon's lanes only when `kordon` is true.
    fn results(kordon: bool) -> Results {
        let mut bulk = Vec::new();
        for streams in [1, 16] {
            let mut lanes = Measured::default();
            lanes.push(LaneId::Direct, megabytes(2000.0));
            lanes.push(LaneId::Dante, megabytes(700.0));
            lanes.push(LaneId::Squid, megabytes(800.0));
            if kordon {
                lanes.push(LaneId::KordonSocks, megabytes(1500.0));
                // Below squid with 16 streams only.
                lanes.push(
                    LaneId::KordonConnect,
                    megabytes(if streams == 1 { 1200.0 } else { 790.0 }),
                );
            }
            bulk.push(BulkCase {
                streams,
                direction: Direction::Download,
                lanes,
            });
        }
        let mut rates = Measured::default();
        rates.push(LaneId::Direct, rate(20_000, 5));
        rates.push(LaneId::Dante, rate(5_000, 15));
        let mut idles = Measured::default();
        idles.push(LaneId::Dante, idle(140, 3_760));
        if kordon {
            rates.push(LaneId::KordonSocks, rate(11_000, 9));
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
            bulk,
            rate: rates,
            idle: idles,
        }
    }

    fn verdict<'a>(verdicts: &'a [Verdict], prefix: &str) -> &'a Verdict {
        verdicts
            .iter()
            .find(|v| v.target.starts_with(prefix))
            .unwrap_or_else(|| panic!("no target {prefix}"))
    }

    #[test]
    fn pending_kordon_leaves_every_target_unjudged() {
        let verdicts = evaluate(&results(false));
        assert_eq!(verdicts.len(), 10);
        for verdict in &verdicts {
            assert_eq!(verdict.met, Met::Unknown("pending the plane".into()));
        }
    }

    #[test]
    fn ratios_decide_each_target() {
        let verdicts = evaluate(&results(true));
        let socks = verdict(&verdicts, "bulk: kordon SOCKS5 ≥ 2× dante");
        assert_eq!(socks.met, Met::Yes, "{}", socks.measured);
        assert_eq!(socks.measured, "1↓ 2.14×, 16↓ 2.14×");
        let connect = verdict(&verdicts, "bulk: kordon CONNECT ≥ squid");
        assert_eq!(connect.met, Met::No, "{}", connect.measured);
        assert_eq!(
            verdict(&verdicts, "connections/s: kordon SOCKS5 (login)").met,
            Met::Yes
        );
        assert_eq!(
            verdict(&verdicts, "connections/s: kordon SOCKS5 (iponly)").met,
            Met::Unknown("a lane failed (see its table)".into())
        );
        let latency = verdict(&verdicts, "p99 latency added: kordon SOCKS5 (login)");
        assert_eq!(latency.measured, "kordon +4.00 ms, dante +10.00 ms");
        assert_eq!(latency.met, Met::Yes);
        let memory = verdict(
            &verdicts,
            "memory with 10000 idle connections: kordon CONNECT",
        );
        assert!(
            memory.measured.contains("projected to 10000"),
            "{}",
            memory.measured
        );
        assert_eq!(memory.met, Met::Yes);
    }
}
