//! The run's tables (one per workload, with kordon's ratios to each peer) and the targets,
//! for a terminal or as the BENCHMARKS.md section (`--markdown`).

use super::lanes::{self, LaneId};
use super::machine_facts::MachineFacts;
use super::results::{BulkCase, KordonState, Results};
use super::table::Table;
use super::targets::{self, ratio_text};

const MIB: f64 = 1024.0;

/// kordon's ratio rows: (kordon lane, peer lane).
const RATIOS: [(LaneId, LaneId); 4] = [
    (LaneId::KordonSocks, LaneId::Dante),
    (LaneId::KordonConnect, LaneId::Squid),
    (LaneId::KordonSocks, LaneId::Direct),
    (LaneId::KordonConnect, LaneId::Direct),
];

fn short(lane: LaneId) -> &'static str {
    match lane {
        LaneId::Direct => "direct",
        LaneId::Dante => "dante",
        LaneId::Squid => "squid",
        LaneId::KordonSocks => "kordon SOCKS5",
        LaneId::KordonConnect => "kordon CONNECT",
        LaneId::KordonSocksIpOnly => "kordon SOCKS5 iponly",
    }
}

/// A row for a kordon lane that did not run: the reason once, the other cells empty.
fn unmeasured_row(results: &Results, label: String, columns: usize) -> Vec<String> {
    let mut row = vec![label, results.kordon.missing().to_owned()];
    row.resize(columns, String::new());
    row
}

/// `kordon ÷ peer`, or why there is no ratio.
fn ratio_cell(results: &Results, kordon: Option<f64>, peer: Option<f64>) -> String {
    match (kordon, peer) {
        (Some(kordon), Some(peer)) if peer > 0.0 => ratio_text(kordon / peer),
        // kordon ran, so a lane of it failed: its table row says why.
        (None, _) if matches!(results.kordon, KordonState::Measured) => "—".to_owned(),
        (None, _) => results.kordon.missing().to_owned(),
        _ => "—".to_owned(),
    }
}

fn bulk_table(results: &Results, streams: usize, cases: &[&BulkCase]) -> Table {
    let bytes_mib = results.shape.bulk_bytes as f64 / (MIB * MIB);
    let title = format!(
        "Bulk throughput, {streams} stream{} ({bytes_mib:.0} MiB per measurement{}), MB/s, \
         median of {} rounds:",
        if streams == 1 { "" } else { "s" },
        if streams == 1 { "" } else { ", split evenly" },
        results.shape.rounds,
    );
    let mut header = vec!["lane"];
    header.extend(cases.iter().map(|case| case.direction.label()));
    let mut table = Table::new(title, &header);
    let columns = cases.len() + 1;
    let ran = |lane: LaneId| cases.iter().any(|case| case.lanes.has(lane));
    for lane in lanes::BULK {
        if lane.is_kordon() && !ran(lane) {
            table.row(unmeasured_row(results, lane.label().to_owned(), columns));
            continue;
        }
        let mut row = vec![lane.label().to_owned()];
        for case in cases {
            row.push(case.lanes.cell(lane, &results.kordon, |figure| {
                format!("{:.0}", figure.megabytes_per_second())
            }));
        }
        table.row(row);
    }
    for (kordon, peer) in RATIOS {
        let label = format!("ratio {} ÷ {}", short(kordon), short(peer));
        if !ran(kordon) {
            table.row(unmeasured_row(results, label, columns));
            continue;
        }
        let mut row = vec![label];
        for case in cases {
            row.push(ratio_cell(
                results,
                case.megabytes_per_second(kordon),
                case.megabytes_per_second(peer),
            ));
        }
        table.row(row);
    }
    table
}

/// At most `limit` characters of `text`.
fn clipped(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    text.chars().take(limit).collect::<String>() + "…"
}

fn millis(duration: std::time::Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

fn rate_table(results: &Results) -> Table {
    let shape = &results.shape;
    let mut table = Table::new(
        format!(
            "Connection rate: {} workers, {} rounds of {} s pooled, each connection: connect + \
             handshake, 1 KiB request, 1 KiB reply, close; latency from connect to the reply's \
             last byte:",
            shape.workers, shape.rounds, shape.rate_window_seconds
        ),
        &[
            "lane",
            "connections/s",
            "p50 ms",
            "p99 ms",
            "p99 added ms",
            "errors",
        ],
    );
    for lane in lanes::RATE {
        if lane.is_kordon() && !results.rate.has(lane) {
            table.row(unmeasured_row(results, lane.label().to_owned(), 6));
            continue;
        }
        let figures = results.rate.value(lane);
        let cell = |show: &dyn Fn(&super::rate::RateFigures) -> String| {
            results.rate.cell(lane, &results.kordon, show)
        };
        let added = match (lane, results.added_p99_ms(lane)) {
            (LaneId::Direct, _) => "(baseline)".to_owned(),
            (_, Some(added)) => format!("{added:+.2}"),
            (_, None) if figures.is_none() => cell(&|_| String::new()),
            (_, None) => "—".to_owned(),
        };
        table.row(vec![
            lane.label().to_owned(),
            cell(&|f| format!("{:.0}", f.per_second())),
            cell(&|f| millis(f.p50)),
            cell(&|f| millis(f.p99)),
            added,
            cell(&|f| match &f.first_error {
                Some(first) => format!("{} (first: {})", f.errors, clipped(first, 80)),
                None => f.errors.to_string(),
            }),
        ]);
    }
    let per_second = |lane| results.rate.value(lane).map(|f| f.per_second());
    for (kordon, peer) in [
        (LaneId::KordonSocks, LaneId::Dante),
        (LaneId::KordonSocksIpOnly, LaneId::Dante),
        (LaneId::KordonConnect, LaneId::Squid),
    ] {
        let mut row = vec![
            format!("ratio {} ÷ {}", short(kordon), short(peer)),
            ratio_cell(results, per_second(kordon), per_second(peer)),
        ];
        row.resize(6, String::new());
        table.row(row);
    }
    table
}

fn idle_table(results: &Results) -> Table {
    let shape = &results.shape;
    let projected = shape.idle < shape.idle_requested;
    let title = if projected {
        format!(
            "Memory with {} idle proxied connections (summed over the proxy's processes; \
             {} asked for, but RLIMIT_NOFILE {} lets a single-process proxy relay only {}: \
             the last column projects the growth measured to {}):",
            shape.idle, shape.idle_requested, shape.open_files, shape.idle, shape.idle_requested
        )
    } else {
        format!(
            "Memory with {} idle proxied connections (summed over the proxy's processes):",
            shape.idle
        )
    };
    let projected_header = format!("RSS at {} MiB (projected)", shape.idle_requested);
    let mut header = vec![
        "lane",
        "processes",
        "RSS before MiB",
        "RSS holding MiB",
        "KiB RSS per connection",
        "PSS holding MiB",
        "VmHWM MiB",
        "open time s",
    ];
    if projected {
        header.push(&projected_header);
    }
    let mut table = Table::new(title, &header);
    for lane in lanes::IDLE {
        if lane.is_kordon() && !results.idle.has(lane) {
            table.row(unmeasured_row(
                results,
                lane.label().to_owned(),
                header.len(),
            ));
            continue;
        }
        let cell = |show: &dyn Fn(&super::idle::IdleFigures) -> String| {
            results.idle.cell(lane, &results.kordon, show)
        };
        let mut row = vec![
            lane.label().to_owned(),
            cell(&|f| f.holding.processes.to_string()),
            cell(&|f| format!("{:.1}", f.before.rss_kib as f64 / MIB)),
            cell(&|f| format!("{:.1}", f.holding.rss_kib as f64 / MIB)),
            cell(&|f| format!("{:.1}", f.bytes_per_connection() / 1024.0)),
            cell(&|f| format!("{:.1}", f.holding.pss_kib as f64 / MIB)),
            cell(&|f| format!("{:.1}", f.holding.hwm_kib as f64 / MIB)),
            cell(&|f| format!("{:.1}", f.open_time.as_secs_f64())),
        ];
        if projected {
            row.push(cell(&|f| {
                format!(
                    "{:.1}",
                    f.projected_rss_kib(shape.idle_requested) as f64 / MIB
                )
            }));
        }
        table.row(row);
    }
    table
}

fn targets_table(results: &Results) -> Table {
    let mut table = Table::new(
        "Targets (bulk cases: streams and direction, ↓ download, ↑ upload):",
        &["target", "measured", "verdict"],
    );
    for verdict in targets::evaluate(results) {
        table.row(vec![verdict.target, verdict.measured, verdict.met.label()]);
    }
    table
}

/// Every table of the run, in order.
pub fn tables(results: &Results) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut stream_counts: Vec<usize> = results.bulk.iter().map(|case| case.streams).collect();
    stream_counts.dedup();
    for streams in stream_counts {
        let cases: Vec<&BulkCase> = results
            .bulk
            .iter()
            .filter(|case| case.streams == streams)
            .collect();
        tables.push(bulk_table(results, streams, &cases));
    }
    tables.push(rate_table(results));
    tables.push(idle_table(results));
    tables.push(targets_table(results));
    tables
}

fn kordon_note(results: &Results) -> Option<String> {
    match &results.kordon {
        KordonState::Pending(reason) => Some(format!(
            "kordon's lanes are pending the plane: {reason}. Re-run the command once the proxy \
             plane is in the binary to fill them in."
        )),
        _ => None,
    }
}

/// The terminal report.
pub fn plain(results: &Results, machine: &MachineFacts, command: &str) -> String {
    let mut text = format!("machine: {}\ncommand: {command}\n\n", machine.line());
    for table in tables(results) {
        text.push_str(&table.plain());
        text.push('\n');
    }
    if let Some(note) = kordon_note(results) {
        text.push_str(&note);
        text.push('\n');
    }
    text
}

const SECTION_HEAD: &str = "## Proxy data plane against dante and squid (issue: proxy data plane)

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

**Workloads** (clients and servers are tokio tasks in the bench process; every server closes
first, so TIME_WAIT never exhausts the clients' or proxies' ephemeral ports). Bulk and rate
run in rounds, each round visiting every lane once, so load from elsewhere on the shared
machine lands on all lanes alike:

- *Bulk*: a source (download) or sink (upload) sends or takes the measurement's bytes over 1
  stream, or split evenly over 16 parallel streams; throughput is those bytes over the wall
  time from the first connect to the last byte (for uploads, the sink's acknowledgement of the
  count it received); each lane's median round is reported. MB = 10^6 bytes.
- *Connection rate*: workers loop, each connection doing connect (with the proxy's handshake),
  a 1 KiB request, the 1 KiB echo, and the server's close, for the window after a warm-up of a
  third of it. connections/s counts the exchanges completed in the windows of all rounds over
  their summed length; latency runs from the start of the connect to the reply's last byte,
  percentiles over every connection of all rounds; *p99 added* is the lane's p99 minus the
  direct connection's p99 in the same run.
- *Idle memory*: the idle count of connections opened through the proxy to the echo server (64
  at a time) and held without a byte; 1 s after the last one, the proxy's `VmRSS` and `VmHWM`
  (`/proc/<pid>/status`) and `Pss` (`/proc/<pid>/smaps_rollup`, which splits pages shared by
  dante's forked children among them) are summed over its processes. Then every held connection
  carries one echo exchange, which proves it was a live tunnel when counted. The two kordon
  lanes run one after the other in the same kordon process.

**Open files:** each proxied connection costs the proxy 2 descriptors (client and upstream) and
the bench 2 (its client end and its server end), so holding 10,000 connections needs
`RLIMIT_NOFILE` ≥ 20,256 in the bench and in squid and kordon (single processes); dante's
io children each hold only their own clients' descriptors. The bench raises its limit to
2 × idle + 256 before starting the proxies, which inherit it; squid also gets
`max_filedescriptors` set to it. Where the hard limit cannot be raised (no
`CAP_SYS_RESOURCE`, as in containers), the bench holds as many connections as the limit
allows, (limit − 256) ÷ 2 (9,872 under a hard limit of 20,000), for every proxy alike, and
projects each proxy's measured growth to the count asked for.

**Command:**

```sh
cargo build --release -p kordon -p kordon-bench
# as root
";

/// The BENCHMARKS.md section.
pub fn markdown(results: &Results, machine: &MachineFacts, command: &str) -> String {
    let mut text = SECTION_HEAD.to_owned();
    text.push_str(command);
    text.push_str("\n```\n\n");
    text.push_str(&format!(
        "Options: `--no-kordon`, `--idle N` ({}), `--bulk-bytes N[K|M|G]` ({} MiB), \
         `--workers N` ({}), `--rate-seconds S` ({}), `--rounds N` ({}), `--kordon PATH`, \
         `--danted PATH`, `--squid PATH`; values of this run in parentheses.\n\n",
        results.shape.idle_requested,
        results.shape.bulk_bytes >> 20,
        results.shape.workers,
        results.shape.rate_window_seconds,
        results.shape.rounds,
    ));
    text.push_str(&format!(
        "**Results** — {}; RLIMIT_NOFILE {}.\n\n",
        machine.line(),
        results.shape.open_files
    ));
    if let Some(note) = kordon_note(results) {
        text.push_str(&note);
        text.push_str("\n\n");
    }
    for table in tables(results) {
        text.push_str(&table.markdown());
        text.push('\n');
    }
    text
}
