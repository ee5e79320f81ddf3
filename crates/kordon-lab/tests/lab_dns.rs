//! DNS and UDP in the namespace lab (needs root): `dig` in the farm's namespace asks each
//! modem's forwarder on its LAN address; the zone's `whoami` answers the modem's public
//! address, which changes with a rotation; a modem without a data session refuses, one that
//! reboots or is unplugged is silent; the UDP echo sees the modem's public address.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use kordon_lab::emulator::Connection;
use kordon_lab::topology::{netns, Lab, LabModem, LabSpec, ECHO_ADDR, UDP_ECHO_PORT};
use kordon_model::catalog::MODEM_MODELS;
use socket2::{Domain, Socket, Type};
use tokio::task::block_in_place;

mod dig;
mod support;
use dig::{dig, Dig};
use support::{root_or_skip, FarmNs};

fn ask(farm: &FarmNs, m: &LabModem, args: &[&str]) -> Dig {
    block_in_place(|| dig(Some(&farm.0), m.dns_addr(), 2, args))
}

/// The address `whoami.kordon.test` answers through `m` (over TCP with `+tcp`).
fn whoami(farm: &FarmNs, m: &LabModem, transport: &str) -> Ipv4Addr {
    let reply = ask(farm, m, &[transport, "whoami.kordon.test"]);
    let data = reply.data("A");
    assert_eq!(data.len(), 1, "{}", reply.output);
    data[0].parse().unwrap()
}

/// Waits (at most 5 s) until `m`'s state satisfies `check`.
async fn until(
    m: &LabModem,
    what: &str,
    check: impl Fn(&kordon_lab::emulator::ModemState) -> bool,
) {
    for _ in 0..200 {
        if check(&m.emulator.state()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("modem {} never {what}", m.index);
}

/// One datagram to the UDP echo from the farm's namespace out of `m`'s interface; the reply.
fn udp_echo_via(farm: &FarmNs, m: &LabModem, payload: &'static [u8]) -> Vec<u8> {
    let dev = m.host_if.clone();
    netns::run_in(&farm.0, move || {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
        socket.bind_device(Some(dev.as_bytes()))?;
        socket.set_read_timeout(Some(Duration::from_secs(5)))?;
        let socket: std::net::UdpSocket = socket.into();
        socket.send_to(payload, SocketAddr::from((ECHO_ADDR, UDP_ECHO_PORT)))?;
        let mut buf = [0u8; 2048];
        let len = socket.recv(&mut buf)?;
        Ok(buf[..len].to_vec())
    })
    .unwrap()
}

fn farm_and_spec(name: &str, models: usize) -> (FarmNs, LabSpec) {
    let farm = FarmNs::new(format!("{name}-farm"));
    let mut spec = LabSpec::new(name, models);
    spec.host_netns = Some(farm.0.clone());
    spec.reconnect_delay = Duration::from_millis(300);
    spec.reboot_delay = Duration::from_secs(2);
    (farm, spec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modems_resolve_through_their_nat() {
    if !root_or_skip() {
        return;
    }
    let name = format!("da{}", std::process::id() % 100_000);
    let (farm, mut spec) = farm_and_spec(&name, 2);
    spec.models = vec![MODEM_MODELS[0], MODEM_MODELS[1]];
    let lab = Lab::up(spec).await.unwrap();

    let mut public = Vec::new();
    for m in lab.modems() {
        farm.route_via(m);
        let lan = m.emulator.state().lan.modem;
        assert_eq!(m.dns_addr(), SocketAddr::from((lan, 53)));
        let echo = ask(&farm, m, &["echo.kordon.test"]);
        echo.expect("A", &["203.0.113.10"]);
        assert!(echo.has_flag("ra"), "{}", echo.output);
        for transport in ["+notcp", "+tcp"] {
            assert_eq!(whoami(&farm, m, transport), m.emulator.state().wan_addr);
        }
        public.push(whoami(&farm, m, "+notcp"));

        // The UDP echo sees the same public address, then the payload.
        let reply = udp_echo_via(&farm, m, b"ping\x00\xff");
        let (line, payload) = reply.split_at(reply.iter().position(|b| *b == b'\n').unwrap() + 1);
        let seen: SocketAddr = std::str::from_utf8(line).unwrap().trim().parse().unwrap();
        assert_eq!(seen.ip(), m.emulator.state().wan_addr);
        assert_eq!(payload, b"ping\x00\xff");
    }
    assert_ne!(public[0], public[1]);

    let m = &lab.modems()[0];
    ask(&farm, m, &["www.kordon.test"]).expect("CNAME", &["echo.kordon.test."]);
    ask(&farm, m, &["+tcp", "v6only.kordon.test", "AAAA"]).expect("AAAA", &["2001:db8::10"]);
    ask(&farm, m, &["v6only.kordon.test", "A"]).expect("A", &[]);
    let missing = ask(&farm, m, &["+tcp", "missing.kordon.test"]);
    assert_eq!(
        missing.status.as_deref(),
        Some("NXDOMAIN"),
        "{}",
        missing.output
    );

    // A rotation: refused while the session is down, the new address after.
    let m = &lab.modems()[1];
    let before = m.emulator.state().wan_addr;
    m.emulator
        .update(|s| s.reconnect_delay = Duration::from_millis(1500));
    m.emulator.spawn_reconnect();
    until(m, "started reconnecting", |s| {
        s.connection == Connection::Connecting
    })
    .await;
    let down = ask(&farm, m, &["echo.kordon.test"]);
    assert_eq!(down.status.as_deref(), Some("REFUSED"), "{}", down.output);
    assert_eq!(down.ede, Some(23), "{}", down.output);
    until(m, "reconnected", |s| s.connection == Connection::Connected).await;
    let after = m.emulator.state().wan_addr;
    assert_ne!(after, before);
    assert_eq!(whoami(&farm, m, "+notcp"), after);
    assert_eq!(whoami(&farm, m, "+tcp"), after);

    let status = lab.status();
    assert_eq!(status.dns, "203.0.113.53:53");
    assert_eq!(status.dns_zone, "kordon.test");
    assert_eq!(status.udp_echo, "203.0.113.10:7");
    assert_eq!(status.modems[0].dns, "192.168.8.1:53");
    assert_eq!(status.modems[1].dns, "192.168.0.1:53");
    lab.down().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_without_session_refuses_and_a_gone_one_is_silent() {
    if !root_or_skip() {
        return;
    }
    let name = format!("db{}", std::process::id() % 100_000);
    let (farm, spec) = farm_and_spec(&name, 1);
    let lab = Lab::up(spec).await.unwrap();
    let m = &lab.modems()[0];
    ask(&farm, m, &["echo.kordon.test"]).expect("A", &["203.0.113.10"]);

    // Mobile data off: dnsmasq cannot send on, and says so.
    m.emulator.set_data_switch(false).await.unwrap();
    for transport in ["+notcp", "+tcp"] {
        let off = ask(&farm, m, &[transport, "echo.kordon.test"]);
        assert_eq!(off.status.as_deref(), Some("REFUSED"), "{}", off.output);
    }
    m.emulator.set_data_switch(true).await.unwrap();
    assert_eq!(whoami(&farm, m, "+notcp"), m.emulator.state().wan_addr);

    // Rebooting: no answer; after the reboot, the new address.
    m.emulator.spawn_reboot();
    until(m, "started rebooting", |s| s.rebooting).await;
    let silent = block_in_place(|| dig(Some(&farm.0), m.dns_addr(), 1, &["echo.kordon.test"]));
    assert_eq!(silent.status, None, "{}", silent.output);
    until(m, "came back", |s| {
        !s.rebooting && s.connection == Connection::Connected
    })
    .await;
    assert_eq!(whoami(&farm, m, "+tcp"), m.emulator.state().wan_addr);

    // Unplugged: the interface is gone, nothing answers; replugged: it resolves again.
    m.emulator.unplug().await.unwrap();
    let gone = block_in_place(|| dig(Some(&farm.0), m.dns_addr(), 1, &["echo.kordon.test"]));
    assert_eq!(gone.status, None, "{}", gone.output);
    m.emulator.replug().await.unwrap();
    assert_eq!(whoami(&farm, m, "+notcp"), m.emulator.state().wan_addr);
    lab.down().await.unwrap();
}
