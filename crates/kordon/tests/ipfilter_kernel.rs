//! The ip filter made real, as root in network namespaces: a client namespace reaches kordon's
//! API; a block for its address, or for a network covering it, stops it in the kernel (its
//! SYN goes unanswered); a permit lets it through again; a time-limited block lets it back in
//! after expiry; IPv6 alike; and a restart rebuilds exactly the same nftables table.

mod ipfilter_support;

use std::time::Duration;

use ipfilter_support::*;
use serde_json::json;

const FAR: &str = "2064-05-15 16:00";

#[tokio::test]
async fn blocks_stop_clients_in_the_kernel_and_permits_win() {
    if !root_or_skip() {
        return;
    }
    let pair = Pair::new(&format!("kib{}", std::process::id() % 100_000));
    let data = tempfile::tempdir().unwrap();
    let table = "kordon_ipf_block";
    let kordon = Kordon::spawn(&pair.server, data.path(), table, &[]);
    let key = farm_key(&pair.server).await;
    // Rules arrive in the kernel as one transaction each: wait for the table first.
    let (_, status) = api(
        &pair.server,
        "GET",
        "/api/devices/services/status",
        Some(&key),
        None,
    );
    assert_eq!(status["ipfilter"], json!(true), "{status}");

    // Without a token the API answers 401: the client reaches it.
    expect_reach(&pair, SERVER_V4, Reach::Answered(401), "no rules").await;
    expect_reach(&pair, SERVER_V6, Reach::Answered(401), "no rules, IPv6").await;

    let host = create(&pair.server, CLIENT_V4, "255.255.255.255", 0, "");
    expect_reach(&pair, SERVER_V4, Reach::Silent, "a /32 block").await;
    expect_reach(
        &pair,
        SERVER_V6,
        Reach::Answered(401),
        "IPv6 is another address",
    )
    .await;
    destroy(&pair.server, &host);
    expect_reach(&pair, SERVER_V4, Reach::Answered(401), "block destroyed").await;

    let network = create(&pair.server, "10.77.0.0", "255.255.255.0", 1, FAR);
    expect_reach(&pair, SERVER_V4, Reach::Silent, "a covering /24 block").await;
    let permit = create(&pair.server, CLIENT_V4, "255.255.255.255", 2, FAR);
    expect_reach(&pair, SERVER_V4, Reach::Answered(401), "the permit wins").await;
    destroy(&pair.server, &permit);
    expect_reach(&pair, SERVER_V4, Reach::Silent, "permit destroyed").await;
    destroy(&pair.server, &network);
    expect_reach(&pair, SERVER_V4, Reach::Answered(401), "all destroyed").await;

    let v6 = create(&pair.server, "fd77::", "ffff:ffff:ffff:ffff::", 0, "");
    expect_reach(&pair, SERVER_V6, Reach::Silent, "an IPv6 /64 block").await;
    expect_reach(&pair, SERVER_V4, Reach::Answered(401), "IPv4 still passes").await;
    destroy(&pair.server, &v6);

    // A time-limited block: the kernel lets the client back in when it expires, and the
    // rule leaves the API.
    let timed = create(
        &pair.server,
        CLIENT_V4,
        "255.255.255.255",
        1,
        &in_seconds(4),
    );
    expect_reach(&pair, SERVER_V4, Reach::Silent, "a block for 4 s").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    expect_reach(&pair, SERVER_V4, Reach::Answered(401), "the block expired").await;
    let (status, _) = ipfilter(&pair.server, "/api/ip_filter/show", json!({"id": timed}));
    assert_eq!(status, 404, "the expired rule is gone");

    // nft itself says what kordon put there: the table's sets and chains, nothing else.
    let shape = table_shape(&table_json(&pair.server, table).expect("table"));
    assert!(shape.get("chain input").is_some(), "{shape}");
    kordon.terminate().await;
    assert!(
        table_json(&pair.server, table).is_none(),
        "a clean stop removes the table"
    );
}

#[tokio::test]
async fn restart_rebuilds_the_same_table() {
    if !root_or_skip() {
        return;
    }
    let pair = Pair::new(&format!("kir{}", std::process::id() % 100_000));
    let data = tempfile::tempdir().unwrap();
    let table = "kordon_ipf_restart";
    let envs = [("KORDON_IPFILTER_HOOKS", "input,forward")];
    let kordon = Kordon::spawn(&pair.server, data.path(), table, &envs);
    farm_key(&pair.server).await;
    for (ip, mask, kind, expires) in [
        ("192.0.2.7", "255.255.255.255", 0, ""),
        ("192.0.2.0", "255.255.255.0", 1, FAR),
        ("198.51.100.0", "255.255.254.0", 2, FAR),
        ("2001:db8::", "32", 1, FAR),
        ("2001:db8:1::5", "128", 2, "2030-01-01 00:00"),
    ] {
        create(&pair.server, ip, mask, kind, expires);
    }
    // A rule replaced and one destroyed must leave no trace either.
    let gone = create(&pair.server, "203.0.113.0", "255.255.255.0", 0, "");
    destroy(&pair.server, &gone);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = table_shape(&table_json(&pair.server, table).expect("table"));
    assert!(before.get("set block4_24").is_some(), "{before}");
    assert!(before
        .get("set block4_24")
        .is_some_and(|s| s["elements"].as_array().unwrap().len() == 1));
    assert!(before.get("rules forward").is_some(), "{before}");
    kordon.terminate().await;

    let _kordon = Kordon::spawn(&pair.server, data.path(), table, &envs);
    farm_key(&pair.server).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        if let Some(json) = table_json(&pair.server, table) {
            break table_shape(&json);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no table after restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(before, after);
}
