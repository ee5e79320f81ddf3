//! The table built from a real store: which profiles it serves and what each one carries.

mod table_support;

use std::net::IpAddr;

use kordon_model::enums::{ProxyAuth, ProxyType};
use kordon_proxy::limits::LoginBuckets;
use kordon_proxy::table::{Auth, ProxyTable, DEFAULT_MAXCONN};
use kordon_store::proxies::ProxyFields;
use table_support::{strong_http, Farm};

#[tokio::test]
async fn serves_active_profiles_with_their_rules() {
    let farm = Farm::new().await;
    let modem = farm.port("kpt0", true).await;
    let parked = farm.port("kpt1", false).await;
    let login = farm.login("alice", 800_000, 400_000).await;
    let office = farm.client_ip("10.1.2.3").await;
    let home = farm.client_ip("2001:db8::7").await;
    let sites = farm.site_list(&["example.com", "yandex.ru"]).await;
    let more_sites = farm.site_list(&["example.com", "vk.com"]).await;

    let strong = farm
        .profile(ProxyFields {
            allow_ids: vec![sites, more_sites],
            target_ports: vec![80, 443],
            is_local: true,
            ..strong_http(modem, 31001, login)
        })
        .await;
    let iponly = farm
        .profile(ProxyFields {
            proxy_type: ProxyType::Socks,
            auth: ProxyAuth::IpOnly,
            auth_ids: vec![office, home],
            maxconn: 5,
            is_allow: false,
            is_ports: false,
            target_ports: vec![25],
            ..strong_http(parked, 31002, 0)
        })
        .await;
    farm.profile(ProxyFields {
        active: false,
        ..strong_http(modem, 31003, login)
    })
    .await;

    let table = ProxyTable::load(&farm.store).await.unwrap();
    assert_eq!(table.listen_ports().collect::<Vec<_>>(), vec![31001, 31002]);

    let first = table.profile(31001).unwrap();
    assert_eq!(first.id, strong);
    assert_eq!(first.proxy_type, ProxyType::Http);
    assert_eq!(
        (first.egress.port_id, first.egress.ifname.as_str()),
        (modem, "kpt0")
    );
    assert!(first.egress.active && first.is_local);
    assert_eq!(first.maxconn, DEFAULT_MAXCONN);
    match &first.auth {
        Auth::Strong(credentials) => {
            assert_eq!(credentials.login_id, login);
            assert!(credentials.accepts(b"alice", b"alice-pw"));
            assert!(!credentials.accepts(b"alice", b"wrong"));
        }
        other => panic!("expected strong auth, got {other:?}"),
    }
    // Two lists sharing a domain: three distinct domains, allow-only.
    assert_eq!(first.sites.domains.len(), 3);
    assert!(first.sites.permits_domain("www.example.com"));
    assert!(first.sites.permits_domain("vk.com"));
    assert!(!first.sites.permits_domain("badexample.com"));
    assert!(!first.sites.permits_domain("google.com"));
    assert!(first.target_ports.permits(443) && !first.target_ports.permits(8080));
    let rates = table.login_rates(login).unwrap();
    assert_eq!((rates.bitrate_in, rates.bitrate_out), (800_000, 400_000));

    // A profile on an inactive port is served (the listener stays) and says so.
    let second = table.profile(31002).unwrap();
    assert_eq!(second.id, iponly);
    assert_eq!(second.proxy_type, ProxyType::Socks);
    assert!(!second.egress.active);
    assert_eq!(second.maxconn, 5);
    assert_eq!(second.auth.login_id(), None);
    assert!(second
        .auth
        .admits_address("10.1.2.3".parse::<IpAddr>().unwrap()));
    assert!(second
        .auth
        .admits_address("::ffff:10.1.2.3".parse::<IpAddr>().unwrap()));
    assert!(second
        .auth
        .admits_address("2001:db8::7".parse::<IpAddr>().unwrap()));
    assert!(!second
        .auth
        .admits_address("10.1.2.4".parse::<IpAddr>().unwrap()));
    // No site list: no site rule; port 25 denied, the rest allowed.
    assert!(second.sites.permits_domain("anything.org"));
    assert!(!second.target_ports.permits(25) && second.target_ports.permits(443));

    // The login registry follows the table's rates.
    let buckets = LoginBuckets::new();
    buckets.apply(&table);
    let limit = buckets.get(login).unwrap();
    assert_eq!(
        (
            limit.inbound.bits_per_second(),
            limit.outbound.bits_per_second()
        ),
        (800_000, 400_000)
    );
}

#[tokio::test]
async fn empty_store_gives_empty_table() {
    let farm = Farm::new().await;
    let table = ProxyTable::load(&farm.store).await.unwrap();
    assert!(table.is_empty());
    assert!(table.diff(&table).is_empty());
}
