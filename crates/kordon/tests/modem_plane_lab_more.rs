//! kordon against the namespace lab (needs root), continued: rotation by timer changes the
//! address the echo service sees through the port; a restart of `kordon serve` on the same
//! data directory keeps every schedule and spreads the rotations that fell due while it was
//! down; a modem whose web API hangs, or whose tokens expire, is handled while kordon keeps
//! serving the other ports.

mod lab_support;

use kordon_lab::emulator::Faults;
use kordon_store::ports::PortState;
use kordon_store::{Scope, Store};
use lab_support::{call, goform_model, hilink_models, list, root_or_skip, wait_port, Farm};
use serde_json::json;

fn name(prefix: &str) -> String {
    format!("{prefix}{}", std::process::id() % 100_000)
}

/// The live state of a stored port, as the services write it.
fn state_of(port: &kordon_store::ports::Port) -> PortState {
    PortState {
        ip: port.ip.clone(),
        gateway: port.gateway.clone(),
        conn_dev: port.conn_dev,
        conn_net: port.conn_net,
        conn_inet: port.conn_inet,
        reconnecting: port.reconnecting,
        reconnect_start: port.reconnect_start,
        reconnect_end: port.reconnect_end,
        signal: port.signal,
        rsrq: port.rsrq.clone(),
        rsrp: port.rsrp.clone(),
        rssi: port.rssi.clone(),
        sinr: port.sinr.clone(),
        operator_id: port.operator_id,
        network_type_id: port.network_type_id,
        external_ip: port.external_ip.clone(),
        next_reconnect_at: port.next_reconnect_at,
    }
}

/// The stored ports `ids`, read while kordon is stopped.
async fn stored_ports(data: &std::path::Path, ids: &[i64]) -> Vec<kordon_store::ports::Port> {
    let store = Store::open_dir(data).await.expect("open the store");
    let mut ports = Vec::new();
    for id in ids {
        ports.push(store.port(Scope::All, *id).await.expect("stored port"));
    }
    store.close().await;
    ports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_port_rotates_by_itself_and_the_echo_sees_each_new_address() {
    if !root_or_skip() {
        return;
    }
    let port = json!({"reconnect_type": "time", "reconnect_interval": 6, "reconnect_min": 0});
    let setup = Farm::start_with(name("tt"), vec![hilink_models()[0]], port).await;
    let (modem, ns, key) = (&setup.lab.modems()[0], setup.ns(), setup.key.as_str());
    let id = setup.ports[0].0;

    // Two timed rotations in a row, each seen by the echo through the port.
    let mut old = modem.emulator.state().wan_addr.to_string();
    for round in 0..2 {
        let port = wait_port(ns, key, id, "rotated by timer", |p| {
            let now = modem.emulator.state().wan_addr.to_string();
            p["reconnect"] == false
                && p["reconnect_end"].is_string()
                && p["conn_inet"] == true
                && p["external_ip"] != old.as_str()
                && p["external_ip"] == now.as_str()
        })
        .await;
        assert!(
            port["reconect_time"]
                .as_i64()
                .is_some_and(|left| (0..=6).contains(&left)),
            "round {round}: the next rotation is one interval away: {port}"
        );
        old = port["external_ip"]
            .as_str()
            .expect("external ip")
            .to_owned();
    }

    let (status, reply) = call(
        ns,
        "POST",
        "/api/devices/ip/modem",
        Some(key),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply["meta"]["total"].as_i64().is_some_and(|n| n >= 2),
        "{reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_schedules_and_spreads_the_rotations_that_fell_due_meanwhile() {
    if !root_or_skip() {
        return;
    }
    let hilink = hilink_models();
    let models = vec![hilink[0], hilink[1], goform_model(), hilink[0]];
    let port = json!({"reconnect_type": "time", "reconnect_interval": 3600, "reconnect_min": 0});
    let mut setup = Farm::start_with(name("tr"), models, port).await;
    setup.wait_monitored().await;
    let ids: Vec<i64> = setup.ports.iter().map(|(id, _)| *id).collect();
    for id in &ids {
        wait_port(setup.ns(), &setup.key, *id, "scheduled", |p| {
            p["reconect_time"].as_i64().is_some_and(|left| left > 3500)
        })
        .await;
    }

    // Stopped: port 0 keeps its far schedule, the others fall overdue.
    setup.stop().await;
    let before = stored_ports(setup.data.path(), &ids).await;
    let kept_due = before[0].next_reconnect_at.expect("port 0 scheduled");
    let store = Store::open_dir(setup.data.path())
        .await
        .expect("open the store");
    for port in &before[1..] {
        let mut state = state_of(port);
        state.next_reconnect_at = Some(kordon_store::now() - 600);
        store
            .set_port_state(port.id, &state)
            .await
            .expect("overdue");
    }
    store.close().await;
    let wans: Vec<String> = setup
        .lab
        .modems()
        .iter()
        .map(|m| m.emulator.state().wan_addr.to_string())
        .collect();

    let resumed_at = kordon_store::now();
    setup.resume().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let ports = list(ns, key).await;
    let port0 = ports
        .iter()
        .find(|p| p["id"] == ids[0])
        .expect("port 0 listed");
    let left = port0["reconect_time"].as_i64().expect("still scheduled");
    assert!(
        (left - (kept_due - kordon_store::now())).abs() <= 1,
        "the schedule survived the restart: {port0}"
    );

    // Every overdue port rotates, one at a time, the configured 5 s apart.
    for (index, id) in ids.iter().enumerate().skip(1) {
        let old = wans[index].as_str();
        wait_port(ns, key, *id, "overdue rotation", |p| {
            p["reconnect"] == false && p["reconnect_end"].is_string() && p["external_ip"] != old
        })
        .await;
    }
    // Port 0 never rotated meanwhile (the overdue ones took over 10 s).
    assert_eq!(
        setup.lab.modems()[0].emulator.state().wan_addr.to_string(),
        wans[0],
        "port 0 rotated at start-up"
    );
    let port0 = wait_port(ns, key, ids[0], "listed", |p| p.is_object()).await;
    assert!(port0["reconnect_start"].is_null(), "{port0}");

    setup.stop().await;
    let after = stored_ports(setup.data.path(), &ids).await;
    let due = after[0].next_reconnect_at.expect("port 0 scheduled");
    assert!((due - kept_due).abs() <= 1, "{due} != {kept_due}");
    assert_eq!(after[0].reconnect_start, None);
    let mut starts: Vec<i64> = after[1..]
        .iter()
        .map(|p| p.reconnect_start.expect("rotation started"))
        .collect();
    starts.sort_unstable();
    assert!(
        starts[0] - resumed_at <= 5,
        "the first overdue rotation waits for nothing: {starts:?} after {resumed_at}"
    );
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (4..=8).contains(&gap),
            "overdue rotations spread 5 s apart: {starts:?}"
        );
    }
    for port in &after[1..] {
        let next = port.next_reconnect_at.expect("rescheduled");
        let end = port.reconnect_end.expect("rotation ended");
        assert!((next - (end + 3600)).abs() <= 1, "{next} after {end}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_api_or_expired_tokens_are_handled_while_kordon_keeps_serving() {
    if !root_or_skip() {
        return;
    }
    let hilink = hilink_models();
    let setup = Farm::start(name("tf"), vec![hilink[0], hilink[1]]).await;
    setup.wait_monitored().await;
    let (lab, ns, key) = (&setup.lab, setup.ns(), setup.key.as_str());
    let (hung, other) = (&lab.modems()[0], &lab.modems()[1]);
    let (hung_id, other_id) = (setup.ports[0].0, setup.ports[1].0);

    // The API hangs: the port loses conn_net; the other port is still monitored.
    hung.emulator.set_faults(Faults {
        api_hangs: true,
        ..Faults::default()
    });
    wait_port(ns, key, hung_id, "API hung", |p| p["conn_net"] == false).await;
    other.emulator.update(|state| state.signal.rsrp = -101);
    wait_port(ns, key, other_id, "still monitored", |p| {
        p["conn_inet"] == true && p["rsrp"].as_str().is_some_and(|v| v.contains("-101"))
    })
    .await;

    // Cleared: the port comes back by itself.
    hung.emulator.set_faults(Faults::default());
    let wan = hung.emulator.state().wan_addr.to_string();
    wait_port(ns, key, hung_id, "API answers again", |p| {
        p["conn_net"] == true && p["conn_inet"] == true && p["external_ip"] == wan.as_str()
    })
    .await;

    // Tokens expire: monitoring fetches a new one and keeps reading the modem.
    let epoch = hung.emulator.token_epoch();
    hung.emulator.expire_tokens();
    assert!(hung.emulator.token_epoch() > epoch);
    hung.emulator.update(|state| state.signal.rsrp = -99);
    let port = wait_port(ns, key, hung_id, "read after the tokens expired", |p| {
        p["rsrp"].as_str().is_some_and(|v| v.contains("-99"))
    })
    .await;
    assert_eq!(port["conn_net"], true, "{port}");
}
