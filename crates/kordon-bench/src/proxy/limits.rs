//! The open-file limit. Every idle connection held through a proxy costs the bench two
//! descriptors (its client end and the echo server's end) and the proxy two more (client and
//! upstream sockets); the proxies started by the bench inherit the limit raised here. Where
//! the hard limit cannot be raised (no CAP_SYS_RESOURCE, as in many containers), the idle
//! test holds as many connections as a single-process proxy can relay within it.

use anyhow::{bail, Result};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors a process keeps besides the held connections: listeners, logs, the runtime's
/// own (epoll, eventfd), and a proxy's reserve (squid stops accepting near its limit).
const RESERVE: u64 = 256;

/// The limit that lets `idle` connections be held.
pub fn open_files_for(idle: usize) -> u64 {
    2 * idle as u64 + RESERVE
}

/// How many connections a process (the bench, squid, kordon) can relay or hold under `limit`.
pub fn idle_capacity(limit: u64) -> usize {
    (limit.saturating_sub(RESERVE) / 2) as usize
}

/// Raises `RLIMIT_NOFILE` toward `wanted`: the soft limit up to the hard one always, the hard
/// one too when permitted. Returns the soft limit now in force.
pub fn raise_open_files(wanted: u64) -> Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= wanted {
        return Ok(soft);
    }
    if wanted > hard && setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted).is_ok() {
        return Ok(wanted);
    }
    let reachable = wanted.min(hard);
    if let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, reachable, hard) {
        bail!("cannot raise RLIMIT_NOFILE from {soft} to {reachable} (hard {hard}): {error}");
    }
    Ok(reachable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_and_limit_agree() {
        assert_eq!(open_files_for(10_000), 20_256);
        assert_eq!(idle_capacity(open_files_for(10_000)), 10_000);
        assert_eq!(idle_capacity(20_000), 9_872);
        assert_eq!(idle_capacity(100), 0);
    }

    #[test]
    fn keeps_a_limit_that_is_already_enough() {
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(raise_open_files(soft).unwrap(), soft);
    }
}
