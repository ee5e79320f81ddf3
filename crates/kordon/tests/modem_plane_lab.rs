//! kordon against the namespace lab (needs root): the real binary runs in the farm's
//! namespace beside the modems' USB interfaces (every HiLink modem on 192.168.8.1, every
//! goform one on 192.168.0.1); ports are added through the farm API on those interfaces;
//! monitoring fills their fields; rotation by API and by link changes the address the lab's
//! echo service sees through the port; `reconnect_min` refuses a rotation too soon.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kordon_lab::topology::{is_root, netns, Lab, LabSpec};
use kordon_model::catalog::{ModemFamily, MODEM_MODELS};
use serde_json::{json, Value};

const KORDON: &str = env!("CARGO_BIN_EXE_kordon");
const API: &str = "http://127.0.0.1:8000";
const PASSWORD: &str = "labtest12345";
const SETTLE: Duration = Duration::from_secs(40);

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The farm's namespace, removed (with the policy rules kordon put in it) even when the test
/// fails.
struct FarmNs(String);

impl FarmNs {
    fn new(name: String) -> FarmNs {
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
struct Kordon(Child);

impl Drop for Kordon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One API call made from inside the farm namespace (where kordon listens).
async fn call(
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

async fn list(ns: &str, key: &str) -> Vec<Value> {
    let (status, reply) = call(ns, "GET", "/api/devices/modem/list", Some(key), None).await;
    assert_eq!(status, 200, "{reply}");
    reply.as_array().cloned().unwrap_or_default()
}

/// Polls `modem/list` until port `id` satisfies `done`.
async fn wait_port(
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

/// A farm namespace with a lab of `models` and `kordon serve` beside it, every modem added as
/// a port through the API (`reconnect_min` 30 s).
struct Farm {
    lab: Lab,
    key: String,
    /// Port id and rotation link, in modem order.
    ports: Vec<(i64, String)>,
    _kordon: Kordon,
    _data: tempfile::TempDir,
    // Declared last: removed after kordon and the lab are gone.
    farm: FarmNs,
}

impl Farm {
    fn ns(&self) -> &str {
        &self.farm.0
    }

    async fn start(name: String, models: Vec<kordon_model::catalog::ModemModel>) -> Farm {
        let farm = FarmNs::new(format!("{name}-farm"));
        let mut spec = LabSpec::new(&name, models.len());
        spec.models = models;
        spec.host_netns = Some(farm.0.clone());
        spec.reconnect_delay = Duration::from_millis(800);
        let lab = Lab::up(spec).await.expect("lab up");

        let data = tempfile::tempdir().expect("data dir");
        let child = Command::new("ip")
            .args(["netns", "exec", &farm.0, KORDON, "serve"])
            .env("KORDON_DATA_DIR", data.path())
            .env("KORDON_LISTEN", "127.0.0.1:8000")
            .env("KORDON_ADMIN_PASSWORD", PASSWORD)
            .env("KORDON_ECHO_URLS", Lab::echo_url())
            .env("KORDON_LOG", "kordon_modem=debug,info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kordon serve");
        let kordon = Kordon(child);

        let ns = farm.0.as_str();
        let deadline = Instant::now() + SETTLE;
        let key = loop {
            let login = json!({"username": "admin", "password": PASSWORD});
            let (status, reply) = call(ns, "POST", "/api/auth/login/", None, Some(login)).await;
            if status == 200 {
                break reply["key"].as_str().expect("key").to_owned();
            }
            assert!(Instant::now() < deadline, "kordon never answered");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };

        let mut ports = Vec::new();
        for modem in lab.modems() {
            let state = modem.emulator.state();
            let body = json!({
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
            _kordon: kordon,
            _data: data,
            farm,
        }
    }

    /// Waits until monitoring shows every port online with its modem's public address.
    async fn wait_monitored(&self) {
        for (modem, (id, _)) in self.lab.modems().iter().zip(&self.ports) {
            let wan = modem.emulator.state().wan_addr.to_string();
            wait_port(self.ns(), &self.key, *id, "monitored", |p| {
                p["conn_inet"] == true && p["external_ip"] == wan.as_str()
            })
            .await;
        }
    }
}

fn root_or_skip() -> bool {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_on_lab_modems_are_monitored_and_rotated_through_the_api() {
    if !root_or_skip() {
        return;
    }
    // Two HiLink modems (both 192.168.8.1) and a goform one.
    let hilink: Vec<_> = MODEM_MODELS
        .iter()
        .filter(|m| m.family == ModemFamily::HuaweiHilink)
        .copied()
        .collect();
    let goform = MODEM_MODELS
        .iter()
        .find(|m| m.family == ModemFamily::ZteGoform)
        .copied()
        .expect("a goform model");
    let setup = Farm::start(
        format!("tk{}", std::process::id() % 100_000),
        vec![hilink[0], hilink[1], goform],
    )
    .await;
    let (lab, ports, ns, key) = (&setup.lab, &setup.ports, setup.ns(), setup.key.as_str());

    // Monitoring: every field, and the public address the echo sees through each port.
    for (modem, (id, _)) in lab.modems().iter().zip(ports) {
        let wan = modem.emulator.state().wan_addr.to_string();
        let port = wait_port(ns, key, *id, "monitored", |p| {
            p["conn_inet"] == true && p["external_ip"] == wan.as_str()
        })
        .await;
        assert_eq!(port["conn_dev"], true, "{port}");
        assert_eq!(port["conn_net"], true, "{port}");
        assert!(
            port["signal"]
                .as_i64()
                .is_some_and(|s| (0..=5).contains(&s)),
            "{port}"
        );
        assert!(
            port["rsrp"].as_str().is_some_and(|v| v.ends_with("dBm")),
            "{port}"
        );
        assert!(
            port["operator"].is_string() && port["network_type"].is_string(),
            "{port}"
        );
        assert!(
            port["ip"].is_string() && port["gateway"].is_string(),
            "{port}"
        );
    }

    // Rotation by API, two ports at once (both HiLink, both 192.168.8.1).
    let before: Vec<String> = lab.modems()[..2]
        .iter()
        .map(|m| m.emulator.state().wan_addr.to_string())
        .collect();
    let ids = json!({"id": [ports[0].0, ports[1].0]});
    let (status, reply) = call(
        ns,
        "POST",
        "/api/devices/modem/reconnect",
        Some(key),
        Some(ids),
    )
    .await;
    assert_eq!(
        (status, reply.clone()),
        (200, json!({"result": "ok"})),
        "{reply}"
    );
    for (index, old) in before.iter().enumerate() {
        let port = wait_port(ns, key, ports[index].0, "rotated", |p| {
            p["reconnect"] == false
                && p["reconnect_end"].is_string()
                && p["external_ip"] != old.as_str()
        })
        .await;
        let now = lab.modems()[index].emulator.state().wan_addr.to_string();
        assert_eq!(
            port["external_ip"],
            now.as_str(),
            "the echo saw the modem's new address"
        );
    }

    // reconnect_min: too soon for port 0, named with its reason.
    let ids = json!({"id": [ports[0].0]});
    let (status, reply) = call(
        ns,
        "POST",
        "/api/devices/modem/reconnect",
        Some(key),
        Some(ids),
    )
    .await;
    assert_eq!(status, 200);
    let message = reply["errors"]["id"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&format!("Port {}", ports[0].0)) && message.contains("reconnect_min"),
        "{reply}"
    );

    // Rotation by the port's link (goform modem).
    let old = lab.modems()[2].emulator.state().wan_addr.to_string();
    let (status, reply) = call(ns, "GET", &ports[2].1, None, None).await;
    assert_eq!(
        (status, reply.clone()),
        (200, json!({"result": "ok"})),
        "{reply}"
    );
    wait_port(ns, key, ports[2].0, "rotated by link", |p| {
        p["reconnect"] == false && p["external_ip"].is_string() && p["external_ip"] != old.as_str()
    })
    .await;

    // The history holds each rotation's address.
    let (status, reply) = call(
        ns,
        "POST",
        "/api/devices/ip/modem",
        Some(key),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["meta"]["total"], 3, "{reply}");

    // modem/active false takes the interface down and stops monitoring; true restores both.
    let port = ports[1].0;
    let ifname = lab.modems()[1].host_if.clone();
    let body = json!({"id": [port], "active": false});
    let (status, reply) = call(
        ns,
        "POST",
        "/api/devices/modem/active",
        Some(key),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let link_is_up = |ns: &str, ifname: &str| {
        let out = Command::new("ip")
            .args(["-n", ns, "-o", "link", "show", "dev", ifname])
            .output()
            .expect("ip link");
        String::from_utf8_lossy(&out.stdout).contains(",UP")
    };
    let deadline = Instant::now() + SETTLE;
    while link_is_up(ns, &ifname) {
        assert!(
            Instant::now() < deadline,
            "the inactive port's interface stayed up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = json!({"id": [port], "active": true});
    let (status, reply) = call(
        ns,
        "POST",
        "/api/devices/modem/active",
        Some(key),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    wait_port(ns, key, port, "active again", |p| {
        p["conn_dev"] == true && p["conn_inet"] == true
    })
    .await;
    assert!(link_is_up(ns, &ifname));

    // An unplugged modem shows conn_dev false; replugged, the port recovers by itself (new
    // interface, routes installed again).
    let modem = &lab.modems()[0];
    modem.emulator.unplug().await.expect("unplug");
    wait_port(ns, key, ports[0].0, "unplugged", |p| p["conn_dev"] == false).await;
    modem.emulator.replug().await.expect("replug");
    let wan = modem.emulator.state().wan_addr.to_string();
    wait_port(ns, key, ports[0].0, "replugged", |p| {
        p["conn_dev"] == true && p["conn_inet"] == true && p["external_ip"] == wan.as_str()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_ports_on_one_subnet_rotate_in_parallel_each_through_its_own_modem() {
    if !root_or_skip() {
        return;
    }
    // Eight HiLink modems: eight interfaces to 192.168.8.1.
    let hilink: Vec<_> = MODEM_MODELS
        .iter()
        .filter(|m| m.family == ModemFamily::HuaweiHilink)
        .copied()
        .collect();
    let models = (0..8).map(|i| hilink[i % hilink.len()]).collect();
    let setup = Farm::start(format!("tp{}", std::process::id() % 100_000), models).await;
    let (lab, ports, ns, key) = (&setup.lab, &setup.ports, setup.ns(), setup.key.as_str());
    setup.wait_monitored().await;

    let before: Vec<String> = lab
        .modems()
        .iter()
        .map(|m| m.emulator.state().wan_addr.to_string())
        .collect();
    let ids: Vec<i64> = ports.iter().map(|(id, _)| *id).collect();
    let started = Instant::now();
    let (status, reply) = call(
        ns,
        "POST",
        "/api/devices/modem/reconnect",
        Some(key),
        Some(json!({ "id": ids })),
    )
    .await;
    assert_eq!(
        (status, reply.clone()),
        (200, json!({"result": "ok"})),
        "{reply}"
    );
    for (index, old) in before.iter().enumerate() {
        let port = wait_port(ns, key, ports[index].0, "rotated", |p| {
            p["reconnect"] == false && p["external_ip"] != old.as_str()
        })
        .await;
        let now = lab.modems()[index].emulator.state().wan_addr.to_string();
        assert_eq!(
            port["external_ip"],
            now.as_str(),
            "port {index} saw its own modem's address"
        );
    }
    let took = started.elapsed();
    // One rotation is the emulator's 0.8 s plus polling; eight in parallel stay close to it
    // (the list polling of this test adds its own share).
    assert!(
        took < Duration::from_secs(8),
        "eight rotations took {took:?}"
    );
}
