//! How busy the whole machine was over a measurement, from the first line of /proc/stat: the
//! share of all cores' time not idle. With the bench's clients, its servers and the proxy on
//! the same cores, a lane near 100% is bounded by the machine, not by the proxy alone.

use anyhow::{Context, Result};

/// The machine's CPU time so far, in clock ticks summed over its cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineTicks {
    busy: u64,
    total: u64,
}

impl MachineTicks {
    pub fn read() -> Result<MachineTicks> {
        let stat = std::fs::read_to_string("/proc/stat").context("read /proc/stat")?;
        MachineTicks::parse(&stat).context("/proc/stat has no aggregate `cpu` line")
    }

    /// The aggregate `cpu` line (proc(5)): user, nice, system, idle, iowait, irq, softirq,
    /// steal; guest time is already inside user and nice, so it is not added again.
    fn parse(stat: &str) -> Option<MachineTicks> {
        let line = stat.lines().find(|line| line.starts_with("cpu "))?;
        let fields = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|field| field.parse::<u64>().ok())
            .collect::<Option<Vec<u64>>>()?;
        let [user, nice, system, idle, iowait, irq, softirq, steal] = fields[..] else {
            return None;
        };
        let busy = user + nice + system + irq + softirq + steal;
        Some(MachineTicks {
            busy,
            total: busy + idle + iowait,
        })
    }

    /// The busy share of all cores' time between `self` and the later reading `after`
    /// (0 to 1); `None` when no tick passed.
    pub fn busy_share_until(self, after: MachineTicks) -> Option<f64> {
        let total = after.total.checked_sub(self.total)?;
        let busy = after.busy.checked_sub(self.busy)?;
        (total > 0).then(|| busy as f64 / total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_share_from_two_readings() {
        let before =
            MachineTicks::parse("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n")
                .unwrap();
        let after = MachineTicks::parse("cpu  250 0 100 850 50 0 0 0 20 0\n").unwrap();
        // 200 busy ticks of 250.
        assert_eq!(before.busy_share_until(after), Some(0.8));
        assert_eq!(before.busy_share_until(before), None);
        assert!(MachineTicks::parse("cpu0 1 2 3\n").is_none());
        assert!(MachineTicks::read().is_ok());
    }
}
