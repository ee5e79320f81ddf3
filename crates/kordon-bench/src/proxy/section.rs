//! The prose of the BENCHMARKS.md section: what is measured and how, for the workloads that
//! ran, and the command that ran them.

use super::results::RunShape;

const WHAT_AND_PEERS: &str = "## Proxy data plane against dante and squid (issue: proxy data plane)

**What:** `crates/kordon-bench/src/proxy.rs` (`proxy-bench`), one run for every figure below:
the peers run in the same run, one after the other on the same machine, so compare ratios.

**Peers**, each started by the bench on loopback with a generated configuration in a temporary
directory and stopped at the end:

- *direct*: no proxy; the bench's clients connect straight to its servers.
- *dante* (`danted`, Debian `dante-server`): SOCKS5 without authentication, CONNECT allowed from
  127.0.0.0/8 to the bench's two server ports only; Debian's default process model (one mother
  process that forks negotiate, request and io children as load needs).
- *squid* (Debian `squid`): HTTP CONNECT without authentication, allowed only to the two server
  ports on 127.0.0.1; `cache deny all`, `cache_mem 0 MB`, no access or store log, no digests,
  pinger or netdb; foreground (`-N`, one process) with its own pid file, cache log and core
  directory.
- *kordon*: the release binary, `kordon serve` on a fresh data directory with
  `KORDON_PROXY_PERMIT_NETWORKS=127.0.0.0/8` (kordon refuses loopback targets otherwise),
  configured through the farm API: a port on `lo`, a proxy login, the proxy IP 127.0.0.1, and
  three profiles on that port, each allowing only the two server ports (`is_ports`,
  `targetport`) with `maxconn` above the idle count: SOCKS5 with the login (`auth: strong`,
  RFC 1929), HTTP with the login (`Proxy-Authorization: Basic`), and SOCKS5 by client address
  (`auth: iponly`). dante and squid authenticate nobody, so the login lanes do more work per
  connection than their peers; the `iponly` lane is the like-for-like SOCKS5 comparison.
- *bare relay* (bulk only): the bench binary itself as the thinnest SOCKS5 relay that can be
  written (`proxy-bench --serve-bare-relay`, in its own process): no authentication, CONNECT
  to the two server ports only, then one thread per direction doing blocking 1 MiB reads and
  writes. It is a floor, not a product: what any user-space relay of a TCP stream moves on
  this machine, so its ratio to dante bounds what a proxy's ratio to dante can be here.
";

const WORKLOADS: &str = "
**Workloads** (clients and servers are tokio tasks in the bench process; every server closes
first, so TIME_WAIT never exhausts the clients' or proxies' ephemeral ports).
";

const ROUNDS: &str = "Bulk and rate run in rounds, each round visiting every lane once, so
load from elsewhere on the shared machine lands on all lanes alike.
";

const BULK: &str = "
- *Bulk*: a source (download) or sink (upload) sends or takes the measurement's bytes over 1
  stream, or split evenly over 16 parallel streams; throughput is those bytes over the wall
  time from the first connect to the last byte (for uploads, the sink's acknowledgement of the
  count it received); each lane's median round is reported. MB = 10^6 bytes.";

const RATE: &str = "
- *Connection rate*: workers loop, each connection doing connect (with the proxy's handshake),
  a 1 KiB request, the 1 KiB echo, and the server's close, for the window after a warm-up of a
  third of it. connections/s counts the exchanges completed in the windows of all rounds over
  their summed length; latency runs from the start of the connect to the reply's last byte,
  percentiles over every connection of all rounds; *p99 added* is the lane's p99 minus the
  direct connection's p99 in the same run.";

const IDLE: &str = "
- *Idle memory*: the idle count of connections opened through the proxy to the echo server (64
  at a time) and held without a byte; 1 s after the last one, the proxy's `VmRSS` and `VmHWM`
  (`/proc/<pid>/status`) and `Pss` (`/proc/<pid>/smaps_rollup`, which splits pages shared by
  dante's forked children among them) are summed over its processes. Then every held connection
  carries one echo exchange, which proves it was a live tunnel when counted. The two kordon
  lanes run one after the other in the same kordon process.";

const PROXY_CPU: &str = "
**Proxy CPU:** the bench's clients and servers and the proxy share the machine's cores, and the
kernel's loopback TCP work bounds every lane (kordon's time is nearly all system time: it
splices, and copies bulk transfers through large buffers), so throughput ratios between
proxies say less than what the proxies themselves cost. Around each bulk measurement and each rate window (not its warm-up) the bench therefore
reads the proxy's CPU time from `/proc/<pid>/stat` of every process in its process group:
user and system time (fields 14 and 15, all threads), plus those of the children it reaped
(16 and 17), so that a dante child ending mid-measurement still counts. The kernel's work on
the proxy's sockets is its system time and counts. Bulk reports CPU seconds per GiB moved,
rate CPU milliseconds per 1,000 connections (those completed in the window and the few that
finished just after it, all carried while metered); each is the median of the rounds, and
kordon ÷ peer ratios below 1 mean kordon spent less. kordon's lanes share one process and are
metered one after the other; the figure includes whatever the proxy does in the background.
";

const OPEN_FILES: &str = "
**Open files:** each proxied connection costs the proxy 2 descriptors (client and upstream) and
the bench 2 (its client end and its server end), so holding 10,000 connections needs
`RLIMIT_NOFILE` ≥ 20,256 in the bench and in squid and kordon (single processes); dante's
io children each hold only their own clients' descriptors. The bench raises its limit to
2 × idle + 256 before starting the proxies, which inherit it; squid also gets
`max_filedescriptors` set to it. Where the hard limit cannot be raised (no
`CAP_SYS_RESOURCE`, as in containers), the bench holds as many connections as the limit
allows, (limit − 256) ÷ 2 (9,872 under a hard limit of 20,000), for every proxy alike, and
projects each proxy's measured growth to the count asked for.
";

/// Everything before the results: peers, the workloads of this run and how they are
/// measured, the command, and the options with this run's values.
pub fn method(shape: &RunShape, command: &str) -> String {
    let ran = shape.workloads;
    let mut text = WHAT_AND_PEERS.to_owned();
    text.push_str(WORKLOADS);
    if ran.bulk || ran.rate {
        text.push_str(ROUNDS);
    }
    for (chosen, paragraph) in [(ran.bulk, BULK), (ran.rate, RATE), (ran.idle, IDLE)] {
        if chosen {
            text.push_str(paragraph);
        }
    }
    text.push('\n');
    if ran.bulk || ran.rate {
        text.push_str(PROXY_CPU);
    }
    if ran.idle {
        text.push_str(OPEN_FILES);
    }
    text.push_str(
        "
**Command:**

```sh
cargo build --release -p kordon -p kordon-bench
# as root
",
    );
    text.push_str(command);
    text.push_str("\n```\n\n");
    text.push_str(&format!(
        "Options: `--workloads LIST` ({}), `--no-kordon`, `--idle N` ({}), \
         `--bulk-bytes N[K|M|G]` ({} MiB), `--workers N` ({}), `--rate-seconds S` ({}), \
         `--rounds N` ({}), `--kordon PATH`, `--danted PATH`, `--squid PATH`; values of this \
         run in parentheses.\n\n",
        ran.list(),
        shape.idle_requested,
        shape.bulk_bytes >> 20,
        shape.workers,
        shape.rate_window_seconds,
        shape.rounds,
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Workloads;

    fn shape(workloads: Workloads) -> RunShape {
        RunShape {
            workloads,
            bulk_bytes: 1 << 30,
            workers: 32,
            rate_window_seconds: 2,
            rounds: 3,
            idle: 10_000,
            idle_requested: 10_000,
            open_files: 20_256,
        }
    }

    #[test]
    fn describes_only_the_workloads_that_ran() {
        let all = method(&shape(Workloads::ALL), "proxy-bench");
        for part in [BULK, RATE, IDLE, PROXY_CPU, OPEN_FILES, ROUNDS] {
            assert!(all.contains(part));
        }
        assert!(all.contains("`--workloads LIST` (bulk,rate,idle)"));
        let idle_only = Workloads {
            bulk: false,
            rate: false,
            idle: true,
        };
        let text = method(&shape(idle_only), "proxy-bench --workloads idle");
        assert!(text.contains(IDLE) && text.contains(OPEN_FILES));
        for part in [BULK, RATE, PROXY_CPU, ROUNDS] {
            assert!(!text.contains(part));
        }
        assert!(text.contains("proxy-bench --workloads idle\n```"));
        let rate_only = Workloads {
            bulk: false,
            rate: true,
            idle: false,
        };
        let text = method(&shape(rate_only), "proxy-bench");
        assert!(text.contains(RATE) && text.contains(PROXY_CPU));
        assert!(!text.contains(IDLE) && !text.contains(OPEN_FILES));
    }
}
