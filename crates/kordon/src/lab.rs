//! `kordon lab up|status|down`: a lab of emulated modems for demos and outside checks.
//!
//! `up` runs in the foreground (it serves the emulators) and keeps
//! `/run/kordon-lab/<name>.json` current: its pid and the lab's status. `status` reads those
//! files; `down` stops the `up` process and removes whatever of the lab is left, so it also
//! cleans up after a crash.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use kordon_lab::topology::{self, Lab, LabSpec, LabStatus};
use kordon_model::catalog::{ModemModel, MODEM_MODELS};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::cli::LabAction;

const STATE_DIR: &str = "/run/kordon-lab";

/// The state file of a running lab.
#[derive(Debug, Serialize, Deserialize)]
struct LabFile {
    pid: i32,
    #[serde(flatten)]
    status: LabStatus,
}

pub async fn run(action: LabAction) -> Result<()> {
    match action {
        LabAction::Up {
            modems,
            models,
            name,
            reconnect_delay,
        } => up(modems, &models, &name, reconnect_delay).await,
        LabAction::Status { name, json } => status(name.as_deref(), json),
        LabAction::Down { name } => down(&name).await,
    }
}

fn state_path(name: &str) -> PathBuf {
    PathBuf::from(STATE_DIR).join(format!("{name}.json"))
}

fn need_root() -> Result<()> {
    if !topology::is_root() {
        bail!("kordon lab needs root (it creates network namespaces)");
    }
    Ok(())
}

/// Model codes or ids, repeated to `count` modems; all five in turn when none are given.
fn pick_models(list: &[String], count: usize) -> Result<Vec<ModemModel>> {
    let chosen: Vec<ModemModel> = if list.is_empty() {
        MODEM_MODELS.to_vec()
    } else {
        list.iter()
            .map(|item| {
                let item = item.trim();
                MODEM_MODELS
                    .iter()
                    .find(|m| m.code.eq_ignore_ascii_case(item) || m.id.to_string() == item)
                    .copied()
                    .with_context(|| {
                        let known: Vec<_> = MODEM_MODELS.iter().map(|m| m.code).collect();
                        format!("unknown model {item:?}; known: {}", known.join(", "))
                    })
            })
            .collect::<Result<_>>()?
    };
    Ok(chosen.iter().copied().cycle().take(count).collect())
}

async fn up(modems: usize, models: &[String], name: &str, reconnect_delay: f64) -> Result<()> {
    need_root()?;
    if !(0.0..=600.0).contains(&reconnect_delay) {
        bail!("--reconnect-delay is 0 to 600 seconds");
    }
    if let Some(file) = read_state(name)? {
        if alive(file.pid) {
            bail!(
                "lab {name:?} already runs (pid {}); `kordon lab down --name {name}` first",
                file.pid
            );
        }
    }
    let mut spec = LabSpec::new(name, modems);
    spec.models = pick_models(models, modems)?;
    spec.reconnect_delay = Duration::from_secs_f64(reconnect_delay);
    let lab = Lab::up(spec).await.context("building the lab")?;
    std::fs::create_dir_all(STATE_DIR).with_context(|| format!("creating {STATE_DIR}"))?;
    let mut shown = lab.status();
    write_state(name, &shown)?;
    print_human(&shown);
    println!("serving; Ctrl-C or `kordon lab down --name {name}` stops the lab");

    let stop = stop_signal();
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => {
                let now = lab.status();
                if now != shown {
                    write_state(name, &now)?;
                    shown = now;
                }
            }
        }
    }
    let result = lab.down().await.context("removing the lab");
    let _ = std::fs::remove_file(state_path(name));
    result
}

fn write_state(name: &str, status: &LabStatus) -> Result<()> {
    let file = LabFile {
        pid: std::process::id() as i32,
        status: status.clone(),
    };
    let path = state_path(name);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&file)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn read_state(name: &str) -> Result<Option<LabFile>> {
    let path = state_path(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

fn status(name: Option<&str>, json: bool) -> Result<()> {
    let files: Vec<LabFile> = match name {
        Some(name) => match read_state(name)? {
            Some(file) => vec![file],
            None => bail!("no lab {name:?} runs"),
        },
        None => {
            let mut files = Vec::new();
            if let Ok(dir) = std::fs::read_dir(STATE_DIR) {
                for entry in dir.flatten() {
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "json") {
                        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                            files.extend(read_state(stem)?);
                        }
                    }
                }
            }
            files.sort_by(|a, b| a.status.name.cmp(&b.status.name));
            files
        }
    };
    let (running, stale): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| alive(f.pid));
    for f in &stale {
        eprintln!(
            "lab {:?} is not running any more; `kordon lab down --name {}` cleans up",
            f.status.name, f.status.name
        );
    }
    let labs: Vec<LabStatus> = running.into_iter().map(|f| f.status).collect();
    if json {
        let text = match (name, labs.first()) {
            (Some(_), Some(one)) => serde_json::to_string_pretty(one)?,
            _ => serde_json::to_string_pretty(&labs)?,
        };
        println!("{text}");
    } else {
        labs.iter().for_each(print_human);
    }
    Ok(())
}

fn print_human(lab: &LabStatus) {
    println!(
        "lab {}: echo {}  sink {}  source {}",
        lab.name, lab.echo_url, lab.sink, lab.source
    );
    println!(
        "  {:<12} {:<10} {:<14} {:<14} {:<16} {:<12} connection",
        "interface", "namespace", "model", "lan", "wan", "operator"
    );
    for m in &lab.modems {
        println!(
            "  {:<12} {:<10} {:<14} {:<14} {:<16} {:<12} {}",
            m.host_interface,
            m.namespace,
            m.model_code,
            m.lan_address,
            m.wan_address.as_deref().unwrap_or("-"),
            m.operator,
            m.connection
        );
    }
}

async fn down(name: &str) -> Result<()> {
    need_root()?;
    let file = read_state(name)?;
    if let Some(file) = &file {
        if alive(file.pid) {
            let _ = kill(Pid::from_raw(file.pid), Signal::SIGTERM);
            // The `up` process removes the lab, then its state file; wait for that, boundedly
            // (a process nobody has reaped yet still answers `kill 0`).
            for _ in 0..150 {
                if !alive(file.pid) || !state_path(name).exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let host_ns = file.as_ref().and_then(|f| f.status.host_namespace.clone());
    topology::remove(name, host_ns.as_deref())
        .await
        .context("removing the lab's namespaces")?;
    let _ = std::fs::remove_file(state_path(name));
    println!("lab {name} is down");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
