//! The namespace lab (root only): the real `kordon serve` in a farm namespace beside eight
//! emulated USB modems (the five models in turn, every HiLink one on 192.168.8.1, every goform
//! one on 192.168.0.1), ports added through the farm API, rotations requested through it. A
//! rotation is done when `modem/list` shows the port idle with the public address the lab's
//! echo service now sees through that port, which is the modem's new WAN address.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use kordon_lab::topology::{netns, Lab, LabSpec};
use serde_json::{json, Value};

const API: &str = "http://127.0.0.1:8000";
const PASSWORD: &str = "bench12345";
const SETTLE: Duration = Duration::from_secs(60);

/// Rotation times measured in the lab.
pub struct LabTimes {
    pub singles: Vec<Duration>,
    pub parallel: Vec<Duration>,
    pub modems: usize,
}

/// The farm namespace, deleted (with kordon's policy rules in it) however the run ends.
struct FarmNamespace(String);

impl FarmNamespace {
    fn create(name: String) -> Result<FarmNamespace> {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        for args in [
            vec!["netns", "add", name.as_str()],
            vec!["-n", name.as_str(), "link", "set", "lo", "up"],
        ] {
            let out = Command::new("ip").args(&args).output()?;
            if !out.status.success() {
                bail!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        Ok(FarmNamespace(name))
    }
}

impl Drop for FarmNamespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// `kordon serve` in the farm namespace, killed when dropped.
struct Kordon(Child);

impl Drop for Kordon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds the lab, measures, and removes everything again.
pub fn measure(kordon: &Path, rotations: usize, reconnect_delay: Duration) -> Result<LabTimes> {
    let tag = std::process::id() % 100_000;
    let name = format!("mb{tag}");
    let farm = FarmNamespace::create(format!("{name}-farm"))?;
    let kordon = kordon.to_path_buf();
    let farm_name = farm.0.clone();
    // Everything runs on a thread inside the farm namespace, where kordon listens.
    let times = netns::run_in(&farm.0, move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(runtime.block_on(run(name, farm_name, kordon, rotations, reconnect_delay)))
    })??;
    drop(farm);
    Ok(times)
}

async fn run(
    name: String,
    farm: String,
    kordon: std::path::PathBuf,
    rotations: usize,
    reconnect_delay: Duration,
) -> Result<LabTimes> {
    let mut spec = LabSpec::new(&name, 8);
    spec.host_netns = Some(farm.clone());
    spec.reconnect_delay = reconnect_delay;
    let lab = Lab::up(spec).await?;
    let outcome = against_lab(&lab, &farm, &kordon, rotations).await;
    lab.down().await?;
    outcome
}

async fn against_lab(lab: &Lab, farm: &str, kordon: &Path, rotations: usize) -> Result<LabTimes> {
    let data = tempfile::tempdir()?;
    let child = Command::new("ip")
        .args(["netns", "exec", farm])
        .arg(kordon)
        .arg("serve")
        .env("KORDON_DATA_DIR", data.path())
        .env("KORDON_LISTEN", "127.0.0.1:8000")
        .env("KORDON_ADMIN_PASSWORD", PASSWORD)
        .env("KORDON_ECHO_URLS", Lab::echo_url())
        .env("KORDON_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", kordon.display()))?;
    let _kordon = Kordon(child);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let api = Api {
        key: login(&client).await?,
        client,
    };

    let mut ports = Vec::new();
    for modem in lab.modems() {
        let body = json!({
            "name": format!("lab-{}", modem.index),
            "ifname": modem.host_if,
            "type": modem.emulator.state().model.id,
            "active": true,
            "is_osfp": false,
            "monitoring_interval": 3,
            "mtu": 0,
            "net_mode": "lte",
            "reconnect_type": "link",
            "reconnect_min": 0,
            "users": []
        });
        let reply = api.post("/api/devices/modem/add", body).await?;
        ports.push(
            reply["id"]
                .as_i64()
                .with_context(|| format!("no port: {reply}"))?,
        );
    }
    let wans = || -> Vec<String> {
        lab.modems()
            .iter()
            .map(|m| m.emulator.state().wan_addr.to_string())
            .collect()
    };
    let all: Vec<usize> = (0..ports.len()).collect();
    api.wait_seen(&ports, &all, &wans(), SETTLE).await?;

    let mut singles = Vec::with_capacity(rotations);
    for round in 0..rotations {
        let index = round % ports.len();
        singles.push(api.rotate(lab, &ports, &[index]).await?);
    }
    let mut parallel = Vec::new();
    for _ in 0..3 {
        parallel.push(api.rotate(lab, &ports, &all).await?);
    }
    Ok(LabTimes {
        singles,
        parallel,
        modems: ports.len(),
    })
}

struct Api {
    client: reqwest::Client,
    key: String,
}

async fn login(client: &reqwest::Client) -> Result<String> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let reply = client
            .post(format!("{API}/api/auth/login/"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .await;
        if let Ok(reply) = reply {
            if reply.status().is_success() {
                let body: Value = reply.json().await?;
                return body["key"]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("login: {body}"));
            }
        }
        if Instant::now() > deadline {
            bail!("kordon never answered in the farm namespace");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let reply = self
            .client
            .post(format!("{API}{path}"))
            .header("Authorization", format!("Token {}", self.key))
            .json(&body)
            .send()
            .await?;
        let status = reply.status();
        let value: Value = reply.json().await?;
        if !status.is_success() {
            bail!("{path}: HTTP {status}: {value}");
        }
        Ok(value)
    }

    async fn list(&self) -> Result<Vec<Value>> {
        let reply: Value = self
            .client
            .get(format!("{API}/api/devices/modem/list"))
            .header("Authorization", format!("Token {}", self.key))
            .send()
            .await?
            .json()
            .await?;
        reply
            .as_array()
            .cloned()
            .with_context(|| format!("modem/list: {reply}"))
    }

    /// Waits until each of `indexes` is idle with external address `wans[index]`; returns the
    /// time each took.
    async fn wait_seen(
        &self,
        ports: &[i64],
        indexes: &[usize],
        wans: &[String],
        within: Duration,
    ) -> Result<Vec<Duration>> {
        let started = Instant::now();
        let mut took: Vec<Option<Duration>> = vec![None; indexes.len()];
        while took.iter().any(Option::is_none) {
            let list = self.list().await?;
            for (slot, &index) in took.iter_mut().zip(indexes) {
                let seen = list.iter().any(|p| {
                    p["id"] == ports[index]
                        && p["reconnect"] == false
                        && p["external_ip"] == wans[index].as_str()
                });
                if slot.is_none() && seen {
                    *slot = Some(started.elapsed());
                }
            }
            if started.elapsed() > within {
                bail!("ports {indexes:?} never showed {wans:?}: {list:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(took.into_iter().flatten().collect())
    }

    /// Rotates the ports at `indexes` with one request; the time until the last of them shows
    /// its modem's new address.
    async fn rotate(&self, lab: &Lab, ports: &[i64], indexes: &[usize]) -> Result<Duration> {
        let before: Vec<_> = indexes
            .iter()
            .map(|&i| lab.modems()[i].emulator.state().cycles)
            .collect();
        let ids: Vec<i64> = indexes.iter().map(|&i| ports[i]).collect();
        let started = Instant::now();
        let reply = self
            .post("/api/devices/modem/reconnect", json!({ "id": ids }))
            .await?;
        if reply != json!({"result": "ok"}) {
            bail!("rotation refused: {reply}");
        }
        // The modem's new address is known once its redial has begun and ended.
        let mut wans = vec![String::new(); ports.len()];
        for (&index, cycles) in indexes.iter().zip(before) {
            let modem = &lab.modems()[index].emulator;
            loop {
                let state = modem.state();
                if state.cycles > cycles && state.wan_ip().is_some() {
                    wans[index] = state.wan_addr.to_string();
                    break;
                }
                if started.elapsed() > SETTLE {
                    bail!("modem {index} never redialled");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let remaining = SETTLE.saturating_sub(started.elapsed());
        self.wait_seen(ports, indexes, &wans, remaining).await?;
        Ok(started.elapsed())
    }
}
