//! The reason drivers take an interface: every HiLink modem answers on 192.168.8.1. Two
//! emulated modems in their own namespaces, each behind a veth whose farm end is
//! 192.168.8.100/24, must each be reached through its own interface, not by whichever
//! route the kernel lists first. Needs root (namespaces, `SO_BINDTODEVICE`).

use std::fs::File;
use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kordon_lab::emulator::{spawn, EmulatedModem, LoopbackControl, ModemConfig};
use kordon_lab::operators::{WanPools, OPERATORS};
use kordon_model::catalog::MODEM_MODELS;
use kordon_modem::driver::{driver_for_model_code, ModemDriver};
use kordon_modem::HttpConfig;
use nix::sched::{setns, CloneFlags};
use reqwest::Url;

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(str::to_owned))
        })
        .as_deref()
        == Some("0")
}

fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Namespaces this test made; deleting them removes their veths too, even when the test
/// panics half-way.
struct Namespaces(Vec<String>);

impl Namespaces {
    fn add(&mut self, name: String) -> String {
        // A namespace left by a crashed earlier run with the same pid is replaced.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        self.0.push(name.clone());
        name
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

/// Runs `work` on a thread that has entered namespace `name`; sockets it creates stay there.
fn in_namespace<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let handle = File::open(&path).expect("open the namespace");
        setns(handle, CloneFlags::CLONE_NEWNET).expect("enter the namespace");
        work()
    })
    .join()
    .expect("namespace thread")
}

#[test]
fn modems_with_the_same_address_are_told_apart_by_interface() {
    if !running_as_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs root, and CI=true"
        );
        eprintln!("skipped: needs root");
        return;
    }
    let tag = std::process::id() % 100_000;
    let mut namespaces = Namespaces(Vec::new());
    let farm = namespaces.add(format!("kmfarm{tag}"));
    let mut modems = Vec::new();
    for index in 0..2 {
        let modem_ns = namespaces.add(format!("kmmodem{tag}x{index}"));
        let host_end = format!("kmh{tag}x{index}");
        let modem_end = format!("kmm{tag}x{index}");
        ip(&[
            "-n", &farm, "link", "add", &host_end, "type", "veth", "peer", "name", &modem_end,
            "netns", &modem_ns,
        ]);
        ip(&[
            "-n",
            &farm,
            "addr",
            "add",
            "192.168.8.100/24",
            "dev",
            &host_end,
        ]);
        ip(&["-n", &farm, "link", "set", &host_end, "up"]);
        ip(&[
            "-n",
            &modem_ns,
            "addr",
            "add",
            "192.168.8.1/24",
            "dev",
            &modem_end,
        ]);
        ip(&["-n", &modem_ns, "link", "set", &modem_end, "up"]);
        ip(&["-n", &modem_ns, "link", "set", "lo", "up"]);
        let listener = in_namespace(&modem_ns, || {
            std::net::TcpListener::bind("192.168.8.1:80").expect("bind the modem's web port")
        });
        modems.push((host_end, listener));
    }

    in_namespace(&farm, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let pools = WanPools::new();
            let mut servers = Vec::new();
            let mut checks = Vec::new();
            for (index, (host_end, listener)) in modems.into_iter().enumerate() {
                listener.set_nonblocking(true).expect("nonblocking");
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let config = ModemConfig::new(MODEM_MODELS[0], OPERATORS[index]);
                let modem =
                    EmulatedModem::new(config, pools.clone(), Arc::new(LoopbackControl)).unwrap();
                servers.push(spawn(listener, modem.clone()).expect("emulator"));
                let http = HttpConfig {
                    connect_timeout: Duration::from_secs(2),
                    request_timeout: Duration::from_secs(3),
                    ..HttpConfig::through_interface(&host_end)
                };
                let driver = driver_for_model_code(
                    MODEM_MODELS[0].code,
                    Url::parse("http://192.168.8.1/").unwrap(),
                    http.build().expect("client"),
                )
                .unwrap();
                checks.push((modem, driver));
            }
            for _ in 0..3 {
                for (modem, driver) in &checks {
                    let status = driver.status().await.expect("status through the interface");
                    let state = modem.state();
                    assert_eq!(status.operator.as_deref(), Some(state.operator.full_name));
                    assert_eq!(status.wan_ip, state.wan_ip().map(IpAddr::V4));
                }
            }
            // A write through the second interface changes only the second modem.
            let first_before = checks[0].0.state().wan_ip();
            let second_before = checks[1].0.state().wan_ip();
            checks[1].1.reconnect().await.expect("reconnect the second");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while checks[1].0.state().wan_ip() == second_before
                || checks[1].0.state().wan_ip().is_none()
            {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "second never rotated"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(checks[0].0.state().wan_ip(), first_before);
            assert_eq!(checks[0].0.state().cycles, 0);
            for server in servers {
                server.shutdown().await;
            }
        });
    });
    drop(namespaces);
}
