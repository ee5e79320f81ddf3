//! kordon against the namespace lab (needs root): the real binary runs in the farm's
//! namespace beside the modems' USB interfaces (every HiLink modem on 192.168.8.1, every
//! goform one on 192.168.0.1); ports are added through the farm API on those interfaces;
//! monitoring fills their fields; rotation by API and by link changes the address the lab's
//! echo service sees through the port; `reconnect_min` refuses a rotation too soon.

mod lab_support;

use std::process::Command;
use std::time::{Duration, Instant};

use lab_support::{call, goform_model, hilink_models, root_or_skip, wait_port, Farm, SETTLE};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_on_lab_modems_are_monitored_and_rotated_through_the_api() {
    if !root_or_skip() {
        return;
    }
    // Two HiLink modems (both 192.168.8.1) and a goform one.
    let hilink = hilink_models();
    let goform = goform_model();
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
    wait_link(
        ns,
        &ifname,
        false,
        "the inactive port's interface stayed up",
    )
    .await;
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
    // The interface comes back with the port's next monitoring round; the stored state may
    // still read online from before, so the link itself is what is waited for.
    wait_link(
        ns,
        &ifname,
        true,
        "the reactivated port's interface stayed down",
    )
    .await;
    wait_port(ns, key, port, "active again", |p| {
        p["conn_dev"] == true && p["conn_inet"] == true
    })
    .await;

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
    let hilink = hilink_models();
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

/// Waits (bounded) until `ifname` in namespace `ns` is administratively up or down.
async fn wait_link(ns: &str, ifname: &str, up: bool, failure: &str) {
    let is_up = || {
        let out = Command::new("ip")
            .args(["-n", ns, "-o", "link", "show", "dev", ifname])
            .output()
            .expect("ip link");
        String::from_utf8_lossy(&out.stdout).contains(",UP")
    };
    let deadline = Instant::now() + SETTLE;
    while is_up() != up {
        assert!(Instant::now() < deadline, "{failure}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
