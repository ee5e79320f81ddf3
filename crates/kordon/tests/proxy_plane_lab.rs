//! The proxy plane in the namespace lab (needs root): the real `kordon serve`, profiles made
//! through the farm API, real clients (curl, PySocks) in the farm's namespace, traffic leaving
//! through the emulated modems to the lab's echo service.

mod lab_support;
mod proxy_support;

use std::time::{Duration, Instant};

use lab_support::{call, goform_model, hilink_models, root_or_skip, wait_port, Farm};
use proxy_support::{
    connect_status, curl, curl_until, name, profile, proxy_login, python, strings, ECHO,
    PYSOCKS_GET, PYSOCKS_READ,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_leave_through_their_modems_and_never_into_the_farm() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("px"), vec![hilink_models()[0], goform_model()]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let modems = setup.lab.modems();
    let wan = |i: usize| modems[i].emulator.state().wan_addr.to_string();
    let login = proxy_login(ns, key, "kraken", 0, 0).await;
    profile(ns, key, setup.ports[0].0, 31001, "socks", login, json!({})).await;
    profile(ns, key, setup.ports[1].0, 31002, "http", login, json!({})).await;
    let socks = "kraken:kraken-pw@127.0.0.1:31001";
    let http = "http://kraken:kraken-pw@127.0.0.1:31002";

    // Each profile sees its own modem's public address.
    curl_until(ns, &["--socks5-hostname", socks, ECHO], &wan(0)).await;
    curl_until(ns, &["-p", "-x", http, ECHO], &wan(1)).await;
    assert_ne!(wan(0), wan(1));

    // Names resolve on the egress side, through the port's modem: the lab's zone exists
    // nowhere else.
    curl_until(
        ns,
        &["--socks5-hostname", socks, "http://echo.kordon.test/"],
        &wan(0),
    )
    .await;
    curl_until(ns, &["-p", "-x", http, "http://www.kordon.test/"], &wan(1)).await;
    let (code, _) = curl(
        ns,
        &["--socks5-hostname", socks, "http://missing.kordon.test/"],
    )
    .await;
    assert_ne!(code, 0, "a name the modem's resolver does not know");

    // PySocks, an independent client, sees the same.
    let args = strings(&[
        "127.0.0.1",
        "31001",
        "kraken",
        "kraken-pw",
        "203.0.113.10",
        "/",
    ]);
    assert_eq!(python(ns, PYSOCKS_GET, &args).await, (0, wan(0)));

    // Wrong credentials: refused by the protocol, never a hang.
    let started = Instant::now();
    let (code, _) = curl(
        ns,
        &["--socks5-hostname", "kraken:nope@127.0.0.1:31001", ECHO],
    )
    .await;
    assert_ne!(code, 0);
    let status = connect_status(ns, "http://kraken:nope@127.0.0.1:31002", ECHO).await;
    assert_eq!(status, "407");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Never into the farm: kordon's API, loopback, the own modem's web interface without
    // is_local, the other modem's LAN, the farm's own address on the modem LAN.
    let other_modem = format!("http://{}/", modems[1].emulator.state().lan.modem);
    let own_modem = format!("http://{}/", modems[0].emulator.state().lan.modem);
    let farm_side = format!("http://{}/", modems[0].emulator.state().lan.host);
    for target in [
        "http://127.0.0.1:8000/api/devices/modem/list",
        "http://localhost:8000/",
        "http://[::1]:8000/",
        "http://169.254.169.254/",
        own_modem.as_str(),
        other_modem.as_str(),
        farm_side.as_str(),
    ] {
        let (code, out) = curl(ns, &["--socks5-hostname", socks, target]).await;
        assert_ne!(code, 0, "{target} reached through SOCKS5: {out}");
        let status = connect_status(ns, http, target).await;
        assert_eq!(status, "403", "{target} through CONNECT");
    }

    // A rotation: the connection in flight ends cleanly, new ones see the new address.
    let before = wan(0);
    let reader_args = strings(&[
        "127.0.0.1",
        "31001",
        "kraken",
        "kraken-pw",
        "203.0.113.10",
        "19",
        "0",
        "30",
    ]);
    let in_flight = {
        let ns = ns.to_string();
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = python(&ns, PYSOCKS_READ, &reader_args).await;
            (outcome, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, reply) = call(
        ns,
        "POST",
        "/api/devices/modem/reconnect",
        Some(key),
        Some(json!({"id": [setup.ports[0].0]})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    wait_port(ns, key, setup.ports[0].0, "rotated", |p| {
        p["reconnect"] == false && p["external_ip"] != before.as_str()
    })
    .await;
    curl_until(ns, &["--socks5-hostname", socks, ECHO], &wan(0)).await;
    assert_ne!(wan(0), before);
    let ((_, read), lasted) = in_flight.await.expect("reader");
    assert!(
        lasted < Duration::from_secs(15),
        "a connection through a rotating modem lingered {lasted:?} (read {read})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_bandwidth_cap_is_shared_by_its_connections() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pb"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    // 8 Mbit/s = 1,000,000 bytes a second towards the client.
    let login = proxy_login(ns, key, "capped", 8_000_000, 0).await;
    profile(ns, key, setup.ports[0].0, 31011, "socks", login, json!({})).await;
    curl_until(
        ns,
        &[
            "--socks5-hostname",
            "capped:capped-pw@127.0.0.1:31011",
            ECHO,
        ],
        &setup.lab.modems()[0].emulator.state().wan_addr.to_string(),
    )
    .await;

    // Two parallel downloads from the lab's source (port 19) share the cap.
    let args = strings(&[
        "127.0.0.1",
        "31011",
        "capped",
        "capped-pw",
        "203.0.113.10",
        "19",
        "1",
        "3",
    ]);
    let (first, second) = tokio::join!(
        python(ns, PYSOCKS_READ, &args),
        python(ns, PYSOCKS_READ, &args)
    );
    let total: f64 = [first, second]
        .iter()
        .map(|(code, out)| {
            assert_eq!(*code, 0, "{out}");
            out.parse::<f64>().expect("bytes read")
        })
        .sum();
    let rate = total / 3.0;
    assert!(
        (850_000.0..=1_150_000.0).contains(&rate),
        "two connections of one login moved {rate:.0} B/s, cap 1,000,000 B/s"
    );
}
