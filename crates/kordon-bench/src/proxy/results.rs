//! What a run measured, lane by lane, and how a lane that was not measured reads.

use super::args::Workloads;
use super::bulk::Throughput;
use super::idle::IdleFigures;
use super::lanes::LaneId;
use super::rate::RateFigures;
use super::servers::Direction;

/// Whether kordon's lanes ran.
#[derive(Debug, Clone)]
pub enum KordonState {
    Measured,
    /// The binary has no proxy plane yet.
    Pending(String),
    /// `--no-kordon`.
    LeftOut,
}

impl KordonState {
    /// What a kordon lane without a figure shows.
    pub fn missing(&self) -> &'static str {
        match self {
            KordonState::Measured => "not measured",
            KordonState::Pending(_) => "pending the plane",
            KordonState::LeftOut => "not run (--no-kordon)",
        }
    }
}

/// One figure (or the failure that replaced it) per lane measured.
pub struct Measured<T> {
    entries: Vec<(LaneId, Result<T, String>)>,
}

impl<T> Default for Measured<T> {
    fn default() -> Self {
        Measured {
            entries: Vec::new(),
        }
    }
}

impl<T> Measured<T> {
    pub fn push(&mut self, lane: LaneId, outcome: anyhow::Result<T>) {
        self.entries
            .push((lane, outcome.map_err(|error| format!("{error:#}"))));
    }

    /// Whether the lane ran (successfully or not).
    pub fn has(&self, lane: LaneId) -> bool {
        self.entries.iter().any(|(id, _)| *id == lane)
    }

    pub fn value(&self, lane: LaneId) -> Option<&T> {
        self.entries
            .iter()
            .find(|(id, _)| *id == lane)
            .and_then(|(_, outcome)| outcome.as_ref().ok())
    }

    /// The lane's figure as text, its failure, or why it has none.
    pub fn cell(&self, lane: LaneId, kordon: &KordonState, show: impl Fn(&T) -> String) -> String {
        match self.entries.iter().find(|(id, _)| *id == lane) {
            Some((_, Ok(value))) => show(value),
            Some((_, Err(error))) => format!("failed: {error}"),
            None if lane.is_kordon() => kordon.missing().to_owned(),
            None => "not measured".to_owned(),
        }
    }
}

/// A lane's figures in one bulk shape.
#[derive(Debug, Clone, Copy)]
pub struct BulkFigures {
    /// The median round by throughput.
    pub throughput: Throughput,
    /// The proxy's CPU seconds per GiB moved, median of the rounds; `None` without a proxy.
    pub proxy_cpu_seconds_per_gib: Option<f64>,
    /// The busy share of the machine's cores (0 to 1), median of the rounds.
    pub machine_busy: Option<f64>,
}

/// One bulk shape: a stream count and a direction.
pub struct BulkCase {
    pub streams: usize,
    pub direction: Direction,
    pub lanes: Measured<BulkFigures>,
}

impl BulkCase {
    pub fn megabytes_per_second(&self, lane: LaneId) -> Option<f64> {
        self.lanes
            .value(lane)
            .map(|figures| figures.throughput.megabytes_per_second())
    }

    pub fn proxy_cpu_seconds_per_gib(&self, lane: LaneId) -> Option<f64> {
        self.lanes.value(lane)?.proxy_cpu_seconds_per_gib
    }
}

/// The parameters a run used, printed with its figures.
#[derive(Debug, Clone)]
pub struct RunShape {
    pub workloads: Workloads,
    pub bulk_bytes: u64,
    pub workers: usize,
    pub rate_window_seconds: u64,
    /// Interleaved rounds of the bulk and rate tests.
    pub rounds: usize,
    /// Idle connections held.
    pub idle: usize,
    /// Idle connections asked for; more than `idle` when the open-file limit is too low.
    pub idle_requested: usize,
    pub open_files: u64,
}

pub struct Results {
    pub shape: RunShape,
    pub kordon: KordonState,
    pub bulk: Vec<BulkCase>,
    pub rate: Measured<RateFigures>,
    pub idle: Measured<IdleFigures>,
}

impl Results {
    /// A lane's p99 minus the direct connection's p99, in milliseconds (may be negative
    /// within noise).
    pub fn added_p99_ms(&self, lane: LaneId) -> Option<f64> {
        let lane = self.rate.value(lane)?;
        let direct = self.rate.value(LaneId::Direct)?;
        Some((lane.p99.as_secs_f64() - direct.p99.as_secs_f64()) * 1000.0)
    }

    pub fn proxy_cpu_ms_per_thousand(&self, lane: LaneId) -> Option<f64> {
        self.rate.value(lane)?.proxy_cpu_ms_per_thousand
    }
}
