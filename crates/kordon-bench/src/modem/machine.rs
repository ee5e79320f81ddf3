//! Facts about the machine and this process: core count, CPU model, CPU time used.

use std::time::Duration;

use anyhow::{Context, Result};

/// `nproc`: the cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

/// The first `model name` of /proc/cpuinfo.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// User plus system CPU time of this process so far (all threads), from /proc/self/stat.
pub fn cpu_time() -> Result<Duration> {
    cpu_time_from("/proc/self/stat")
}

/// The same for another process.
pub fn cpu_time_of(pid: u32) -> Result<Duration> {
    cpu_time_from(&format!("/proc/{pid}/stat"))
}

fn cpu_time_from(path: &str) -> Result<Duration> {
    let stat = std::fs::read_to_string(path)?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`;
    // utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unexpected /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| -> Result<u64> {
        fields
            .get(index - 3)
            .context("short /proc/self/stat")?
            .parse::<u64>()
            .context("bad /proc/self/stat field")
    };
    let total = ticks(14)? + ticks(15)?;
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?
        .filter(|&hz| hz > 0)
        .unwrap_or(100) as u64;
    Ok(Duration::from_secs_f64(total as f64 / per_second as f64))
}
