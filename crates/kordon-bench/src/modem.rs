//! Modem plane benchmark: the three numbers, measured against emulated modems.
//!
//! 1. Rotation latency: from a rotation request to a new working public address, minus the
//!    emulator's reconnect delay, for single rotations (target: at most 1 s extra).
//! 2. Eight ports rotated with one request against the time of one rotation (target: 1.5×).
//!    Both on loopback (the rotation service in this process, emulators on 127.0.2.x) and, as
//!    root, in the namespace lab through the real `kordon serve` and its farm API.
//! 3. Monitoring cost: 200 emulated modems served by a child process (this binary in its
//!    hidden `--serve-emulators` mode), the monitoring service in this process polling every
//!    port every 3 s; this process's CPU time over the window as a share of one core (target:
//!    under 10%).
//!
//! Prints Markdown. Usage: `modem-bench [--kordon PATH] [--rotations N] [--modems N]
//! [--window SECONDS] [--no-lab]`

// A binary's root lives beside the other binaries; its parts live in `src/modem/`.
#[path = "modem/emulators.rs"]
mod emulators;
#[path = "modem/lab.rs"]
mod lab;
#[path = "modem/machine.rs"]
mod machine;
#[path = "modem/plane.rs"]
mod plane;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use emulators::Endpoint;
use plane::Plane;

/// The emulators' reconnect delay (the lab's default, the example).
const RECONNECT_DELAY: Duration = Duration::from_secs(2);
const ROTATION_PORTS: usize = 8;
const PARALLEL_ROUNDS: usize = 3;
const MONITORING_INTERVAL: i64 = 3;
const HIDDEN_MODE: &str = "--serve-emulators";

struct Options {
    kordon: PathBuf,
    rotations: usize,
    modems: usize,
    window: Duration,
    lab: bool,
}

fn options() -> Result<Options> {
    let beside_me = std::env::current_exe()?.with_file_name("kordon");
    let mut options = Options {
        kordon: beside_me,
        rotations: 10,
        modems: 200,
        window: Duration::from_secs(30),
        lab: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("missing value");
        match arg.as_str() {
            "--kordon" => options.kordon = PathBuf::from(value()?),
            "--rotations" => options.rotations = value()?.parse()?,
            "--modems" => options.modems = value()?.parse()?,
            "--window" => options.window = Duration::from_secs(value()?.parse()?),
            "--no-lab" => options.lab = false,
            other => bail!("unknown argument {other}"),
        }
    }
    if options.rotations == 0 || options.modems == 0 || options.modems > 250 * 250 {
        bail!("--rotations and --modems must be positive");
    }
    Ok(options)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.get(1).map(String::as_str) == Some(HIDDEN_MODE) {
        let count: usize = args.get(2).context("emulator count")?.parse()?;
        return runtime.block_on(serve_emulators(count));
    }
    let options = options()?;
    println!(
        "machine: {} cores (nproc), {}",
        machine::cores(),
        machine::cpu_model()
    );
    println!();
    println!("| measurement | where | result | target |");
    println!("|---|---|---|---|");
    runtime.block_on(loopback_rotations(&options))?;
    if options.lab {
        if kordon_lab::topology::is_root() {
            lab_rotations(&options)?;
        } else {
            println!("| rotations in the namespace lab | lab | skipped: needs root | |");
        }
    }
    runtime.block_on(monitoring_cost(&options))?;
    Ok(())
}

fn millis(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

/// p50 and max.
fn spread(mut values: Vec<Duration>) -> (Duration, Duration) {
    values.sort();
    let p50 = values[(values.len() - 1) / 2];
    (p50, values[values.len() - 1])
}

fn print_rotation_rows(place: &str, singles: Vec<Duration>, parallel: Vec<Duration>) {
    let extra: Vec<Duration> = singles
        .iter()
        .map(|t| t.saturating_sub(RECONNECT_DELAY))
        .collect();
    let count = singles.len();
    let (single_p50, single_max) = spread(singles);
    let (extra_p50, extra_max) = spread(extra);
    println!(
        "| rotation, request → new public IP, minus the {} s reconnect delay ({count} rotations, p50 / max) | {place} | {} / {} (total {} / {}) | ≤ 1000 ms |",
        RECONNECT_DELAY.as_secs(),
        millis(extra_p50),
        millis(extra_max),
        millis(single_p50),
        millis(single_max),
    );
    let rounds = parallel.len();
    let (parallel_p50, parallel_max) = spread(parallel);
    println!(
        "| {ROTATION_PORTS} ports rotated at once ÷ one rotation (p50 of {rounds} rounds, worst) | {place} | {:.2}× ({} ÷ {}), worst {:.2}× | ≤ 1.5× |",
        parallel_p50.as_secs_f64() / single_p50.as_secs_f64(),
        millis(parallel_p50),
        millis(single_p50),
        parallel_max.as_secs_f64() / single_p50.as_secs_f64(),
    );
}

/// The rotation service of this process against eight loopback modems.
async fn loopback_rotations(options: &Options) -> Result<()> {
    let modems = emulators::start(ROTATION_PORTS, 2, RECONNECT_DELAY).await?;
    let endpoints: Vec<Endpoint> = modems.iter().map(|m| m.endpoint.clone()).collect();
    let plane = Plane::start(&endpoints, MONITORING_INTERVAL).await?;
    plane.wait_online(Duration::from_secs(30)).await?;
    let within = Duration::from_secs(60);
    let mut singles = Vec::with_capacity(options.rotations);
    for round in 0..options.rotations {
        let index = round % ROTATION_PORTS;
        let took = plane.rotate(&[plane.ports[index]], within).await?;
        singles.extend(took);
        check_public_ip(&plane, &modems, index).await?;
    }
    let mut parallel = Vec::with_capacity(PARALLEL_ROUNDS);
    for _ in 0..PARALLEL_ROUNDS {
        let took = plane.rotate(&plane.ports, within).await?;
        parallel.extend(took.into_iter().max());
        for index in 0..ROTATION_PORTS {
            check_public_ip(&plane, &modems, index).await?;
        }
    }
    plane.stop().await?;
    for modem in modems {
        modem.shutdown().await;
    }
    print_rotation_rows("loopback, rotation service", singles, parallel);
    Ok(())
}

/// The address kordon recorded is the one the modem holds now.
async fn check_public_ip(
    plane: &Plane,
    modems: &[emulators::LoopbackModem],
    index: usize,
) -> Result<()> {
    let port = plane.port(plane.ports[index]).await?;
    let wan = modems[index]
        .emulator
        .state()
        .wan_ip()
        .map(|ip| ip.to_string());
    if port.external_ip.is_none() || port.external_ip != wan {
        bail!(
            "port {index} shows {:?}, its modem holds {wan:?}",
            port.external_ip
        );
    }
    Ok(())
}

fn lab_rotations(options: &Options) -> Result<()> {
    if !options.kordon.exists() {
        bail!(
            "{} not found: build it (cargo build --release -p kordon) or pass --kordon",
            options.kordon.display()
        );
    }
    let times = lab::measure(&options.kordon, options.rotations, RECONNECT_DELAY)?;
    let place = format!(
        "namespace lab, `kordon serve` + farm API, {} modems of 5 models",
        times.modems
    );
    print_rotation_rows(&place, times.singles, times.parallel);
    Ok(())
}

/// The emulator process, killed when dropped; its stdin closing also ends it.
struct EmulatorProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl EmulatorProcess {
    fn start(count: usize) -> Result<(EmulatorProcess, Vec<Endpoint>)> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([HIDDEN_MODE, &count.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("emulator stdout")?;
        let mut process = EmulatorProcess {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        };
        let mut endpoints = Vec::with_capacity(count);
        loop {
            let line = process.next_line()?;
            if line == "ready" {
                break;
            }
            endpoints.push(emulators::parse_endpoint_line(&line)?);
        }
        Ok((process, endpoints))
    }

    fn next_line(&mut self) -> Result<String> {
        Ok(self.lines.next().context("the emulator process ended")??)
    }

    /// Echo requests the emulators answered so far.
    fn echo_requests(&mut self) -> Result<u64> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        writeln!(stdin, "count")?;
        stdin.flush()?;
        Ok(self.next_line()?.parse()?)
    }

    fn cpu_time(&self) -> Result<Duration> {
        machine::cpu_time_of(self.child.id())
    }
}

/// Hidden mode: serve `count` loopback modems until stdin closes; answer "count" lines with
/// the number of echo requests served.
async fn serve_emulators(count: usize) -> Result<()> {
    let modems = emulators::start(count, 1, RECONNECT_DELAY).await?;
    {
        let mut out = std::io::stdout().lock();
        for modem in &modems {
            writeln!(out, "{}", emulators::endpoint_line(&modem.endpoint))?;
        }
        writeln!(out, "ready")?;
        out.flush()?;
    }
    let commands = tokio::task::spawn_blocking(|| -> Result<()> {
        for line in std::io::stdin().lock().lines() {
            if line?.trim() == "count" {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", emulators::ECHO_REQUESTS.load(Ordering::Relaxed))?;
                out.flush()?;
            }
        }
        Ok(())
    });
    let outcome = commands.await?;
    for modem in modems {
        modem.shutdown().await;
    }
    outcome
}

async fn monitoring_cost(options: &Options) -> Result<()> {
    let (mut emulators, endpoints) = EmulatorProcess::start(options.modems)?;
    let plane = Plane::start(&endpoints, MONITORING_INTERVAL).await?;
    plane.wait_online(Duration::from_secs(120)).await?;
    // One more full interval so every loop is in its steady rhythm.
    tokio::time::sleep(Duration::from_secs(MONITORING_INTERVAL as u64)).await;

    let echoes_before = emulators.echo_requests()?;
    let emulator_cpu_before = emulators.cpu_time()?;
    let cpu_before = machine::cpu_time()?;
    let started = Instant::now();
    tokio::time::sleep(options.window).await;
    let cpu = machine::cpu_time()?.saturating_sub(cpu_before);
    let elapsed = started.elapsed();
    let emulator_cpu = emulators.cpu_time()?.saturating_sub(emulator_cpu_before);
    let echoes = emulators.echo_requests()? - echoes_before;
    plane.wait_online(Duration::from_secs(10)).await?;
    plane.stop().await?;
    drop(emulators);

    let share = cpu.as_secs_f64() / elapsed.as_secs_f64() * 100.0;
    let expected = options.modems as f64 * elapsed.as_secs_f64() / MONITORING_INTERVAL as f64;
    println!(
        "| monitoring cost: {} modems polled every {MONITORING_INTERVAL} s, CPU of the monitoring process over {:.0} s | loopback, emulators in a child process | {share:.1}% of one core ({:.2} s CPU; {echoes} readings, {:.0}% of the {expected:.0} due) | < 10% |",
        options.modems,
        elapsed.as_secs_f64(),
        cpu.as_secs_f64(),
        echoes as f64 / expected * 100.0,
    );
    println!();
    println!(
        "emulator process over the same window: {:.1}% of one core. Rotation targets count from the request to the moment kordon reports the rotation done with the new address an echo service saw through the port.",
        emulator_cpu.as_secs_f64() / elapsed.as_secs_f64() * 100.0
    );
    Ok(())
}
