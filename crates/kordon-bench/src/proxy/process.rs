//! A proxy under test as a child process in its own process group (dante forks many), its
//! memory and CPU time summed over the group from /proc, and its shutdown.

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use super::proc_stat::StatLine;

/// Resident memory of a process group, each figure summed over its processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`.
    pub rss_kib: u64,
    /// `VmHWM`: each process's peak resident size.
    pub hwm_kib: u64,
    /// `Pss` of `smaps_rollup`: shared pages divided among the processes sharing them, so
    /// forked children are not counted many times over.
    pub pss_kib: u64,
    pub processes: usize,
}

/// CPUs every proxy started afterwards is confined to (set once, from `--proxy-cpus`).
static PROXY_CPUS: std::sync::OnceLock<nix::sched::CpuSet> = std::sync::OnceLock::new();

/// Confines the proxies started from now on to `cpus`.
pub fn pin_proxies_to(cpus: &[usize]) -> Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for cpu in cpus {
        set.set(*cpu)
            .with_context(|| format!("--proxy-cpus: no CPU {cpu}"))?;
    }
    let _ = PROXY_CPUS.set(set);
    Ok(())
}

/// A running proxy; stopped (group SIGTERM, then SIGKILL) when dropped.
pub struct ProxyProcess {
    pub name: &'static str,
    child: Child,
    log: PathBuf,
}

impl ProxyProcess {
    /// Starts `command` as the leader of a new process group, output to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path) -> Result<ProxyProcess> {
        let output = File::create(log).with_context(|| format!("create {}", log.display()))?;
        if let Some(cpus) = PROXY_CPUS.get().copied() {
            // SAFETY: between fork and exec only sched_setaffinity runs, a plain syscall.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &cpus)
                        .map_err(std::io::Error::from)
                });
            }
        }
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(ProxyProcess {
            name,
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `listen` accepts connections; fails early, with the log's end, when the
    /// process exits.
    pub async fn wait_accepting(&mut self, listen: SocketAddr, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}): {}", self.name, self.log_tail());
            }
            if tokio::net::TcpStream::connect(listen).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not listen on {listen} within {} s: {}",
                    self.name,
                    within.as_secs(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the process's output, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(8)..].join(" | ");
        if tail.is_empty() {
            format!("no output (log {})", self.log.display())
        } else {
            format!("{tail} (log {})", self.log.display())
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let leader = Pid::from_raw(self.child.id() as i32);
        let _ = killpg(leader, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = killpg(leader, Signal::SIGKILL);
            let _ = self.child.wait();
        }
        // Children that outlived their leader are still in its group; end them by pid and
        // give the kernel a moment to finish them.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let members = group_members(self.child.id()).unwrap_or_default();
            if members.is_empty() || Instant::now() > deadline {
                break;
            }
            for member in members {
                let _ = kill(Pid::from_raw(member as i32), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Every process whose process group is `group`, zombies included, with its stat line.
fn group_stats(group: u32) -> Result<Vec<(u32, String)>> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may end between listing and reading: skip it.
        let Ok(line) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let in_group = StatLine::parse(&line).and_then(|stat| stat.process_group()) == Some(group);
        if in_group {
            members.push((pid, line));
        }
    }
    Ok(members)
}

/// The live pids of process group `group`.
fn group_members(group: u32) -> Result<Vec<u32>> {
    Ok(group_stats(group)?
        .into_iter()
        .filter(|(_, line)| !StatLine::parse(line).is_some_and(|stat| stat.is_zombie()))
        .map(|(pid, _)| pid)
        .collect())
}

/// CPU time (user + system) used so far by the processes of `group` and the children they
/// reaped. A zombie still counts: its time reaches its parent's only when it is reaped.
pub fn group_cpu(group: u32) -> Result<Duration> {
    let ticks_per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?
        .filter(|&hz| hz > 0)
        .unwrap_or(100) as f64;
    let members = group_stats(group)?;
    if members.is_empty() {
        bail!("process group {group} has no processes left");
    }
    let mut ticks = 0u64;
    for (pid, line) in &members {
        ticks += StatLine::parse(line)
            .and_then(|stat| stat.cpu_ticks())
            .with_context(|| format!("/proc/{pid}/stat has no CPU times: {line:?}"))?;
    }
    Ok(Duration::from_secs_f64(ticks as f64 / ticks_per_second))
}

/// The memory of every process in `group`.
pub fn group_memory(group: u32) -> Result<Memory> {
    let mut memory = Memory::default();
    for pid in group_members(group)? {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        memory.rss_kib += kib_field(&status, "VmRSS:");
        memory.hwm_kib += kib_field(&status, "VmHWM:");
        memory.pss_kib += std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            .map(|rollup| kib_field(&rollup, "Pss:"))
            .unwrap_or(0);
        memory.processes += 1;
    }
    if memory.processes == 0 {
        bail!("process group {group} has no processes left");
    }
    Ok(memory)
}

/// A `Name:  1234 kB` line's number.
fn kib_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_a_real_process_group_and_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & sleep 30"]);
        let process = ProxyProcess::spawn("sh", command, &dir.path().join("log")).unwrap();
        let group = process.pid();
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_memory(group).unwrap().processes < 3 {
            assert!(Instant::now() < deadline, "the group never had 3 processes");
            std::thread::sleep(Duration::from_millis(20));
        }
        let memory = group_memory(group).unwrap();
        assert!(memory.rss_kib > 0 && memory.hwm_kib >= memory.rss_kib);
        assert!(memory.pss_kib > 0 && memory.pss_kib <= memory.rss_kib);
        drop(process);
        assert!(group_members(group).unwrap().is_empty());
    }

    #[test]
    fn keeps_the_cpu_time_of_a_child_that_ended() {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("sh");
        // A child burns CPU and is reaped; then the leader becomes `sleep`.
        command.args([
            "-c",
            "( i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done ); exec sleep 30",
        ]);
        let process = ProxyProcess::spawn("sh", command, &dir.path().join("log")).unwrap();
        let group = process.pid();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // `sleep` runs only once the busy child has ended and been reaped.
            let leader = std::fs::read_to_string(format!("/proc/{group}/comm")).unwrap();
            if leader.trim() == "sleep" {
                break;
            }
            assert!(Instant::now() < deadline, "the busy child never ended");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(group_members(group).unwrap(), vec![group]);
        let used = group_cpu(group).unwrap();
        assert!(used >= Duration::from_millis(50), "{used:?}");
        drop(process);
        assert!(group_cpu(group).is_err());
    }
}
