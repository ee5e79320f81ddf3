//! Where nftables cannot be used, the API says so (`services/status`, `ip_filter/status`), the
//! log says it once and loudly, and kordon's own listener still refuses blocked clients.

mod ipfilter_support;

use ipfilter_support::*;
use serde_json::json;

#[tokio::test]
async fn without_nftables_kordon_still_refuses_blocked_clients() {
    if !root_or_skip() {
        return;
    }
    let pair = Pair::new(&format!("kin{}", std::process::id() % 100_000));
    let data = tempfile::tempdir().unwrap();
    let table = "kordon_ipf_nonft";
    // No `nft` on kordon's PATH: as on a machine without the nftables package.
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().to_str().unwrap().to_string();
    let kordon = Kordon::spawn(&pair.server, data.path(), table, &[("PATH", &path)]);
    let key = farm_key(&pair.server).await;

    let (status, services) = api(
        &pair.server,
        "GET",
        "/api/devices/services/status",
        Some(&key),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(services["ipfilter"], json!(true), "{services}");
    assert_eq!(services["ipfilter-nft"], json!(false), "{services}");
    let (status, report) = ipfilter(&pair.server, "/api/ip_filter/status", json!({}));
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["enforcement"]["kernel"]["active"], json!(false));
    assert!(
        report["enforcement"]["kernel"]["reason"]
            .as_str()
            .unwrap()
            .contains("nftables unavailable"),
        "{report}"
    );
    assert_eq!(report["enforcement"]["in_process"]["active"], json!(true));

    expect_reach(&pair, SERVER_V4, Reach::Answered(401), "no rules").await;
    let id = create(&pair.server, "10.77.0.0", "255.255.255.0", 0, "");
    // The kernel lets the SYN in; kordon answers 403 itself.
    expect_reach(&pair, SERVER_V4, Reach::Answered(403), "blocked in process").await;
    create(
        &pair.server,
        CLIENT_V4,
        "255.255.255.255",
        2,
        "2064-05-15 16:00",
    );
    expect_reach(&pair, SERVER_V4, Reach::Answered(401), "the permit wins").await;
    destroy(&pair.server, &id);
    assert!(table_json(&pair.server, table).is_none());

    let loud: Vec<String> = kordon
        .log()
        .into_iter()
        .filter(|line| line.contains("does NOT enforce"))
        .collect();
    assert_eq!(loud.len(), 1, "said once: {loud:?}");
    assert!(loud[0].contains("ERROR"), "{}", loud[0]);
}
