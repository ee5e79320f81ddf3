//! The run's tables (one per workload, with kordon's ratios to each peer) and the targets,
//! for a terminal or as the BENCHMARKS.md section (`--markdown`).

use super::lanes::{self, LaneId};
use super::machine_facts::MachineFacts;
use super::results::{BulkCase, BulkFigures, KordonState, Results};
use super::section;
use super::table::Table;
use super::targets::{self, ratio_text};

const MIB: f64 = 1024.0;

/// The bulk ratio rows: (lane, peer lane). kordon's against each peer, then the bare relay's
/// against dante (how far any relay gets on this machine) and kordon's against the bare relay.
const RATIOS: [(LaneId, LaneId); 6] = [
    (LaneId::KordonSocks, LaneId::Dante),
    (LaneId::KordonConnect, LaneId::Squid),
    (LaneId::KordonSocks, LaneId::Direct),
    (LaneId::KordonConnect, LaneId::Direct),
    (LaneId::BareRelay, LaneId::Dante),
    (LaneId::KordonSocks, LaneId::BareRelay),
];

fn short(lane: LaneId) -> &'static str {
    match lane {
        LaneId::Direct => "direct",
        LaneId::Dante => "dante",
        LaneId::Squid => "squid",
        LaneId::BareRelay => "bare relay",
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

/// A proxy's CPU cost, or why a lane has none.
fn cost_text(cost: Option<f64>, decimals: usize) -> String {
    match cost {
        Some(cost) => format!("{cost:.decimals$}"),
        None => "no proxy".to_owned(),
    }
}

/// How one bulk figure of a lane reads in its cell.
type BulkCell = fn(&BulkFigures) -> String;

fn bulk_table(results: &Results, streams: usize, cases: &[&BulkCase]) -> Table {
    let bytes_mib = results.shape.bulk_bytes as f64 / (MIB * MIB);
    let title = format!(
        "Bulk, {streams} stream{} ({bytes_mib:.0} MiB per measurement{}), median of {} rounds: \
         throughput in MB/s (higher is better), the proxy's CPU (user + system over all \
         its processes) in seconds per GiB moved (lower is better), and how busy the \
         machine's cores were (all processes; near 100% the machine, not the proxy, is the \
         bound):",
        if streams == 1 { "" } else { "s" },
        if streams == 1 { "" } else { ", split evenly" },
        results.shape.rounds,
    );
    // One group of columns per figure, a column per case in each.
    let groups: [(&str, BulkCell); 3] = [
        ("MB/s", |figures| {
            format!("{:.0}", figures.throughput.megabytes_per_second())
        }),
        ("CPU s/GiB", |figures| {
            cost_text(figures.proxy_cpu_seconds_per_gib, 2)
        }),
        ("machine busy", |figures| {
            figures
                .machine_busy
                .map(|share| format!("{:.0}%", share * 100.0))
                .unwrap_or_else(|| "—".to_owned())
        }),
    ];
    let mut header = vec!["lane".to_owned()];
    for (unit, _) in groups {
        header.extend(
            cases
                .iter()
                .map(|case| format!("{} {unit}", case.direction.label())),
        );
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(title, &header);
    let columns = header.len();
    let ran = |lane: LaneId| cases.iter().any(|case| case.lanes.has(lane));
    for lane in lanes::BULK {
        if lane.is_kordon() && !ran(lane) {
            table.row(unmeasured_row(results, lane.label().to_owned(), columns));
            continue;
        }
        let mut row = vec![lane.label().to_owned()];
        for (_, show) in groups {
            row.extend(
                cases
                    .iter()
                    .map(|case| case.lanes.cell(lane, &results.kordon, show)),
            );
        }
        table.row(row);
    }
    for (lane, peer) in RATIOS {
        let label = format!("ratio {} ÷ {}", short(lane), short(peer));
        if !ran(lane) {
            table.row(unmeasured_row(results, label, columns));
            continue;
        }
        let mut row = vec![label];
        for case in cases {
            row.push(ratio_cell(
                results,
                case.megabytes_per_second(lane),
                case.megabytes_per_second(peer),
            ));
        }
        for case in cases {
            row.push(ratio_cell(
                results,
                case.proxy_cpu_seconds_per_gib(lane),
                case.proxy_cpu_seconds_per_gib(peer),
            ));
        }
        row.resize(columns, String::new());
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

const RATE_HEADER: [&str; 7] = [
    "lane",
    "connections/s",
    "p50 ms",
    "p99 ms",
    "p99 added ms",
    "CPU ms per 1,000 conn.",
    "errors",
];
/// Where the proxy's CPU cost sits in `RATE_HEADER`.
const RATE_CPU_COLUMN: usize = 5;

fn rate_table(results: &Results) -> Table {
    let shape = &results.shape;
    let mut table = Table::new(
        format!(
            "Connection rate: {} workers, {} rounds of {} s pooled, each connection: connect + \
             handshake, 1 KiB request, 1 KiB reply, close; latency from connect to the reply's \
             last byte; proxy CPU (user + system over all its processes, lower is better) per \
             1,000 connections of the window, median of the rounds:",
            shape.workers, shape.rounds, shape.rate_window_seconds
        ),
        &RATE_HEADER,
    );
    for lane in lanes::RATE {
        if lane.is_kordon() && !results.rate.has(lane) {
            table.row(unmeasured_row(
                results,
                lane.label().to_owned(),
                RATE_HEADER.len(),
            ));
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
            cell(&|f| cost_text(f.proxy_cpu_ms_per_thousand, 0)),
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
        let cost = |lane| results.proxy_cpu_ms_per_thousand(lane);
        let mut row = vec![
            format!("ratio {} ÷ {}", short(kordon), short(peer)),
            ratio_cell(results, per_second(kordon), per_second(peer)),
        ];
        row.resize(RATE_CPU_COLUMN, String::new());
        row.push(ratio_cell(results, cost(kordon), cost(peer)));
        row.resize(RATE_HEADER.len(), String::new());
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

/// The targets of the workloads that ran; `None` when none has a target.
fn targets_table(results: &Results) -> Option<Table> {
    let verdicts = targets::evaluate(results);
    if verdicts.is_empty() {
        return None;
    }
    let title = if results.shape.workloads.bulk {
        "Targets (bulk cases: streams and direction, ↓ download, ↑ upload):"
    } else {
        "Targets:"
    };
    let mut table = Table::new(title, &["target", "measured", "verdict"]);
    for verdict in verdicts {
        table.row(vec![verdict.target, verdict.measured, verdict.met.label()]);
    }
    Some(table)
}

/// Every table of the workloads that ran, in order.
pub fn tables(results: &Results) -> Vec<Table> {
    let ran = results.shape.workloads;
    let mut tables = Vec::new();
    let bulk = if ran.bulk { &results.bulk[..] } else { &[] };
    let mut stream_counts: Vec<usize> = bulk.iter().map(|case| case.streams).collect();
    stream_counts.dedup();
    for streams in stream_counts {
        let cases: Vec<&BulkCase> = bulk.iter().filter(|case| case.streams == streams).collect();
        tables.push(bulk_table(results, streams, &cases));
    }
    if ran.rate {
        tables.push(rate_table(results));
    }
    if ran.idle {
        tables.push(idle_table(results));
    }
    tables.extend(targets_table(results));
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

/// The BENCHMARKS.md section.
pub fn markdown(results: &Results, machine: &MachineFacts, command: &str) -> String {
    let mut text = section::method(&results.shape, command);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Workloads;
    use crate::fixtures::results;

    fn row<'a>(table: &'a Table, label: &str) -> &'a [String] {
        table
            .rows
            .iter()
            .find(|row| row[0] == label)
            .unwrap_or_else(|| panic!("no row {label}"))
    }

    #[test]
    fn bulk_and_rate_tables_carry_the_proxy_cpu_and_its_ratios() {
        let results = results(true);
        let tables = tables(&results);
        let bulk = &tables[0];
        assert_eq!(
            bulk.header,
            [
                "lane",
                "download MB/s",
                "download CPU s/GiB",
                "download machine busy"
            ]
        );
        assert_eq!(
            row(bulk, "direct (no proxy)"),
            ["direct (no proxy)", "2000", "no proxy", "90%"]
        );
        assert!(bulk
            .rows
            .iter()
            .all(|cells| cells.len() == bulk.header.len()));
        assert_eq!(row(bulk, "dante SOCKS5 (no auth)")[2], "0.80");
        let socks = row(bulk, "ratio kordon SOCKS5 ÷ dante");
        assert_eq!(socks[1..], ["2.14×", "0.50×", ""]);
        assert_eq!(row(bulk, "ratio kordon CONNECT ÷ squid")[2], "0.50×");
        assert_eq!(row(bulk, "ratio kordon SOCKS5 ÷ direct")[2], "—");
        assert_eq!(
            row(bulk, "ratio bare relay ÷ dante")[1..3],
            ["2.00×", "0.62×"]
        );
        assert_eq!(
            row(bulk, "ratio kordon SOCKS5 ÷ bare relay")[1..3],
            ["1.07×", "0.80×"]
        );

        let rate = tables
            .iter()
            .find(|table| table.title.starts_with("Connection rate"))
            .unwrap();
        let column = rate
            .header
            .iter()
            .position(|name| name == "CPU ms per 1,000 conn.")
            .unwrap();
        assert_eq!(row(rate, "direct (no proxy)")[column], "no proxy");
        assert_eq!(row(rate, "dante SOCKS5 (no auth)")[column], "400");
        assert_eq!(row(rate, "kordon SOCKS5 (login)")[column], "200");
        let ratio = row(rate, "ratio kordon SOCKS5 ÷ dante");
        assert_eq!(
            (ratio[1].as_str(), ratio[column].as_str()),
            ("2.20×", "0.50×")
        );
        assert!(ratio.iter().all(|cell| !cell.contains("failed")));
        assert!(rate
            .rows
            .iter()
            .all(|cells| cells.len() == rate.header.len()));
    }

    #[test]
    fn reports_only_the_workloads_that_ran() {
        let mut results = results(true);
        results.shape.workloads = Workloads {
            bulk: false,
            rate: true,
            idle: false,
        };
        let titles: Vec<String> = tables(&results)
            .into_iter()
            .map(|table| table.title)
            .collect();
        assert_eq!(titles.len(), 2, "{titles:?}");
        assert!(titles[0].starts_with("Connection rate") && titles[1] == "Targets:");
        let machine = MachineFacts {
            cores: 2,
            cpu: "test CPU".into(),
            kernel: "6.1".into(),
            memory_gib: 4.0,
            date: "2025-01-01".into(),
            danted: "1.4".into(),
            squid: "6.13".into(),
        };
        let text = markdown(&results, &machine, "proxy-bench --workloads rate");
        assert!(text.contains("*Connection rate*") && text.contains("**Proxy CPU:**"));
        assert!(!text.contains("*Bulk*") && !text.contains("*Idle memory*"));
        assert!(!text.contains("Bulk, 1 stream") && !text.contains("Memory with"));
    }
}
