//! The proxy plane under change in the namespace lab (needs root): the `proxy` service
//! stopped and started through the farm API, profiles added, edited and deleted around a
//! connection that must survive, and a port switched off and on under its profiles.

mod lab_support;
mod proxy_support;

use std::time::{Duration, Instant};

use kordon_lab::topology::{ECHO_ADDR, SOURCE_PORT};
use lab_support::{call, goform_model, hilink_models, root_or_skip, Farm};
use proxy_support::{
    connect_status, curl_until, curl_until_within, edit_profile, fetch, is_refused, name, post_ok,
    profile, proxy_login, read_count, socks5_connect, until, wait_closed, wait_listening,
    wait_refusals, wait_refused, Socks5Refusal, ECHO,
};
use serde_json::json;
use tokio::net::TcpStream;

/// Enough bytes from the lab's source to tell a moving connection from a stuck one.
const CHUNK: usize = 256 * 1024;
const READ_LIMIT: Duration = Duration::from_secs(5);

/// A relayed connection to the lab's source through the SOCKS5 profile on `listen`, with
/// the first bytes read.
async fn held_source(ns: &str, listen: u16, login: &str) -> TcpStream {
    let password = format!("{login}-pw");
    let source = ECHO_ADDR.to_string();
    let mut stream = socks5_connect(ns, listen, Some((login, &password)), &source, SOURCE_PORT)
        .await
        .expect("a connection to the lab's source");
    assert_moves(&mut stream, "a new connection").await;
    stream
}

async fn assert_moves(stream: &mut TcpStream, what: &str) {
    let read = read_count(stream, CHUNK, READ_LIMIT).await;
    assert_eq!(read, CHUNK, "{what}: only {read} bytes in {READ_LIMIT:?}");
}

async fn services(ns: &str, key: &str) -> serde_json::Value {
    let (status, reply) = call(ns, "GET", "/api/devices/services/status", Some(key), None).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_service_closes_and_reopens_every_listener() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("ps"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let wan = setup.lab.modems()[0].emulator.state().wan_addr.to_string();
    let login = proxy_login(ns, key, "svc", 0, 0).await;
    let port = setup.ports[0].0;
    profile(ns, key, port, 31301, "socks", login, json!({})).await;
    profile(ns, key, port, 31302, "http", login, json!({})).await;
    let socks = ["--socks5-hostname", "svc:svc-pw@127.0.0.1:31301"];
    let http = ["-p", "-x", "http://svc:svc-pw@127.0.0.1:31302"];
    curl_until(ns, &[socks[0], socks[1], ECHO], &wan).await;
    curl_until(ns, &[http[0], http[1], http[2], ECHO], &wan).await;
    assert_eq!(services(ns, key).await["proxy"], true);
    let mut held = held_source(ns, 31301, "svc").await;

    // Stop: returns once the plane has ended, so nothing listens any more and the
    // connection it carried is closed.
    let stop = Instant::now();
    post_ok(
        ns,
        key,
        "/api/devices/services/stop",
        json!({"name": "proxy"}),
    )
    .await;
    let stopped_in = stop.elapsed();
    assert_eq!(services(ns, key).await["proxy"], false);
    for listen in [31301, 31302] {
        assert!(is_refused(ns, listen).await, "{listen} open after stop");
    }
    let closed = wait_closed(&mut held, Duration::from_secs(2)).await;
    assert!(
        closed.is_some(),
        "a relayed connection outlived the service"
    );
    assert_eq!(fetch(ns, &socks, ECHO).await, None);
    assert!(
        stopped_in < Duration::from_secs(5),
        "stop took {stopped_in:?}"
    );

    // Start: the listeners come back and carry traffic.
    post_ok(
        ns,
        key,
        "/api/devices/services/start",
        json!({"name": "proxy"}),
    )
    .await;
    assert_eq!(services(ns, key).await["proxy"], true);
    curl_until(ns, &[socks[0], socks[1], ECHO], &wan).await;
    curl_until(ns, &[http[0], http[1], http[2], ECHO], &wan).await;
    held_source(ns, 31301, "svc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_changes_keep_the_connections_of_unchanged_profiles() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pc"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let wan = setup.lab.modems()[0].emulator.state().wan_addr.to_string();
    let port = setup.ports[0].0;
    let kept_login = proxy_login(ns, key, "kept", 0, 0).await;
    let other_login = proxy_login(ns, key, "other", 0, 0).await;
    let kept = profile(ns, key, port, 31311, "socks", kept_login, json!({})).await;
    let edited = profile(ns, key, port, 31312, "http", other_login, json!({})).await;
    let http = "http://other:other-pw@127.0.0.1:31312";
    let socks = ["--socks5-hostname", "kept:kept-pw@127.0.0.1:31311"];
    curl_until(ns, &[socks[0], socks[1], ECHO], &wan).await;
    let mut held = held_source(ns, 31311, "kept").await;

    // Another profile edited (its rules, then its login's password), a third added, used
    // and deleted, the second disabled: each rebuilds the plane's table.
    edit_profile(ns, key, edited, json!({"targetport": [443], "maxconn": 5})).await;
    wait_listening(ns, 31312).await;
    let applied = until("the edited rule", Duration::from_secs(2), || async {
        connect_status(ns, http, ECHO).await == "403"
    })
    .await;
    assert!(
        applied < Duration::from_secs(1),
        "edit applied after {applied:?}"
    );
    let (status, reply) = call(
        ns,
        "POST",
        &format!("/api/proxy/auth/edit/{other_login}"),
        Some(key),
        Some(json!({"password": "changed-pw"})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let added = profile(ns, key, port, 31313, "socks", other_login, json!({})).await;
    let third = ["--socks5-hostname", "other:changed-pw@127.0.0.1:31313"];
    curl_until(ns, &[third[0], third[1], ECHO], &wan).await;
    post_ok(ns, key, "/api/proxy/del", json!({"id": [added]})).await;
    wait_refused(ns, 31313, Duration::from_secs(1)).await;
    post_ok(
        ns,
        key,
        "/api/proxy/active",
        json!({"id": [edited], "active": false}),
    )
    .await;
    wait_refused(ns, 31312, Duration::from_secs(1)).await;
    assert_eq!(connect_status(ns, http, ECHO).await, "000");

    // The first profile's connection never noticed.
    assert_moves(
        &mut held,
        "the unchanged profile's connection after the changes",
    )
    .await;
    assert_eq!(fetch(ns, &socks, ECHO).await.as_deref(), Some(wan.as_str()));

    // Deleting its profile closes it (and the listener).
    post_ok(ns, key, "/api/proxy/del", json!({"id": [kept]})).await;
    let closed = wait_closed(&mut held, Duration::from_secs(2)).await;
    assert!(
        closed.is_some(),
        "a deleted profile's connection stayed open"
    );
    wait_refused(ns, 31311, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_port_refuses_new_connections_and_never_leaks() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pd"), vec![hilink_models()[0], goform_model()]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let modems = setup.lab.modems();
    let wan = |i: usize| modems[i].emulator.state().wan_addr.to_string();
    let login = proxy_login(ns, key, "idle", 0, 0).await;
    let (off, on) = (setup.ports[0].0, setup.ports[1].0);
    let socks_id = profile(ns, key, off, 31321, "socks", login, json!({})).await;
    let http_id = profile(ns, key, off, 31322, "http", login, json!({})).await;
    profile(ns, key, on, 31323, "socks", login, json!({})).await;
    let socks = ["--socks5-hostname", "idle:idle-pw@127.0.0.1:31321"];
    let http = "http://idle:idle-pw@127.0.0.1:31322";
    let other = ["--socks5-hostname", "idle:idle-pw@127.0.0.1:31323"];
    curl_until(ns, &[socks[0], socks[1], ECHO], &wan(0)).await;
    curl_until(ns, &[other[0], other[1], ECHO], &wan(1)).await;

    post_ok(
        ns,
        key,
        "/api/devices/modem/active",
        json!({"id": [off], "active": false}),
    )
    .await;
    // Probe for a while: right after the change and later, once the monitor has taken the
    // interface down too. Every new connection fails with the protocol's error within the
    // plane's egress wait and none leaves through the other modem. In the first moments
    // the monitor may already have taken the link down while the table still has the port
    // active (the connect fails: SOCKS5 any failure, HTTP 502); past them the port is
    // inactive in the table: SOCKS5 0x03 (network unreachable), HTTP 503, counted `egress`.
    let credentials = Some(("idle", "idle-pw"));
    let echo = ECHO_ADDR.to_string();
    let settled = Duration::from_secs(1);
    let egress_wait = Duration::from_secs(10);
    let probing = Instant::now();
    let mut steady_probes = 0;
    while probing.elapsed() < Duration::from_secs(6) {
        let steady = probing.elapsed() >= settled;
        let seen = fetch(ns, &socks, ECHO).await;
        assert_ne!(seen, Some(wan(1)), "left through the other modem");
        assert!(
            seen.is_none() || !steady,
            "an inactive port carried traffic: {seen:?}"
        );
        let started = Instant::now();
        let refused = socks5_connect(ns, 31321, credentials, &echo, 80).await;
        let took = started.elapsed();
        assert!(took <= egress_wait + settled, "refused after {took:?}");
        let status = connect_status(ns, http, ECHO).await;
        if steady {
            assert_eq!(refused.err(), Some(Socks5Refusal::Reply(0x03)));
            assert_eq!(status, "503");
            steady_probes += 1;
        } else {
            assert!(
                ["200", "502", "503", "504"].contains(&status.as_str()),
                "{status}"
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(steady_probes >= 3, "{steady_probes} probes");
    let other_seen = fetch(ns, &other, ECHO).await;
    assert_eq!(other_seen.as_deref(), Some(wan(1).as_str()));
    wait_refusals(ns, key, socks_id, "egress", 2 * steady_probes).await;
    wait_refusals(ns, key, http_id, "egress", steady_probes).await;

    // Active again: traffic through its own modem once monitoring brings the link back.
    post_ok(
        ns,
        key,
        "/api/devices/modem/active",
        json!({"id": [off], "active": true}),
    )
    .await;
    let args = [socks[0], socks[1], ECHO];
    curl_until_within(ns, &args, &wan(0), Duration::from_secs(40)).await;
    assert_eq!(connect_status(ns, http, ECHO).await, "200");
}

/// "Deleting closes", also when another profile takes the deleted one's listen port at once.
/// Both changes land in one rebuild of the table, so the port is "changed", not removed and
/// added: the listener stays open and only the deleted profile's connections are closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_replaced_on_its_port_closes_the_deleted_ones_connections() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pr"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let wan = setup.lab.modems()[0].emulator.state().wan_addr.to_string();
    let port = setup.ports[0].0;
    let old_login = proxy_login(ns, key, "old", 0, 0).await;
    let new_login = proxy_login(ns, key, "new", 0, 0).await;
    let old = profile(ns, key, port, 31331, "socks", old_login, json!({})).await;
    let old_args = ["--socks5-hostname", "old:old-pw@127.0.0.1:31331"];
    curl_until(ns, &[old_args[0], old_args[1], ECHO], &wan).await;
    let mut held = held_source(ns, 31331, "old").await;

    // Deleted, and its port given to a new profile right away (one rebuild of the table).
    post_ok(ns, key, "/api/proxy/del", json!({"id": [old]})).await;
    profile(ns, key, port, 31331, "socks", new_login, json!({})).await;
    let new_args = ["--socks5-hostname", "new:new-pw@127.0.0.1:31331"];
    curl_until(ns, &[new_args[0], new_args[1], ECHO], &wan).await;
    assert_eq!(
        fetch(ns, &old_args, ECHO).await,
        None,
        "old login still served"
    );
    let closed = wait_closed(&mut held, Duration::from_secs(2)).await;
    assert!(
        closed.is_some(),
        "a deleted profile's connection stayed open"
    );
}
