//! What the namespace-lab tests of kordon share: a farm namespace beside a lab of emulated
//! modems, the real `kordon serve` in it (stoppable and restartable on the same data
//! directory), ports added through the farm API, and API calls made from inside the farm.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kordon_lab::topology::{is_root, netns, Lab, LabSpec};
use kordon_model::catalog::{ModemFamily, ModemModel, MODEM_MODELS};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

pub const KORDON: &str = env!("CARGO_BIN_EXE_kordon");
pub const API: &str = "http://127.0.0.1:8000";
pub const PASSWORD: &str = "labtest12345";
pub const SETTLE: Duration = Duration::from_secs(40);

pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The farm's namespace, removed (with the policy rules kordon put in it) even when the test
/// fails.
pub struct FarmNs(pub String);

impl FarmNs {
    pub fn new(name: String) -> FarmNs {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        FarmNs(name)
    }
}

impl Drop for FarmNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// `kordon serve` inside the farm namespace; killed when the test ends.
pub struct Kordon(Child);

impl Kordon {
    /// Starts `kordon serve` in namespace `ns` on the data directory `data`.
    pub fn spawn(ns: &str, data: &std::path::Path) -> Kordon {
        // `ip netns exec` execs kordon itself, so the child's pid is kordon's.
        let child = Command::new("ip")
            .args(["netns", "exec", ns, KORDON, "serve"])
            .env("KORDON_DATA_DIR", data)
            .env("KORDON_LISTEN", "127.0.0.1:8000")
            .env("KORDON_ADMIN_PASSWORD", PASSWORD)
            .env("KORDON_ECHO_URLS", Lab::echo_url())
            .env("KORDON_LOG", "kordon_modem=debug,info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kordon serve");
        Kordon(child)
    }

    /// SIGTERM, then waits (bounded) for kordon to exit by itself.
    pub async fn terminate(mut self) {
        let pid = Pid::from_raw(self.0.id() as i32);
        kill(pid, Signal::SIGTERM).expect("SIGTERM to kordon");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.0.try_wait().expect("wait for kordon") {
                assert!(status.success(), "kordon exited with {status} on SIGTERM");
                return;
            }
            assert!(Instant::now() < deadline, "kordon did not stop on SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Kordon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One API call made from inside the farm namespace (where kordon listens).
pub async fn call(
    ns: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let (ns, method, url, key) = (
        ns.to_owned(),
        method.to_owned(),
        format!("{API}{path}"),
        key.map(str::to_owned),
    );
    tokio::task::spawn_blocking(move || {
        netns::run_in(&ns, move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            Ok(runtime.block_on(async move {
                let client = reqwest::Client::new();
                let mut request = match method.as_str() {
                    "GET" => client.get(&url),
                    _ => client.post(&url),
                };
                if let Some(key) = key {
                    request = request.header("Authorization", format!("Token {key}"));
                }
                if let Some(body) = body {
                    request = request.json(&body);
                }
                match request.timeout(Duration::from_secs(10)).send().await {
                    Ok(reply) => {
                        let status = reply.status().as_u16();
                        let value = reply.json::<Value>().await.unwrap_or(Value::Null);
                        (status, value)
                    }
                    Err(_) => (0, Value::Null),
                }
            }))
        })
        .expect("call from the farm namespace")
    })
    .await
    .expect("call thread")
}

pub async fn list(ns: &str, key: &str) -> Vec<Value> {
    let (status, reply) = call(ns, "GET", "/api/devices/modem/list", Some(key), None).await;
    assert_eq!(status, 200, "{reply}");
    reply.as_array().cloned().unwrap_or_default()
}

/// Polls `modem/list` until port `id` satisfies `done`.
pub async fn wait_port(
    ns: &str,
    key: &str,
    id: i64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + SETTLE;
    loop {
        let ports = list(ns, key).await;
        let port = ports
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or(Value::Null);
        if done(&port) {
            return port;
        }
        assert!(
            Instant::now() < deadline,
            "port {id} never reached: {what}: {port}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Logs in as the admin once kordon answers; returns the API key.
pub async fn login(ns: &str) -> String {
    let deadline = Instant::now() + SETTLE;
    loop {
        let login = json!({"username": "admin", "password": PASSWORD});
        let (status, reply) = call(ns, "POST", "/api/auth/login/", None, Some(login)).await;
        if status == 200 {
            return reply["key"].as_str().expect("key").to_owned();
        }
        assert!(Instant::now() < deadline, "kordon never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A farm namespace with a lab of `models` and `kordon serve` beside it, every modem added as
/// a port through the API.
pub struct Farm {
    pub lab: Lab,
    pub key: String,
    /// Port id and rotation link, in modem order.
    pub ports: Vec<(i64, String)>,
    /// None while stopped.
    kordon: Option<Kordon>,
    pub data: tempfile::TempDir,
    // Declared last: removed after kordon and the lab are gone.
    farm: FarmNs,
}

impl Farm {
    pub fn ns(&self) -> &str {
        &self.farm.0
    }

    /// Link-rotated ports with `reconnect_min` 30 s.
    pub async fn start(name: String, models: Vec<ModemModel>) -> Farm {
        Farm::start_with(name, models, json!({})).await
    }

    /// Ports whose `modem/add` body is the default one with the fields of `port` replacing
    /// its own.
    pub async fn start_with(name: String, models: Vec<ModemModel>, port: Value) -> Farm {
        let farm = FarmNs::new(format!("{name}-farm"));
        let mut spec = LabSpec::new(&name, models.len());
        spec.models = models;
        spec.host_netns = Some(farm.0.clone());
        spec.reconnect_delay = Duration::from_millis(800);
        let lab = Lab::up(spec).await.expect("lab up");

        let data = tempfile::tempdir().expect("data dir");
        let kordon = Kordon::spawn(&farm.0, data.path());
        let ns = farm.0.as_str();
        let key = login(ns).await;

        let mut ports = Vec::new();
        for modem in lab.modems() {
            let state = modem.emulator.state();
            let mut body = json!({
                "name": format!("lab-{}", modem.index),
                "ifname": modem.host_if,
                "type": state.model.id,
                "active": true,
                "is_osfp": false,
                "monitoring_interval": 3,
                "mtu": 0,
                "net_mode": "lte",
                "reconnect_type": "link",
                "reconnect_min": 30,
                "users": []
            });
            if let (Some(body), Some(port)) = (body.as_object_mut(), port.as_object()) {
                body.extend(port.clone());
            }
            let (status, reply) =
                call(ns, "POST", "/api/devices/modem/add", Some(&key), Some(body)).await;
            assert_eq!(status, 200, "{reply}");
            let id = reply["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("no port: {reply}"));
            let link = reply["reconnect_link"].as_str().expect("link").to_owned();
            ports.push((id, link));
        }
        Farm {
            lab,
            key,
            ports,
            kordon: Some(kordon),
            data,
            farm,
        }
    }

    /// Stops `kordon serve` with SIGTERM and waits for it to exit.
    pub async fn stop(&mut self) {
        if let Some(kordon) = self.kordon.take() {
            kordon.terminate().await;
        }
    }

    /// Starts `kordon serve` again on the same data directory and logs in anew.
    pub async fn resume(&mut self) {
        assert!(self.kordon.is_none(), "kordon is still running");
        self.kordon = Some(Kordon::spawn(&self.farm.0, self.data.path()));
        self.key = login(&self.farm.0).await;
    }

    /// Waits until monitoring shows every port online with its modem's public address.
    pub async fn wait_monitored(&self) {
        for (modem, (id, _)) in self.lab.modems().iter().zip(&self.ports) {
            let wan = modem.emulator.state().wan_addr.to_string();
            wait_port(self.ns(), &self.key, *id, "monitored", |p| {
                p["conn_inet"] == true && p["external_ip"] == wan.as_str()
            })
            .await;
        }
    }
}

/// The HiLink models of the seed catalog.
pub fn hilink_models() -> Vec<ModemModel> {
    MODEM_MODELS
        .iter()
        .filter(|m| m.family == ModemFamily::HuaweiHilink)
        .copied()
        .collect()
}

/// A goform model of the seed catalog.
pub fn goform_model() -> ModemModel {
    MODEM_MODELS
        .iter()
        .find(|m| m.family == ModemFamily::ZteGoform)
        .copied()
        .expect("a goform model")
}

pub fn root_or_skip() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the modem plane lab test needs root in CI"
    );
    eprintln!("skipped: needs root");
    false
}
