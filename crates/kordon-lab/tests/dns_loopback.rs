//! The zone's server and a modem's DNS forwarder on loopback (no root needed): `dig` through
//! the forwarder gets the zone's answers, `whoami` names the forwarder's address, and the
//! forwarder answers the way dnsmasq does when the modem has no data session, reboots, or
//! its upstream is gone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kordon_lab::emulator::{spawn_dns_forwarder, EmulatedModem, LoopbackControl, ModemConfig};
use kordon_lab::operators::{WanPools, OPERATORS};
use kordon_lab::topology::spawn_dns_server;
use kordon_model::catalog::MODEM_MODELS;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::{block_in_place, JoinSet};

mod dig;
use dig::{dig, Dig};

/// A UDP socket and a TCP listener on the same free port of `ip`.
async fn bind_pair(ip: Ipv4Addr) -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind((ip, 0)).await.unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind((ip, port)).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP on {ip}");
}

fn ask(server: SocketAddr, args: &[&str]) -> Dig {
    block_in_place(|| dig(None, server, 2, args))
}

fn modem() -> EmulatedModem {
    let config = ModemConfig::new(MODEM_MODELS[0], OPERATORS[0])
        .with_reconnect_delay(Duration::from_millis(100));
    EmulatedModem::new(config, WanPools::new(), Arc::new(LoopbackControl)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarder_relays_the_zone_and_fails_like_dnsmasq() {
    let mut services = JoinSet::new();
    let (udp, tcp) = bind_pair(Ipv4Addr::LOCALHOST).await;
    let authority = udp.local_addr().unwrap();
    spawn_dns_server(udp, tcp, &mut services);
    let modem = modem();
    let (udp, tcp) = bind_pair(Ipv4Addr::LOCALHOST).await;
    let forwarder = spawn_dns_forwarder(udp, tcp, authority, modem.clone()).unwrap();
    let at = forwarder.local_addr();

    // The authority itself: authoritative, no recursion, the standard errors.
    let direct = ask(authority, &["echo.kordon.test"]);
    direct.expect("A", &["203.0.113.10"]);
    assert!(
        direct.has_flag("aa") && !direct.has_flag("ra"),
        "{direct:?}"
    );
    let notify = ask(authority, &["+opcode=notify", "kordon.test", "SOA"]);
    assert_eq!(
        notify.status.as_deref(),
        Some("NOTIMP"),
        "{}",
        notify.output
    );
    let empty = ask(authority, &["+header-only"]);
    assert_eq!(empty.status.as_deref(), Some("FORMERR"), "{}", empty.output);

    // Through the forwarder: relayed answers with RA set, over UDP and TCP.
    for transport in ["+notcp", "+tcp"] {
        let echo = ask(at, &[transport, "echo.kordon.test"]);
        echo.expect("A", &["203.0.113.10"]);
        assert!(echo.has_flag("ra") && echo.has_flag("aa"), "{echo:?}");
        ask(at, &[transport, "whoami.kordon.test"]).expect("A", &["127.0.0.1"]);
    }
    let www = ask(at, &["www.kordon.test"]);
    www.expect("CNAME", &["echo.kordon.test."]);
    assert_eq!(www.data("A"), ["203.0.113.10"]);
    ask(at, &["v6only.kordon.test", "AAAA"]).expect("AAAA", &["2001:db8::10"]);
    let nodata = ask(at, &["v6only.kordon.test", "A"]);
    nodata.expect("A", &[]);
    let missing = ask(at, &["nope.kordon.test"]);
    assert_eq!(
        missing.status.as_deref(),
        Some("NXDOMAIN"),
        "{}",
        missing.output
    );
    let other = ask(at, &["example.com"]);
    assert_eq!(other.status.as_deref(), Some("REFUSED"), "{}", other.output);
    assert_eq!(other.ede, None, "{}", other.output);

    // No data session: REFUSED at once, with "Network Error" for EDNS clients.
    modem.set_data_switch(false).await.unwrap();
    for transport in ["+notcp", "+tcp"] {
        let started = Instant::now();
        let down = ask(at, &[transport, "echo.kordon.test"]);
        assert_eq!(down.status.as_deref(), Some("REFUSED"), "{}", down.output);
        assert_eq!(down.ede, Some(23), "{}", down.output);
        assert!(down.has_flag("ra") && !down.has_flag("aa"), "{down:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    let plain = ask(at, &["+noedns", "echo.kordon.test"]);
    assert_eq!(plain.status.as_deref(), Some("REFUSED"), "{}", plain.output);
    assert_eq!(plain.ede, None, "{}", plain.output);
    modem.set_data_switch(true).await.unwrap();
    ask(at, &["echo.kordon.test"]).expect("A", &["203.0.113.10"]);

    // Rebooting: nothing answers.
    modem.update(|s| s.rebooting = true);
    let silent = block_in_place(|| dig(None, at, 1, &["echo.kordon.test"]));
    assert_eq!(silent.status, None, "{}", silent.output);
    modem.update(|s| s.rebooting = false);
    ask(at, &["echo.kordon.test"]).expect("A", &["203.0.113.10"]);
    forwarder.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_upstream_is_silence_over_udp_and_refused_over_tcp() {
    // A port nothing listens on: UDP queries are lost, TCP connections refused.
    let (udp, tcp) = bind_pair(Ipv4Addr::LOCALHOST).await;
    let gone = udp.local_addr().unwrap();
    drop((udp, tcp));
    let (udp, tcp) = bind_pair(Ipv4Addr::LOCALHOST).await;
    let forwarder = spawn_dns_forwarder(udp, tcp, gone, modem()).unwrap();
    let at = forwarder.local_addr();
    assert_eq!(at.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));

    let lost = block_in_place(|| dig(None, at, 1, &["echo.kordon.test"]));
    assert_eq!(lost.status, None, "{}", lost.output);
    let refused = ask(at, &["+tcp", "echo.kordon.test"]);
    assert_eq!(
        refused.status.as_deref(),
        Some("REFUSED"),
        "{}",
        refused.output
    );
    assert_eq!(refused.ede, Some(23), "{}", refused.output);
}
