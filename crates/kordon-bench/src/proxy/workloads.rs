//! The three workloads over every lane of a run. Bulk and rate run in rounds, each round
//! visiting every lane once, so a burst of load from elsewhere on the machine lands on all
//! lanes alike: bulk reports each lane's median round, rate pools the rounds. Each bulk and
//! rate measurement also meters the CPU its proxy used, reported as the median round's cost
//! per unit of work. A lane that fails once is not measured again in that workload.

use std::time::Duration;

use anyhow::Context;

use super::args::Options;
use super::bulk::{self, Throughput};
use super::cpu::{self, Metered};
use super::idle::{self, IdleFigures};
use super::lanes::{self, Lane, LaneId};
use super::progress;
use super::rate::{self, RateFigures, Tally};
use super::results::{BulkCase, BulkFigures, Measured};
use super::servers::{Direction, Servers};
use super::stats::median;

/// Stream counts of the bulk test.
const BULK_STREAMS: [usize; 2] = [1, 16];
/// A bulk measurement that takes longer fails (the whole run must stay within minutes).
const BULK_LIMIT: Duration = Duration::from_secs(60);

pub struct Plan<'a> {
    pub lanes: &'a [Lane],
    pub servers: &'a Servers,
    pub options: &'a Options,
    /// Idle connections to hold per proxy.
    pub idle: usize,
}

/// Per lane: the rounds so far, or the failure that ended them.
struct Rounds<T> {
    lanes: Vec<(LaneId, anyhow::Result<Vec<T>>)>,
}

impl<T> Rounds<T> {
    fn new(lanes: &[&Lane]) -> Rounds<T> {
        Rounds {
            lanes: lanes.iter().map(|lane| (lane.id, Ok(Vec::new()))).collect(),
        }
    }

    fn still_running(&self, lane: LaneId) -> bool {
        self.lanes
            .iter()
            .any(|(id, rounds)| *id == lane && rounds.is_ok())
    }

    fn record(&mut self, lane: LaneId, outcome: anyhow::Result<T>) {
        if let Some((_, slot)) = self.lanes.iter_mut().find(|(id, _)| *id == lane) {
            match outcome {
                Ok(value) => {
                    if let Ok(rounds) = slot {
                        rounds.push(value);
                    }
                }
                Err(error) => *slot = Err(error),
            }
        }
    }

    /// Each lane's rounds folded into one figure.
    fn fold<U>(self, fold: impl Fn(Vec<T>) -> anyhow::Result<U>) -> Measured<U> {
        let mut measured = Measured::default();
        for (lane, rounds) in self.lanes {
            measured.push(lane, rounds.and_then(&fold));
        }
        measured
    }
}

fn outcome_text<T>(outcome: &anyhow::Result<T>, show: impl Fn(&T) -> String) -> String {
    match outcome {
        Ok(value) => show(value),
        Err(error) => format!("failed: {error:#}"),
    }
}

/// A lane's bulk rounds: the median round by throughput, and the median cost per GiB and
/// machine load.
fn bulk_figures(rounds: Vec<Metered<Throughput>>) -> anyhow::Result<BulkFigures> {
    let costs = rounds
        .iter()
        .filter_map(|round| cpu::seconds_per_gib(round.proxy_cpu?, round.figure.bytes))
        .collect();
    let busy = rounds
        .iter()
        .filter_map(|round| round.machine_busy)
        .collect();
    let throughput = bulk::median(rounds.into_iter().map(|round| round.figure).collect())
        .context("no rounds")?;
    Ok(BulkFigures {
        throughput,
        proxy_cpu_seconds_per_gib: median(costs),
        machine_busy: median(busy),
    })
}

/// A lane's rate rounds pooled, with the median cost per 1,000 connections.
fn rate_figures(rounds: Vec<Metered<Tally>>) -> anyhow::Result<RateFigures> {
    let costs = rounds
        .iter()
        .filter_map(|round| cpu::millis_per_thousand(round.proxy_cpu?, round.figure.exchanges()))
        .collect();
    let mut pooled = Tally::default();
    for round in rounds {
        pooled.absorb(round.figure);
    }
    Ok(RateFigures {
        proxy_cpu_ms_per_thousand: median(costs),
        ..pooled.figures()?
    })
}

impl Plan<'_> {
    /// The lanes of `ids` that this run has, in that order.
    fn lanes_of(&self, ids: &[LaneId]) -> Vec<&Lane> {
        ids.iter()
            .filter_map(|id| self.lanes.iter().find(|lane| lane.id == *id))
            .collect()
    }

    pub async fn bulk(&self) -> Vec<BulkCase> {
        let lanes = self.lanes_of(&lanes::BULK);
        let mut cases = Vec::new();
        for streams in BULK_STREAMS {
            for direction in [Direction::Download, Direction::Upload] {
                let mut rounds = Rounds::new(&lanes);
                for round in 1..=self.options.rounds {
                    for lane in &lanes {
                        if !rounds.still_running(lane.id) {
                            continue;
                        }
                        let outcome = cpu::metered(
                            lane.process_group,
                            bulk::measure(
                                &lane.route,
                                self.servers.bulk,
                                direction,
                                streams,
                                self.options.bulk_bytes,
                                BULK_LIMIT,
                            ),
                        )
                        .await;
                        progress(format!(
                            "bulk {streams} × {}, round {round}, {}: {}",
                            direction.label(),
                            lane.id.label(),
                            outcome_text(&outcome, |metered| format!(
                                "{:.0} MB/s{}",
                                metered.figure.megabytes_per_second(),
                                cpu::progress_text(metered.proxy_cpu)
                            ))
                        ));
                        rounds.record(lane.id, outcome);
                    }
                }
                cases.push(BulkCase {
                    streams,
                    direction,
                    lanes: rounds.fold(bulk_figures),
                });
            }
        }
        cases
    }

    pub async fn rate(&self) -> Measured<RateFigures> {
        let lanes = self.lanes_of(&lanes::RATE);
        let options = self.options;
        let mut rounds = Rounds::new(&lanes);
        for round in 1..=options.rounds {
            for lane in &lanes {
                if !rounds.still_running(lane.id) {
                    continue;
                }
                let outcome = async {
                    let (route, echo) = (&lane.route, self.servers.echo);
                    rate::run(route, echo, options.workers, options.rate_window / 3)
                        .await
                        .context("warm-up")?;
                    let window = rate::run(route, echo, options.workers, options.rate_window);
                    cpu::metered(lane.process_group, window).await
                }
                .await;
                progress(format!(
                    "connection rate, round {round}, {}: {}",
                    lane.id.label(),
                    outcome_text(&outcome, |metered| format!(
                        "{}{}",
                        metered.figure.summary(),
                        cpu::progress_text(metered.proxy_cpu)
                    ))
                ));
                rounds.record(lane.id, outcome);
            }
        }
        rounds.fold(rate_figures)
    }

    pub async fn idle(&self) -> Measured<IdleFigures> {
        let mut measured = Measured::default();
        for lane in self.lanes_of(&lanes::IDLE) {
            let Some(group) = lane.process_group else {
                continue;
            };
            let outcome = idle::measure(&lane.route, self.servers.echo, self.idle, group).await;
            progress(format!(
                "{} idle connections, {}: {}",
                self.idle,
                lane.id.label(),
                outcome_text(&outcome, |figures| format!(
                    "{:.1} MiB RSS over {} processes",
                    figures.holding.rss_kib as f64 / 1024.0,
                    figures.holding.processes
                ))
            ));
            measured.push(lane.id, outcome);
        }
        measured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(seconds: u64, cpu_ms: Option<u64>) -> Metered<Throughput> {
        Metered {
            figure: Throughput {
                bytes: 1 << 30,
                elapsed: Duration::from_secs(seconds),
            },
            proxy_cpu: cpu_ms.map(Duration::from_millis),
            machine_busy: Some(seconds as f64 / 10.0),
        }
    }

    #[test]
    fn bulk_rounds_fold_to_the_median_throughput_and_the_median_cost() {
        // The median cost need not come from the median-throughput round.
        let figures = bulk_figures(vec![
            round(1, Some(900)),
            round(3, Some(300)),
            round(2, Some(500)),
        ])
        .unwrap();
        assert_eq!(figures.throughput.elapsed, Duration::from_secs(2));
        assert_eq!(figures.proxy_cpu_seconds_per_gib, Some(0.5));
        assert_eq!(figures.machine_busy, Some(0.2));
        let direct = bulk_figures(vec![round(1, None), round(2, None)]).unwrap();
        assert_eq!(direct.proxy_cpu_seconds_per_gib, None);
        assert!(bulk_figures(Vec::new()).is_err());
    }
}
