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

/// The targets of the workloads that ran.
pub fn evaluate(results: &Results) -> Vec<Verdict> {
    let ran = results.shape.workloads;
    let mut verdicts = Vec::new();
    if ran.bulk {
        bulk_verdicts(results, &mut verdicts);
    }
    if ran.rate {
        rate_verdicts(results, &mut verdicts);
    }
    if ran.idle {
        idle_verdicts(results, &mut verdicts);
    }
    verdicts
}

fn bulk_verdicts(results: &Results, verdicts: &mut Vec<Verdict>) {
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
}

fn rate_verdicts(results: &Results, verdicts: &mut Vec<Verdict>) {
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
}

fn idle_verdicts(results: &Results, verdicts: &mut Vec<Verdict>) {
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
    use crate::args::Workloads;
    use crate::fixtures::results;

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
    fn judges_only_the_workloads_that_ran() {
        let mut results = results(true);
        results.shape.workloads = Workloads {
            bulk: false,
            rate: true,
            idle: false,
        };
        let verdicts = evaluate(&results);
        assert_eq!(verdicts.len(), 4);
        assert!(verdicts
            .iter()
            .all(|v| v.target.starts_with("connections/s") || v.target.starts_with("p99")));
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
