//! ipfilter benchmark (as root): the real `kordon serve` in a network namespace of its own,
//! 1,000,000 rules imported through the API until the kernel holds them, single creates and
//! destroys applied to the kernel with the million present, `ip_filter/list` pages, and the
//! same load through the plain `nft` command line as the peer. Prints a Markdown report.
//!
//! Usage: `target/release/ipfilter-bench [--kordon PATH] [--rules N] [--changes N]
//! [--pages N] [--peer-calls N] [--no-peer-interval]`

#[path = "ipfilter/data.rs"]
mod data;
#[path = "ipfilter/peer.rs"]
mod peer;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

const TABLE: &str = "kordon_ipfilter";
const BASE: &str = "http://127.0.0.1:8000";
const PASSWORD: &str = "bench12345";

struct Options {
    kordon: PathBuf,
    rules: usize,
    changes: usize,
    pages: usize,
    peer_calls: usize,
    peer_interval: bool,
}

const USAGE: &str = "usage: ipfilter-bench [--kordon PATH] [--rules N] [--changes N] [--pages N] \
[--peer-calls N] [--no-peer-interval]   (as root; defaults: target/release/kordon, 1000000 rules, \
40 creates and destroys, 300 list calls per page, 1000 single nft calls, the interval-set peer on)";

fn options() -> Result<Options> {
    let mut options = Options {
        kordon: PathBuf::from("target/release/kordon"),
        rules: 1_000_000,
        changes: 40,
        pages: 300,
        peer_calls: 1000,
        peer_interval: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value");
        match arg.as_str() {
            "--kordon" => options.kordon = PathBuf::from(value()?),
            "--rules" => options.rules = value()?.parse()?,
            "--changes" => options.changes = value()?.parse()?,
            "--pages" => options.pages = value()?.parse()?,
            "--peer-calls" => options.peer_calls = value()?.parse()?,
            "--no-peer-interval" => options.peer_interval = false,
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(options)
}

/// The bench's own network namespace, entered by the whole process (before any thread
/// starts, so every thread and child lives in it) and deleted at the end.
struct Namespace(String);

impl Namespace {
    fn enter(name: &str) -> Result<Self> {
        let _ = Command::new("ip").args(["netns", "del", name]).status();
        let status = Command::new("ip").args(["netns", "add", name]).status()?;
        if !status.success() {
            bail!("ip netns add {name}");
        }
        let file = std::fs::File::open(format!("/run/netns/{name}"))?;
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)?;
        let status = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()?;
        if !status.success() {
            bail!("ip link set lo up");
        }
        Ok(Self(name.to_string()))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

struct Kordon {
    child: Child,
    _data: tempfile::TempDir,
}

impl Drop for Kordon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_kordon(binary: &PathBuf) -> Result<Kordon> {
    let data = tempfile::tempdir()?;
    let child = Command::new(binary)
        .arg("serve")
        .env("KORDON_DATA_DIR", data.path())
        .env("KORDON_LISTEN", "127.0.0.1:8000")
        .env("KORDON_ADMIN_PASSWORD", PASSWORD)
        .env("KORDON_IPFILTER_TIMEZONE", "UTC")
        .env("KORDON_LOG", "warn,kordon::ipfilter_plane=info")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    Ok(Kordon { child, _data: data })
}

fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Ok(kib / 1024.0)
}

async fn token(client: &reqwest::Client) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = client
            .post(format!("{BASE}/api/account/credentials/verify"))
            .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
            .send()
            .await;
        if let Ok(reply) = reply {
            let body: Value = reply.json().await?;
            if let Some(token) = body["access_token"].as_str() {
                return Ok(token.to_string());
            }
        }
        if Instant::now() > deadline {
            bail!("kordon never answered");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn kernel_elements(client: &reqwest::Client) -> Result<u64> {
    let token = token(client).await?;
    let body: Value = client
        .get(format!("{BASE}/api/ip_filter/status"))
        .query(&[("access_token", token.as_str())])
        .send()
        .await?
        .json()
        .await?;
    Ok(body["enforcement"]["kernel"]["elements"]
        .as_u64()
        .unwrap_or(0))
}

/// Whether the kernel holds `address` in set `set` of kordon's table (reads the whole set:
/// for spot checks only).
fn in_kernel(set: &str, address: &str) -> bool {
    Command::new("nft")
        .args([
            "get",
            "element",
            "inet",
            TABLE,
            set,
            &format!("{{ {address} }}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// How long a probe waits for the handshake: over loopback it takes microseconds, so no
/// answer within this means the kernel dropped the SYN.
const PROBE_WAIT: Duration = Duration::from_millis(10);

/// Where probes go: a port nothing listens on, so a SYN that passes the filter gets the
/// kernel's RST at once and no process (kordon least of all) spends anything on the probe.
const PROBE_TARGET: &str = "127.0.0.1:9";

/// Whether the kernel drops a TCP SYN from `source` (an address of `lo`): a real packet, not
/// `nft get element`, which reads the whole set (400 ms at 100,000 elements) and would measure
/// itself.
async fn dropped(source: std::net::Ipv4Addr) -> Result<bool> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    let connect = socket.connect(PROBE_TARGET.parse()?);
    match tokio::time::timeout(PROBE_WAIT, connect).await {
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => Ok(false),
        Ok(Ok(_)) => bail!("something listens on {PROBE_TARGET}"),
        Ok(Err(error)) => bail!("probe from {source}: {error}"),
        Err(_) => Ok(true),
    }
}

/// Probes until the kernel drops `source` (or lets it through, `want = false`); returns when
/// the first probe that saw it started, after `started`.
async fn until_kernel(
    source: std::net::Ipv4Addr,
    want: bool,
    started: Instant,
) -> Result<Duration> {
    loop {
        let probe = Instant::now();
        if dropped(source).await? == want {
            return Ok(probe.duration_since(started));
        }
        if started.elapsed() > Duration::from_secs(10) {
            bail!("{source}: the kernel never saw the change");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Creates then destroys `changes` single /32 rules; returns (create, destroy) latencies from
/// the API request until the kernel drops (lets through) packets from the rule's address.
async fn single_changes(
    client: &reqwest::Client,
    changes: usize,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let token = token(client).await?;
    let (mut creates, mut destroys) = (Vec::new(), Vec::new());
    for i in 0..changes {
        let source = std::net::Ipv4Addr::new(172, 20, (i / 250) as u8, (1 + i % 250) as u8);
        let address = source.to_string();
        if dropped(source).await? {
            bail!("{source} is dropped before any rule");
        }
        let started = Instant::now();
        let body: Value = client
            .post(format!("{BASE}/api/ip_filter/create"))
            .json(&serde_json::json!({"access_token": token, "ip": address,
                "mask": "255.255.255.255", "type": 0, "description": "single"}))
            .send()
            .await?
            .json()
            .await?;
        let id = body["id"].as_str().context("create failed")?.to_string();
        creates.push(until_kernel(source, true, started).await?);
        let started = Instant::now();
        client
            .post(format!("{BASE}/api/ip_filter/destroy"))
            .json(&serde_json::json!({"access_token": token, "id": id}))
            .send()
            .await?
            .error_for_status()?;
        destroys.push(until_kernel(source, false, started).await?);
        eprintln!(
            "change {i}: create {}, destroy {}",
            ms(creates[i]),
            ms(destroys[i])
        );
    }
    creates.sort();
    destroys.sort();
    Ok((creates, destroys))
}

/// `requests` list calls of 100 rules on page `page`: sorted latencies.
async fn list_pages(
    client: &reqwest::Client,
    page: u64,
    sort: &str,
    requests: usize,
) -> Result<Vec<Duration>> {
    let token = token(client).await?;
    let mut latencies = Vec::with_capacity(requests);
    let page = page.to_string();
    for _ in 0..requests {
        let started = Instant::now();
        let reply = client
            .get(format!("{BASE}/api/ip_filter/list"))
            .query(&[
                ("access_token", token.as_str()),
                ("pagination", page.as_str()),
                ("pagesize", "100"),
                ("sort_by", sort),
            ])
            .send()
            .await?;
        let body: Value = reply.json().await?;
        if body["count"].as_u64() != Some(100) {
            bail!("list page {page} sort {sort}: {body}");
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    Ok(latencies)
}

fn main() -> Result<()> {
    let options = options()?;
    if !nix::unistd::geteuid().is_root() {
        bail!("ipfilter-bench needs root (network namespace, nftables)");
    }
    let _namespace = Namespace::enter(&format!("kipb{}", std::process::id() % 100_000))?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(options))
}

async fn run(options: Options) -> Result<()> {
    let rules = data::rules(options.rules);
    let csv = data::csv(&rules);
    let expected = data::element_count(&rules) as u64;
    let kordon = start_kordon(&options.kordon)?;
    // Sources for the probes of single changes: every address of 172.20.0.0/16 is local.
    let status = Command::new("ip")
        .args(["addr", "add", "172.20.0.0/16", "dev", "lo"])
        .status()?;
    if !status.success() {
        bail!("ip addr add 172.20.0.0/16 dev lo");
    }
    let client = reqwest::Client::new();
    let token = token(&client).await?;
    let rss_idle = rss_mib(kordon.child.id())?;

    // 1. Import until the kernel holds every rule.
    let started = Instant::now();
    let reply: Value = client
        .post(format!("{BASE}/api/ip_filter/import"))
        .query(&[("access_token", token.as_str())])
        .header("Content-Type", "text/csv")
        .body(csv)
        .timeout(Duration::from_secs(300))
        .send()
        .await?
        .json()
        .await?;
    let stored = started.elapsed();
    if reply["created"].as_u64() != Some(rules.len() as u64) {
        bail!("import: {reply}");
    }
    loop {
        if kernel_elements(&client).await? >= expected {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the kernel never got every rule");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let active = started.elapsed();
    for (set, address) in [("block4_32", "10.0.0.12"), ("block4_24", "11.0.1.0")] {
        if !in_kernel(set, address) {
            bail!("{address} missing from {set}");
        }
    }
    let rss_loaded = rss_mib(kordon.child.id())?;

    // 2. Single changes with the million present.
    let (creates, destroys) = single_changes(&client, options.changes).await?;

    // 3. List pages of 100.
    let last = (rules.len() as u64).div_ceil(100);
    let mut pages = Vec::new();
    // Every sort at the middle (the deepest page from either end), both ends, and the
    // quarters.
    for (page, sort) in [
        (1, "DEFAULT"),
        (last / 2, "DEFAULT"),
        (last, "DEFAULT"),
        (last / 2, "-id"),
        (last / 2, "ip"),
        (last * 3 / 4, "-ip"),
        (last / 2, "type"),
        (last / 4, "-type"),
        (last / 2, "expires_time"),
        (last / 4, "-expires_time"),
    ] {
        let latencies = list_pages(&client, page, sort, options.pages).await?;
        pages.push((page, sort, latencies));
    }
    let rss_end = rss_mib(kordon.child.id())?;
    drop(kordon);

    // 4. The peer.
    let peer_batch = peer::batch_hash_sets(&rules)?;
    let peer_call = peer::per_call_hash_sets(options.peer_calls)?;
    let peer_interval_batch = peer::batch_interval_set(&rules)?;
    let peer_interval_call = if options.peer_interval {
        Some(peer::one_call_interval_set()?)
    } else {
        None
    };
    peer::remove();

    let cpu = std::fs::read_to_string("/proc/cpuinfo")?
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    println!(
        "\n**Result** ({} rules, {} cores (`nproc`), {cpu}):\n",
        rules.len(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!("| measurement | kordon | plain `nft` | target |\n|---|---|---|---|");
    println!(
        "| import of {} rules → all in the kernel | {:.1} s (stored and answered in {:.1} s) | one batch file: {:.1} s (per-prefix hash sets), {:.1} s (one interval set); one call per rule: {:.1} ms per call → {:.0} s for all | < 30 s |",
        rules.len(),
        active.as_secs_f64(),
        stored.as_secs_f64(),
        peer_batch.as_secs_f64(),
        peer_interval_batch.as_secs_f64(),
        peer_call.as_secs_f64() * 1000.0,
        peer_call.as_secs_f64() * rules.len() as f64,
    );
    let interval_call = peer_interval_call
        .map(|d| {
            format!(
                "; into the interval set holding them all: {:.1} s",
                d.as_secs_f64()
            )
        })
        .unwrap_or_default();
    println!(
        "| single create → in the kernel ({} creates, p50 / p99 / max) | {} / {} / {} | one `nft add element` call: {}{interval_call} | < 50 ms |",
        creates.len(),
        ms(percentile(&creates, 0.5)),
        ms(percentile(&creates, 0.99)),
        ms(*creates.last().unwrap_or(&Duration::ZERO)),
        ms(peer_call),
    );
    let slowest = |latencies: &[Duration]| {
        let mut worst: Vec<String> = latencies.iter().rev().take(3).map(|d| ms(*d)).collect();
        worst.reverse();
        worst.join(", ")
    };
    eprintln!(
        "slowest creates: {}; slowest destroys: {}",
        slowest(&creates),
        slowest(&destroys)
    );
    println!(
        "| single destroy → out of the kernel ({} destroys, p50 / p99 / max) | {} / {} / {} | | < 50 ms |",
        destroys.len(),
        ms(percentile(&destroys, 0.5)),
        ms(percentile(&destroys, 0.99)),
        ms(*destroys.last().unwrap_or(&Duration::ZERO)),
    );
    for (page, sort, latencies) in &pages {
        println!(
            "| `ip_filter/list` page {page} of {last}, 100 rules, sort_by={sort} ({} calls, p50 / p99) | {} / {} | | p99 < 10 ms |",
            latencies.len(),
            ms(percentile(latencies, 0.5)),
            ms(percentile(latencies, 0.99)),
        );
    }
    println!(
        "| kordon resident memory: idle / {} rules loaded / after the run | {rss_idle:.0} / {rss_loaded:.0} / {rss_end:.0} MiB | | |",
        rules.len()
    );
    Ok(())
}
