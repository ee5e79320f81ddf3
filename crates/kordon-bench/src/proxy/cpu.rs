//! The CPU time a lane's proxy spends on one measurement (its process group read before and
//! after), and the costs derived from it. On a small machine the bench's clients and servers
//! and the proxy share the cores and the kernel's loopback work bounds every lane, so
//! throughput ratios between proxies say little about the proxies themselves; the CPU each
//! proxy burns per byte or per connection does.

use std::future::Future;
use std::time::Duration;

use anyhow::Result;

use super::machine_load::MachineTicks;
use super::process::group_cpu;

/// A measurement's figure with the CPU its lane's proxy used meanwhile.
#[derive(Debug, Clone)]
pub struct Metered<T> {
    pub figure: T,
    /// `None` for a lane without a proxy.
    pub proxy_cpu: Option<Duration>,
    /// The busy share of the whole machine's cores meanwhile (0 to 1).
    pub machine_busy: Option<f64>,
}

/// Runs `measurement` between two readings of `process_group`'s CPU time (none without a
/// group) and of the machine's.
pub async fn metered<T>(
    process_group: Option<u32>,
    measurement: impl Future<Output = Result<T>>,
) -> Result<Metered<T>> {
    let group_before = process_group.map(group_cpu).transpose()?;
    let machine_before = MachineTicks::read()?;
    let figure = measurement.await?;
    let machine_busy = machine_before.busy_share_until(MachineTicks::read()?);
    let proxy_cpu = match (process_group, group_before) {
        (Some(group), Some(before)) => Some(group_cpu(group)?.saturating_sub(before)),
        _ => None,
    };
    Ok(Metered {
        figure,
        proxy_cpu,
        machine_busy,
    })
}

const GIB: f64 = (1u64 << 30) as f64;

/// CPU seconds per GiB moved; `None` when nothing moved.
pub fn seconds_per_gib(cpu: Duration, bytes: u64) -> Option<f64> {
    (bytes > 0).then(|| cpu.as_secs_f64() / (bytes as f64 / GIB))
}

/// CPU milliseconds per 1,000 connections; `None` when none completed.
pub fn millis_per_thousand(cpu: Duration, connections: usize) -> Option<f64> {
    (connections > 0).then(|| cpu.as_secs_f64() * 1000.0 / (connections as f64 / 1000.0))
}

/// `, proxy CPU 0.42 s` for progress lines; empty without a proxy.
pub fn progress_text(proxy_cpu: Option<Duration>) -> String {
    proxy_cpu
        .map(|cpu| format!(", proxy CPU {:.2} s", cpu.as_secs_f64()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_per_unit_of_work() {
        let cpu = Duration::from_millis(500);
        assert_eq!(seconds_per_gib(cpu, 2 << 30), Some(0.25));
        assert_eq!(seconds_per_gib(cpu, 0), None);
        assert_eq!(millis_per_thousand(cpu, 10_000), Some(50.0));
        assert_eq!(millis_per_thousand(cpu, 0), None);
        assert_eq!(progress_text(Some(cpu)), ", proxy CPU 0.50 s");
        assert_eq!(progress_text(None), "");
    }

    #[tokio::test]
    async fn meters_only_lanes_with_a_proxy() {
        let direct = metered(None, async { Ok(7) }).await.unwrap();
        assert_eq!((direct.figure, direct.proxy_cpu), (7, None));
        // This test process's own group, made to burn some CPU.
        let group = nix::unistd::getpgrp().as_raw() as u32;
        let busy = metered(Some(group), async {
            let started = std::time::Instant::now();
            let mut spins = 0u64;
            while started.elapsed() < Duration::from_millis(200) {
                spins = std::hint::black_box(spins + 1);
            }
            Ok(spins)
        })
        .await
        .unwrap();
        assert!(busy.proxy_cpu.unwrap() > Duration::ZERO, "{busy:?}");
        let share = busy.machine_busy.expect("ticks passed in 200 ms");
        assert!(share > 0.0 && share <= 1.0, "{busy:?}");
    }
}
