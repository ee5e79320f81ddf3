//! A profile's destination rules in the namespace lab (needs root): `allow` site lists with
//! `is_allow`, `targetport` with `is_ports` and `is_local`, each seen by real clients in the
//! farm's namespace, counted by refusal reason, and changed live through the farm API.

mod lab_support;
mod proxy_support;

use std::time::Duration;

use kordon_lab::topology::{ECHO_ADDR, SOURCE_PORT};
use lab_support::{call, goform_model, hilink_models, root_or_skip, Farm};
use proxy_support::{
    connect_status, curl, curl_until, edit_profile, fetch, name, profile, proxy_login, proxy_stats,
    read_count, refusals, site_list, socks5_connect, until, wait_refusals, Socks5Refusal, ECHO,
};
use serde_json::json;

/// SOCKS5's "connection not allowed by ruleset".
const NOT_ALLOWED: Socks5Refusal = Socks5Refusal::Reply(0x02);
/// What the issue promises for a change made through the API.
const LIVE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_lists_allow_or_deny_a_domain_and_its_subdomains_live() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pa"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let wan = setup.lab.modems()[0].emulator.state().wan_addr.to_string();
    let login = proxy_login(ns, key, "sites", 0, 0).await;
    let list = site_list(ns, key, "echo-only", &["echo.kordon.test"]).await;
    let extra = json!({"allow": [list], "is_allow": true});
    let id = profile(ns, key, setup.ports[0].0, 31101, "socks", login, extra).await;
    let socks = ["--socks5-hostname", "sites:sites-pw@127.0.0.1:31101"];
    let credentials = Some(("sites", "sites-pw"));
    let (echo, www, raw) = ("http://echo.kordon.test/", "http://www.kordon.test/", ECHO);

    // Allow: the listed site only; its CNAME alias and the bare address are other sites.
    curl_until(ns, &[socks[0], socks[1], echo], &wan).await;
    assert_eq!(fetch(ns, &socks, www).await, None, "{www} allowed");
    assert_eq!(fetch(ns, &socks, raw).await, None, "{raw} allowed");
    let refused = socks5_connect(ns, 31101, credentials, "www.kordon.test", 80).await;
    assert_eq!(refused.err(), Some(NOT_ALLOWED));
    let stats = wait_refusals(ns, key, id, "site", 3).await;
    assert_eq!(
        refusals(&stats, id, "resolve"),
        0,
        "refused by the site list before any name was resolved"
    );

    // Deny, through proxy/edit: the reverse, live.
    edit_profile(ns, key, id, json!({"is_allow": false})).await;
    let flipped = until("the deny list lets www through", 2 * LIVE, || async {
        fetch(ns, &socks, www).await.as_deref() == Some(wan.as_str())
    })
    .await;
    assert!(flipped < LIVE, "the edit applied after {flipped:?}");
    assert_eq!(fetch(ns, &socks, raw).await.as_deref(), Some(wan.as_str()));
    assert_eq!(fetch(ns, &socks, echo).await, None, "{echo} not denied");

    // A listed domain matches its subdomains (the list edited live to the zone's apex),
    // and only those: a name that merely ends with the same letters is another site,
    // refused by the rule itself rather than by the resolver.
    let (status, reply) = call(
        ns,
        "POST",
        &format!("/api/proxy/site/edit/{list}"),
        Some(key),
        Some(json!({"domains": ["kordon.test"]})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let flipped = until("the whole zone denied", 2 * LIVE, || async {
        fetch(ns, &socks, www).await.is_none()
    })
    .await;
    assert!(flipped < LIVE, "the list's edit applied after {flipped:?}");
    assert_eq!(fetch(ns, &socks, raw).await.as_deref(), Some(wan.as_str()));
    edit_profile(ns, key, id, json!({"is_allow": true})).await;
    until("the zone's names allowed", 2 * LIVE, || async {
        fetch(ns, &socks, www).await.as_deref() == Some(wan.as_str())
    })
    .await;
    assert_eq!(fetch(ns, &socks, echo).await.as_deref(), Some(wan.as_str()));
    assert_eq!(fetch(ns, &socks, raw).await, None, "{raw} allowed");
    let before = proxy_stats(ns, key).await;
    let resolve_before = refusals(&before, id, "resolve");
    let lookalike = socks5_connect(ns, 31101, credentials, "notkordon.test", 80).await;
    assert_eq!(lookalike.err(), Some(NOT_ALLOWED));
    let site_before = refusals(&before, id, "site");
    let stats = wait_refusals(ns, key, id, "site", site_before + 1).await;
    assert_eq!(refusals(&stats, id, "resolve"), resolve_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_ports_allow_only_or_all_but_the_listed_ports() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("pp"), vec![hilink_models()[0]]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let wan = setup.lab.modems()[0].emulator.state().wan_addr.to_string();
    let login = proxy_login(ns, key, "ports", 0, 0).await;
    let rule = json!({"targetport": [80], "is_ports": true});
    let port = setup.ports[0].0;
    let socks_id = profile(ns, key, port, 31111, "socks", login, rule.clone()).await;
    let http_id = profile(ns, key, port, 31112, "http", login, rule).await;
    let socks = ["--socks5-hostname", "ports:ports-pw@127.0.0.1:31111"];
    let http = "http://ports:ports-pw@127.0.0.1:31112";
    let credentials = Some(("ports", "ports-pw"));
    let source = ECHO_ADDR.to_string();
    let source_url = format!("http://{source}:{SOURCE_PORT}/");

    // Only port 80.
    curl_until(ns, &[socks[0], socks[1], ECHO], &wan).await;
    assert_eq!(connect_status(ns, http, ECHO).await, "200");
    let refused = socks5_connect(ns, 31111, credentials, &source, SOURCE_PORT).await;
    assert_eq!(refused.err(), Some(NOT_ALLOWED));
    assert_eq!(connect_status(ns, http, &source_url).await, "403");
    wait_refusals(ns, key, socks_id, "target_port", 1).await;
    wait_refusals(ns, key, http_id, "target_port", 1).await;

    // All but port 80, live.
    for id in [socks_id, http_id] {
        edit_profile(ns, key, id, json!({"is_ports": false})).await;
    }
    let flipped = until("port 19 allowed", 2 * LIVE, || async {
        socks5_connect(ns, 31111, credentials, &source, SOURCE_PORT)
            .await
            .is_ok()
    })
    .await;
    assert!(flipped < LIVE, "the edit applied after {flipped:?}");
    let mut stream = socks5_connect(ns, 31111, credentials, &source, SOURCE_PORT)
        .await
        .expect("port 19 through SOCKS5");
    let read = read_count(&mut stream, 256 * 1024, Duration::from_secs(5)).await;
    assert_eq!(read, 256 * 1024, "the source's bytes through the proxy");
    assert_eq!(connect_status(ns, http, &source_url).await, "200");
    assert_eq!(fetch(ns, &socks, ECHO).await, None, "port 80 not denied");
    let refused = socks5_connect(ns, 31111, credentials, &source, 80).await;
    assert_eq!(refused.err(), Some(NOT_ALLOWED));
    assert_eq!(connect_status(ns, http, ECHO).await, "403");
    wait_refusals(ns, key, socks_id, "target_port", 3).await;
    wait_refusals(ns, key, http_id, "target_port", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_local_opens_the_own_modems_web_interface_and_nothing_else() {
    if !root_or_skip() {
        return;
    }
    let setup = Farm::start(name("po"), vec![hilink_models()[0], goform_model()]).await;
    setup.wait_monitored().await;
    let (ns, key) = (setup.ns(), setup.key.as_str());
    let lans: Vec<_> = setup
        .lab
        .modems()
        .iter()
        .map(|modem| modem.emulator.state().lan)
        .collect();
    let login = proxy_login(ns, key, "local", 0, 0).await;
    let local = json!({"is_local": true});
    let (hilink, goform) = (setup.ports[0].0, setup.ports[1].0);
    let socks_id = profile(ns, key, hilink, 31121, "socks", login, local.clone()).await;
    let http_id = profile(ns, key, hilink, 31122, "http", login, local).await;
    let other_id = profile(ns, key, goform, 31123, "socks", login, json!({})).await;
    let socks = ["--socks5-hostname", "local:local-pw@127.0.0.1:31121"];
    let http = "http://local:local-pw@127.0.0.1:31122";
    let credentials = Some(("local", "local-pw"));
    let own_page = format!("http://{}/html/home.html", lans[0].modem);
    let status_of = |url: String| async move {
        let args = [
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            socks[0],
            socks[1],
            &url,
        ];
        curl(ns, &args).await.1
    };

    // The profile's own modem answers its web page, through SOCKS5 and HTTP CONNECT.
    let reached = until("the own modem's page", Duration::from_secs(10), || async {
        status_of(own_page.clone()).await == "200"
    })
    .await;
    assert!(reached < Duration::from_secs(10));
    assert_eq!(connect_status(ns, http, &own_page).await, "200");

    // Still never: the other modem's LAN, the farm's addresses on both LANs, kordon's API.
    let forbidden = [
        (lans[1].modem.to_string(), 80),
        (lans[0].host.to_string(), 80),
        (lans[1].host.to_string(), 80),
        ("127.0.0.1".to_string(), 8000),
        ("localhost".to_string(), 8000),
    ];
    for (host, port) in &forbidden {
        let refused = socks5_connect(ns, 31121, credentials, host, *port).await;
        assert_eq!(refused.err(), Some(NOT_ALLOWED), "{host}:{port} via SOCKS5");
        let status = connect_status(ns, http, &format!("http://{host}:{port}/")).await;
        assert_eq!(status, "403", "{host}:{port} via CONNECT");
    }
    let count = forbidden.len() as i64;
    wait_refusals(ns, key, socks_id, "forbidden", count).await;
    wait_refusals(ns, key, http_id, "forbidden", count).await;

    // A profile without is_local does not reach its own modem.
    let own_goform = lans[1].modem.to_string();
    let refused = socks5_connect(ns, 31123, credentials, &own_goform, 80).await;
    assert_eq!(refused.err(), Some(NOT_ALLOWED));
    wait_refusals(ns, key, other_id, "forbidden", 1).await;

    // Both switched live: the HiLink profile loses its modem, the goform one gains its own.
    edit_profile(ns, key, socks_id, json!({"is_local": false})).await;
    edit_profile(ns, key, other_id, json!({"is_local": true})).await;
    let flipped = until("is_local switched", 2 * LIVE, || async {
        socks5_connect(ns, 31123, credentials, &own_goform, 80)
            .await
            .is_ok()
    })
    .await;
    assert!(flipped < LIVE, "the edit applied after {flipped:?}");
    let goform_page = format!("http://{own_goform}/");
    let args = ["-o", "/dev/null", "-w", "%{http_code}"];
    let through_goform = ["--socks5-hostname", "local:local-pw@127.0.0.1:31123"];
    let (_, status) = curl(ns, &[&args[..], &through_goform, &[&goform_page]].concat()).await;
    assert_eq!(status, "200", "the goform modem's own page");
    let host = lans[0].modem.to_string();
    let refused = socks5_connect(ns, 31121, credentials, &host, 80).await;
    assert_eq!(refused.err(), Some(NOT_ALLOWED), "is_local off");
}
