//! Farm API benchmark: fills a fresh store with 1,000 ports, 10,000 proxy logins, 10,000 proxy
//! profiles and 1,000,000 IP-history rows, starts the real `kordon` binary on it, and measures
//! the latency of the three list calls the operators' panels hammer, plus kordon's resident
//! memory. Prints a Markdown report.
//!
//! Usage: `cargo run --release -p kordon-bench --bin farm-api-bench -- [--kordon PATH]
//! [--requests N] [--concurrency C] [--data-dir DIR]`

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

const PORTS: i64 = 1_000;
const LOGINS: i64 = 10_000;
const PROXIES: i64 = 10_000;
const HISTORY: i64 = 1_000_000;
const OPERATORS: [&str; 4] = ["MegaFon RUS", "MTS RUS", "Beeline", "Tele2 RU"];
const NETWORK_TYPES: [&str; 3] = ["LTE (4G)", "UMTS (3G)", "GSM (2G)"];

struct Options {
    kordon: PathBuf,
    requests: usize,
    concurrency: usize,
    /// Reuse (or create and keep) the data set here instead of a temporary directory.
    data_dir: Option<PathBuf>,
}

fn options() -> Result<Options> {
    let mut options = Options {
        kordon: PathBuf::from("target/release/kordon"),
        requests: 2_000,
        concurrency: 4,
        data_dir: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value");
        match arg.as_str() {
            "--kordon" => options.kordon = PathBuf::from(value()?),
            "--requests" => options.requests = value()?.parse()?,
            "--concurrency" => options.concurrency = value()?.parse()?,
            "--data-dir" => options.data_dir = Some(PathBuf::from(value()?)),
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

/// Generates the data set with SQL inside SQLite (recursive CTEs), the fastest way to write
/// millions of rows, through the store so migrations and catalogues are the real ones.
async fn generate(dir: &Path) -> Result<()> {
    let store = kordon_store::Store::open_dir(dir).await?;
    let pool = store.pool();
    store
        .create_user(&kordon_store::users::UserFields {
            username: "bench_admin".into(),
            password: Some("bench12345".into()),
            email: "bench@example.com".into(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_superuser: true,
            phone: None,
            timezone: "Europe/Moscow".into(),
        })
        .await?;
    for name in OPERATORS {
        store.operator_id(name).await?;
    }
    for name in NETWORK_TYPES {
        store.network_type_id(name).await?;
    }
    let now = 1_700_000_000i64;
    let mut tx = pool.begin().await?;
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {PORTS})
         INSERT INTO ports (name, active, model_id, net_mode, monitoring_interval, is_osfp,
             osfp_id, ifname, mtu, reconnect_type, reconnect_interval, reconnect_min, link_token,
             date_create, date_update, ip, gateway, conn_dev, conn_net, conn_inet, signal,
             rsrq, rsrp, rssi, sinr, operator_id, network_type_id, external_ip)
         SELECT 'port-' || n, n % 10 != 0, 1 + n % 5, 'lte', 3, n % 2, CASE n % 2 WHEN 1 THEN 3 END,
             'usb' || n, 0, 'time_link', 240, 20, lower(hex(randomblob(20))), {now}, {now},
             '192.168.8.100', '192.168.8.1', 1, 1, 1, n % 6, '-7dB', '-74dBm', '>=-51dBm', '12dB',
             1 + n % 4, 1 + n % 3, '10.' || (n / 256) || '.' || (n % 256) || '.1'
         FROM seq"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {LOGINS})
         INSERT INTO proxy_logins (login, password, bitrate_in, bitrate_out, owner_id, date_create)
         SELECT 'login_' || n, 'pass' || n, 0, 0, 1, {now} FROM seq"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {PROXIES})
         INSERT INTO proxies (port_id, active, type, auth, listen_port, is_local, maxconn,
             is_allow, is_ports, login_id, date_create, date_update)
         SELECT 1 + n % {PORTS}, n % 7 != 0, CASE n % 2 WHEN 0 THEN 'http' ELSE 'socks' END,
             'strong', 20000 + n, 0, 0, 1, 0, n, {now}, {now}
         FROM seq"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {HISTORY})
         INSERT INTO port_ips (oip, port_id, operator_id, network_type_id, osfp_id, date_create)
         SELECT '10.' || (n / 65536 % 256) || '.' || (n / 256 % 256) || '.' || (n % 256),
             1 + n % {PORTS}, 1 + n % 4, 1 + n % 3, 1 + n % 8, {now} + n
         FROM seq"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT OR IGNORE INTO operator_ips (ip, operator_id, date_create)
         SELECT oip, operator_id, min(date_create) FROM port_ips GROUP BY oip, operator_id",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    store.close().await;
    Ok(())
}

struct Kordon {
    child: Child,
    base: String,
}

impl Drop for Kordon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_kordon(binary: &Path, dir: &Path) -> Result<Kordon> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(binary)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .env("KORDON_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("kordon did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Kordon {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

fn rss_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

/// Makes the i-th request body of a measured call.
type BodyFn = fn(usize) -> Value;

struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
    rps: f64,
    rows: usize,
}

/// Runs `requests` calls with `concurrency` clients; `body(i)` makes the i-th request body.
async fn measure(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    requests: usize,
    concurrency: usize,
    body: BodyFn,
) -> Result<Stats> {
    // Warm-up, and a check that the call really returns data.
    let warm: Value = client
        .post(url)
        .header("Authorization", format!("Token {key}"))
        .json(&body(0))
        .send()
        .await?
        .json()
        .await?;
    let rows = match &warm {
        Value::Array(items) => items.len(),
        other => other["data"].as_array().map(Vec::len).unwrap_or(0),
    };
    if rows == 0 {
        bail!("{url} returned no rows: {warm}");
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let url = url.to_string();
        let key = key.to_string();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while i < requests {
                let t = Instant::now();
                let response = client
                    .post(&url)
                    .header("Authorization", format!("Token {key}"))
                    .json(&body(i))
                    .send()
                    .await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if !status.is_success() {
                    bail!("{url}: HTTP {status}");
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                i += concurrency;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Ok(Stats {
        p50: pick(0.50),
        p99: pick(0.99),
        max: all[all.len() - 1],
        rps: all.len() as f64 / elapsed,
        rows,
    })
}

fn modem_list_body(i: usize) -> Value {
    json!({"filter": {"active": true, "operator__id": 1 + i % 4}})
}

fn proxy_list_body(i: usize) -> Value {
    json!({"filter": {"active": true}, "pagination": {"perpage": 100, "page": 1 + i % 80}})
}

fn ip_modem_body(i: usize) -> Value {
    json!({"filter": {"operator__id": 1 + i % 4}, "pagination": {"perpage": 100, "page": 1 + i % 100}})
}

fn ip_modem_last_page_body(_: usize) -> Value {
    json!({"filter": {"operator__id": 2}, "pagination": {"perpage": 100, "page": 2500}})
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = options()?;
    let temporary = tempfile::tempdir()?;
    let dir = options
        .data_dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    let t = Instant::now();
    if !dir.join("kordon.db").exists() {
        generate(&dir).await?;
    }
    let generation = t.elapsed();

    let kordon = start_kordon(&options.kordon, &dir)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let key = bench_key(&client, &kordon.base).await?;
    let (rss_idle, _) = rss_kib(kordon.child.id())?;

    let cases: [(&str, &str, BodyFn); 4] = [
        (
            "modem/list, filter active+operator",
            "/api/devices/modem/list",
            modem_list_body,
        ),
        (
            "proxy/list, page of 100 (pages 1-80)",
            "/api/proxy/list",
            proxy_list_body,
        ),
        (
            "ip/modem, operator filter, page of 100 (pages 1-100)",
            "/api/devices/ip/modem",
            ip_modem_body,
        ),
        (
            "ip/modem, operator filter, page 2500 (last)",
            "/api/devices/ip/modem",
            ip_modem_last_page_body,
        ),
    ];
    println!("| call | rows per reply | p50 ms | p99 ms | max ms | req/s |");
    println!("|---|---|---|---|---|---|");
    for (name, path, body) in cases {
        let url = format!("{}{}", kordon.base, path);
        let requests = if name.contains("last") {
            options.requests / 4
        } else {
            options.requests
        };
        let stats = measure(&client, &url, &key, requests, options.concurrency, body).await?;
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.0} |",
            stats.rows, stats.p50, stats.p99, stats.max, stats.rps
        );
    }
    let (rss, hwm) = rss_kib(kordon.child.id())?;
    println!();
    println!(
        "data generation: {:.1} s; kordon resident memory: {:.1} MiB idle after start, {:.1} MiB after the run, peak {:.1} MiB",
        generation.as_secs_f64(),
        rss_idle as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "requests per call: {} ({} concurrent clients)",
        options.requests, options.concurrency
    );
    Ok(())
}

/// Logs in as the superuser the generator created.
async fn bench_key(client: &reqwest::Client, base: &str) -> Result<String> {
    let reply: Value = client
        .post(format!("{base}/api/auth/login/"))
        .json(&json!({"username": "bench_admin", "password": "bench12345"}))
        .send()
        .await?
        .json()
        .await?;
    reply["key"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("login failed: {reply}"))
}
