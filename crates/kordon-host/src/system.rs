//! CPU load, memory and uptime of the machine.

use std::time::{Duration, Instant};

use sysinfo::{MemoryRefreshKind, System};
use tokio::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SystemStats {
    /// CPU load over all cores since the previous sample, in percent.
    pub cpu_percent: f64,
    pub memory_total_mib: u64,
    /// Total minus available (page cache counts as free, as `free -m` shows it).
    pub memory_used_mib: u64,
    /// Seconds since the machine booted.
    pub uptime_seconds: u64,
}

struct Sampler {
    system: System,
    last_cpu: Option<(Instant, f64)>,
}

/// Samples the machine's load. CPU load needs two readings apart in time: the first call waits
/// a short interval; later calls measure since the previous call (at least the kernel's minimum
/// interval apart, otherwise the previous value is reused).
pub struct SystemSampler {
    inner: Mutex<Sampler>,
}

impl Default for SystemSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemSampler {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Sampler {
                system: System::new(),
                last_cpu: None,
            }),
        }
    }

    pub async fn sample(&self) -> SystemStats {
        let mut sampler = self.inner.lock().await;
        let cpu = match sampler.last_cpu {
            None => {
                sampler.system.refresh_cpu_usage();
                tokio::time::sleep(
                    sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.max(Duration::from_millis(200)),
                )
                .await;
                sampler.system.refresh_cpu_usage();
                f64::from(sampler.system.global_cpu_usage())
            }
            Some((at, value)) if at.elapsed() < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL => value,
            Some(_) => {
                sampler.system.refresh_cpu_usage();
                f64::from(sampler.system.global_cpu_usage())
            }
        };
        sampler.last_cpu = Some((Instant::now(), cpu));
        sampler
            .system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let total = sampler.system.total_memory();
        let available = sampler.system.available_memory();
        SystemStats {
            cpu_percent: (cpu * 10.0).round() / 10.0,
            memory_total_mib: total / (1024 * 1024),
            memory_used_mib: total.saturating_sub(available) / (1024 * 1024),
            uptime_seconds: System::uptime(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_the_machine() {
        let sampler = SystemSampler::new();
        let stats = sampler.sample().await;
        assert!(stats.memory_total_mib > 0);
        assert!(stats.memory_used_mib <= stats.memory_total_mib);
        assert!(stats.uptime_seconds > 0);
        assert!((0.0..=100.0).contains(&stats.cpu_percent));
    }
}
