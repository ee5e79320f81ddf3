//! Proxy data plane benchmark: kordon's SOCKS5 and HTTP CONNECT proxies against Debian's
//! dante-server (SOCKS5) and squid (HTTP CONNECT), against a direct connection, and (for bulk
//! throughput) against the bare relay, the thinnest relay possible, all on loopback in one run:
//!
//! 1. bulk throughput of one stream and of 16 parallel streams, both directions;
//! 2. connections per second (connect, 1 KiB request and reply, close) under a fixed number
//!    of concurrent workers, with each connection's latency (p50, p99, and p99 added over the
//!    direct connection);
//! 3. resident memory of each proxy while it holds 10,000 idle connections.
//!
//! Around each bulk and rate measurement the bench reads the CPU time (user + system) of the
//! proxy's processes, and reports it per GiB moved and per 1,000 connections: on a small
//! machine where the bench and the proxy share the cores, this is the figure that compares
//! the proxies' own cost.
//!
//! The bench starts every peer itself with a generated configuration in a temporary directory
//! (kordon through its farm API, as an operator would) and stops them at the end. It prints a
//! table per workload with kordon's ratios to each peer, and with `--markdown` the
//! BENCHMARKS.md section. A missing peer program stops the run before anything starts, naming
//! its Debian package.
//!
//! Usage: `proxy-bench [--kordon PATH | --no-kordon] [--danted PATH] [--squid PATH]
//! [--workloads bulk,rate,idle] [--bulk-bytes N[K|M|G]] [--workers N] [--rate-seconds S]
//! [--rounds N] [--idle N] [--markdown]`

// A binary's root lives beside the other binaries; its parts live in `src/proxy/`.
#[path = "proxy/args.rs"]
mod args;
#[path = "proxy/bare_relay.rs"]
mod bare_relay;
#[path = "proxy/bulk.rs"]
mod bulk;
#[path = "proxy/client.rs"]
mod client;
#[path = "proxy/connect.rs"]
mod connect;
#[path = "proxy/cpu.rs"]
mod cpu;
#[path = "proxy/dante.rs"]
mod dante;
#[path = "proxy/farm.rs"]
mod farm;
#[cfg(test)]
#[path = "proxy/fixtures.rs"]
mod fixtures;
#[path = "proxy/idle.rs"]
mod idle;
#[path = "proxy/kordon.rs"]
mod kordon;
#[path = "proxy/lanes.rs"]
mod lanes;
#[path = "proxy/limits.rs"]
mod limits;
// Shared with modem-bench, which also uses its CPU-time readers.
#[allow(dead_code)]
#[path = "modem/machine.rs"]
mod machine;
#[path = "proxy/machine_facts.rs"]
mod machine_facts;
#[path = "proxy/machine_load.rs"]
mod machine_load;
#[path = "proxy/proc_stat.rs"]
mod proc_stat;
#[path = "proxy/process.rs"]
mod process;
#[path = "proxy/programs.rs"]
mod programs;
#[path = "proxy/rate.rs"]
mod rate;
#[path = "proxy/report.rs"]
mod report;
#[path = "proxy/results.rs"]
mod results;
#[path = "proxy/section.rs"]
mod section;
#[path = "proxy/servers.rs"]
mod servers;
#[path = "proxy/socks5.rs"]
mod socks5;
#[path = "proxy/squid.rs"]
mod squid;
#[path = "proxy/stats.rs"]
mod stats;
#[path = "proxy/table.rs"]
mod table;
#[path = "proxy/targets.rs"]
mod targets;
#[path = "proxy/workloads.rs"]
mod workloads;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use args::Options;
use client::Route;
use kordon::KordonPeer;
use lanes::{Lane, LaneId};
use programs::Programs;
use results::{KordonState, Results, RunShape};
use servers::Servers;

/// Fewer idle connections than this would say nothing about memory per connection.
const MIN_IDLE: usize = 100;
/// How long a freshly started proxy gets to carry its first exchange.
const READY_WITHIN: Duration = Duration::from_secs(15);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(bare_relay::SUBCOMMAND) {
        return bare_relay::serve(&args[1..]);
    }
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{}", args::USAGE);
        return Ok(());
    }
    let beside_me = std::env::current_exe()?.with_file_name("kordon");
    let options = args::parse(args.clone(), beside_me)?;
    if let Some(cpus) = &options.proxy_cpus {
        process::pin_proxies_to(cpus)?;
    }
    let programs = programs::locate(&options, &std::env::var_os("PATH").unwrap_or_default())?;
    let open_files = limits::raise_open_files(limits::open_files_for(options.idle))?;
    let idle = options.idle.min(limits::idle_capacity(open_files));
    if options.workloads.idle && idle < MIN_IDLE {
        bail!(
            "RLIMIT_NOFILE is {open_files}: room for only {idle} idle connections per process \
             (at least {MIN_IDLE} needed); raise `ulimit -n`"
        );
    }
    if options.workloads.idle && idle < options.idle {
        progress(format!(
            "RLIMIT_NOFILE stays at {open_files} (the hard limit cannot be raised here): \
             holding {idle} idle connections instead of {}, and projecting to {}",
            options.idle, options.idle
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let shape = RunShape {
        workloads: options.workloads,
        bulk_bytes: options.bulk_bytes,
        workers: options.workers,
        rate_window_seconds: options.rate_window.as_secs(),
        rounds: options.rounds,
        idle,
        idle_requested: options.idle,
        open_files,
    };
    let results = runtime.block_on(run(&options, &programs, shape))?;
    let machine = machine_facts::MachineFacts::read(&programs.danted, &programs.squid);
    let command = std::iter::once("target/release/proxy-bench".to_owned())
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ");
    if options.markdown {
        print!("{}", report::markdown(&results, &machine, &command));
    } else {
        print!("{}", report::plain(&results, &machine, &command));
    }
    Ok(())
}

fn progress(message: impl std::fmt::Display) {
    eprintln!("proxy-bench: {message}");
}

/// The proxies of a run; each stops when this is dropped.
struct Peers {
    _dante: process::ProxyProcess,
    _squid: process::ProxyProcess,
    _bare_relay: process::ProxyProcess,
    _kordon: Option<process::ProxyProcess>,
}

async fn run(options: &Options, programs: &Programs, shape: RunShape) -> Result<Results> {
    let servers = Servers::start().await?;
    let targets = [servers.bulk, servers.echo];
    let dir = tempfile::Builder::new().prefix("proxy-bench-").tempdir()?;
    // Squid drops root for its own user, which must reach its directory inside this one.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;

    let mut lanes = vec![Lane {
        id: LaneId::Direct,
        route: Route::Direct,
        process_group: None,
    }];
    progress("starting danted");
    let (dante, dante_listen) =
        dante::start(&programs.danted, &dir.path().join("dante"), &targets).await?;
    lanes.push(Lane {
        id: LaneId::Dante,
        route: Route::Socks5 {
            proxy: dante_listen,
            login: None,
        },
        process_group: Some(dante.pid()),
    });
    progress("starting squid");
    let (squid, squid_listen) = squid::start(
        &programs.squid,
        &dir.path().join("squid"),
        &targets,
        shape.open_files,
    )
    .await?;
    lanes.push(Lane {
        id: LaneId::Squid,
        route: Route::Connect {
            proxy: squid_listen,
            login: None,
        },
        process_group: Some(squid.pid()),
    });
    progress("starting the bare relay");
    let (bare_relay, bare_relay_listen) =
        bare_relay::start(&dir.path().join("bare-relay"), &targets).await?;
    lanes.push(Lane {
        id: LaneId::BareRelay,
        route: Route::Socks5 {
            proxy: bare_relay_listen,
            login: None,
        },
        process_group: Some(bare_relay.pid()),
    });
    for lane in &lanes {
        lanes::probe(&lane.route, servers.echo, READY_WITHIN)
            .await
            .with_context(|| format!("{} carries no traffic", lane.id.label()))?;
    }

    let (kordon_state, kordon_process) = match &programs.kordon {
        None => (KordonState::LeftOut, None),
        Some(binary) => {
            progress("starting kordon and configuring it through the farm API");
            let maxconn = (shape.idle + options.workers + 64).min(100_000);
            let peer = kordon::start(
                binary,
                &dir.path().join("kordon"),
                &targets,
                servers.echo,
                maxconn,
            )
            .await
            .context("kordon (leave it out with --no-kordon)")?;
            match peer {
                KordonPeer::Pending { reason } => {
                    progress(format!("kordon's lanes are pending: {reason}"));
                    (KordonState::Pending(reason), None)
                }
                KordonPeer::Running { process, profiles } => {
                    let group = Some(process.pid());
                    for (id, route) in [
                        (LaneId::KordonSocks, profiles.socks),
                        (LaneId::KordonConnect, profiles.connect),
                        (LaneId::KordonSocksIpOnly, profiles.socks_iponly),
                    ] {
                        lanes.push(Lane {
                            id,
                            route,
                            process_group: group,
                        });
                    }
                    (KordonState::Measured, Some(process))
                }
            }
        }
    };
    let peers = Peers {
        _dante: dante,
        _squid: squid,
        _bare_relay: bare_relay,
        _kordon: kordon_process,
    };

    let plan = workloads::Plan {
        lanes: &lanes,
        servers: &servers,
        options,
        idle: shape.idle,
    };
    let chosen = options.workloads;
    let bulk = if chosen.bulk {
        plan.bulk().await
    } else {
        Vec::new()
    };
    let rate = if chosen.rate {
        plan.rate().await
    } else {
        Default::default()
    };
    let idle = if chosen.idle {
        plan.idle().await
    } else {
        Default::default()
    };
    drop(peers);

    Ok(Results {
        shape,
        kordon: kordon_state,
        bulk,
        rate,
        idle,
    })
}
