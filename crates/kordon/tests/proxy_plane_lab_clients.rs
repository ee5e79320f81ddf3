//! Clients that authenticate by address and clients that relay datagrams, in the namespace
//! lab (needs root): `iponly` profiles through SOCKS5, HTTP CONNECT and SOCKS4a (curl), and
//! SOCKS5 UDP ASSOCIATE (PySocks) through the modem and never into the farm.

mod lab_support;
mod proxy_support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kordon_lab::topology::{netns, ECHO_ADDR, UDP_ECHO_PORT};
use lab_support::{hilink_models, root_or_skip, Farm};
use proxy_support::{
    client_ip, connect_status, curl, curl_until, fetch, name, profile, proxy_entry, proxy_login,
    python, socks5_connect, strings, wait_refusals, wait_stats, Socks5Refusal, ECHO, PYSOCKS_UDP,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iponly_profiles_admit_their_listed_client_addresses_only() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pi"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let wan = setup.lab.modems()[0].emulator.state().wan_addr.to_string();
    let port = setup.ports[0].0;
    // The clients run in the farm's namespace and reach the listeners on 127.0.0.1.
    let farm = client_ip(ns, key, "127.0.0.1").await;
    let elsewhere = client_ip(ns, key, "10.9.9.9").await;
    let iponly = |ips: Vec<i64>| json!({"auth": "iponly", "auth_params": ips});
    profile(
        ns,
        key,
        port,
        31201,
        "socks",
        0,
        iponly(vec![farm, elsewhere]),
    )
    .await;
    profile(ns, key, port, 31202, "http", 0, iponly(vec![farm])).await;
    let socks_out = profile(ns, key, port, 31203, "socks", 0, iponly(vec![elsewhere])).await;
    let http_out = profile(ns, key, port, 31204, "http", 0, iponly(vec![elsewhere])).await;

    // Listed: no credentials asked, traffic leaves through the modem.
    curl_until(ns, &["--socks5-hostname", "127.0.0.1:31201", ECHO], &wan).await;
    curl_until(ns, &["-p", "-x", "http://127.0.0.1:31202", ECHO], &wan).await;
    let hand_made = socks5_connect(ns, 31201, None, &ECHO_ADDR.to_string(), 80).await;
    assert!(hand_made.is_ok(), "{:?}", hand_made.err());

    // SOCKS4a (the name resolved through the modem) and SOCKS4 on an iponly profile.
    let socks4a = ["--socks4a", "127.0.0.1:31201"];
    let echo_name = "http://echo.kordon.test/";
    assert_eq!(
        fetch(ns, &socks4a, echo_name).await.as_deref(),
        Some(wan.as_str())
    );
    let socks4 = ["--socks4", "127.0.0.1:31201"];
    assert_eq!(
        fetch(ns, &socks4, ECHO).await.as_deref(),
        Some(wan.as_str())
    );

    // Not listed: SOCKS5 "not allowed by ruleset", HTTP 403, SOCKS4 rejected.
    let refused = socks5_connect(ns, 31203, None, &ECHO_ADDR.to_string(), 80).await;
    assert_eq!(refused.err(), Some(Socks5Refusal::Reply(0x02)));
    assert_eq!(
        fetch(ns, &["--socks5-hostname", "127.0.0.1:31203"], ECHO).await,
        None
    );
    assert_eq!(
        fetch(ns, &["--socks4a", "127.0.0.1:31203"], echo_name).await,
        None
    );
    assert_eq!(
        connect_status(ns, "http://127.0.0.1:31204", ECHO).await,
        "403"
    );
    wait_refusals(ns, key, socks_out, "client_address", 3).await;
    let stats = wait_refusals(ns, key, http_out, "client_address", 1).await;
    for id in [socks_out, http_out] {
        assert_eq!(proxy_entry(&stats, id)["connections"], 0, "profile {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_associate_relays_through_the_modem_and_never_into_the_farm() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pu"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let state = setup.lab.modems()[0].emulator.state();
    let wan = state.wan_addr.to_string();
    let login = proxy_login(ns, key, "datagram", 0, 0).await;
    let id = profile(ns, key, setup.ports[0].0, 31211, "socks", login, json!({})).await;
    let socks = ["--socks5-hostname", "datagram:datagram-pw@127.0.0.1:31211"];
    curl_until(ns, &[socks[0], socks[1], ECHO], &wan).await;

    // Echoes inside the farm (on loopback and on the farm's address on the modem's LAN)
    // that would answer if a datagram ever got there.
    let leaked = Arc::new(AtomicUsize::new(0));
    let farm_side = [
        SocketAddr::from((Ipv4Addr::LOCALHOST, 7007)),
        SocketAddr::new(IpAddr::V4(state.lan.host), 7007),
    ];
    for address in farm_side {
        let socket = netns::bind_udp(Some(ns), address).expect("farm echo");
        let leaked = Arc::clone(&leaked);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
                leaked.fetch_add(1, Ordering::SeqCst);
                let _ = socket.send_to(&buf[..len], peer).await;
            }
        });
    }

    let echo = format!("{ECHO_ADDR}:{UDP_ECHO_PORT}");
    let by_name = format!("echo.kordon.test:{UDP_ECHO_PORT}");
    let targets = [
        echo.clone(),
        farm_side[0].to_string(),
        farm_side[1].to_string(),
        by_name.clone(),
    ];
    let mut args = strings(&["127.0.0.1", "31211", "datagram", "datagram-pw", "ip"]);
    args.extend(targets.iter().cloned());
    let (code, out) = python(ns, PYSOCKS_UDP, &args).await;
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), targets.len(), "{out}");
    // The echo sees the modem's public address; the answer comes back from the echo.
    for (line, target) in [(lines[0], &echo), (lines[3], &by_name)] {
        let expected = format!("{target} answer {ECHO_ADDR} {UDP_ECHO_PORT} {wan}:");
        assert!(
            line.starts_with(&expected),
            "{line:?}, wanted {expected:?}…"
        );
        assert!(line.ends_with("|kordon-udp"), "{line:?}");
    }
    for (line, target) in [(lines[1], &targets[1]), (lines[2], &targets[2])] {
        assert_eq!(line, format!("{target} silent"));
    }
    assert_eq!(
        leaked.load(Ordering::SeqCst),
        0,
        "a datagram reached the farm"
    );
    let stats = wait_refusals(ns, key, id, "forbidden", 2).await;
    assert_eq!(proxy_entry(&stats, id)["refusals"]["protocol"], 0);
    // The relayed datagrams are counted on the profile and its login.
    wait_stats(ns, key, "the association's bytes", |stats| {
        let entry = proxy_entry(stats, id);
        entry["bytes_out"].as_i64() >= Some(2 * "kordon-udp".len() as i64)
            && entry["bytes_in"].as_i64() > Some(0)
    })
    .await;
}

/// PySocks as most programs use it (names resolved by the proxy, its default) asks for the
/// association with the hint `("0", <port>)` sent as the domain name "0".
/// That address is only a hint of the client's source (RFC 1928 §4), so any name is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_associate_takes_any_hint_of_the_clients_source() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("ph"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let wan = setup.lab.modems()[0].emulator.state().wan_addr.to_string();
    let login = proxy_login(ns, key, "hint", 0, 0).await;
    profile(ns, key, setup.ports[0].0, 31221, "socks", login, json!({})).await;
    let socks = ["--socks5-hostname", "hint:hint-pw@127.0.0.1:31221"];
    curl_until(ns, &[socks[0], socks[1], ECHO], &wan).await;
    let target = format!("echo.kordon.test:{UDP_ECHO_PORT}");
    let mut args = strings(&["127.0.0.1", "31221", "hint", "hint-pw", "name"]);
    args.push(target.clone());
    let (code, out) = python(ns, PYSOCKS_UDP, &args).await;
    assert_eq!(code, 0, "PySocks could not associate: {out}");
    let expected = format!("{target} answer {ECHO_ADDR} {UDP_ECHO_PORT} {wan}:");
    assert!(out.starts_with(&expected), "{out:?}, wanted {expected:?}…");
}

/// Plain HTTP through an `http` profile: absolute-URI requests forwarded, two of them on
/// one client connection (the "absolute-URI forwarding with keep-alive").

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_profiles_forward_absolute_uri_requests_with_keep_alive() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pf"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let wan = setup.lab.modems()[0].emulator.state().wan_addr.to_string();
    let login = proxy_login(ns, key, "plain", 0, 0).await;
    profile(ns, key, setup.ports[0].0, 31231, "http", login, json!({})).await;
    let proxy = "http://plain:plain-pw@127.0.0.1:31231";
    curl_until(ns, &["-p", "-x", proxy, ECHO], &wan).await;
    // Each transfer prints the echo's answer, then its status and how many new
    // connections curl opened for it (0: the proxy kept the first one open).
    let write_out = "|%{http_code} %{num_connects}\n";
    let args = ["-x", proxy, "-w", write_out, ECHO, ECHO];
    let (code, out) = curl(ns, &args).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, format!("{wan}\n|200 1\n{wan}\n|200 0"));
}
