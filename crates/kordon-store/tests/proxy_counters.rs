//! The proxy plane's counters: absolute totals saved in one transaction, read back whole or by
//! scope, skipped for deleted objects, gone with their object, silent on the change bus, and a
//! 10,000-profile flush timed.

use std::collections::BTreeMap;
use std::time::Instant;

use kordon_model::enums::{NetMode, ProxyAuth, ProxyType, ReconnectType};
use kordon_store::ports::PortFields;
use kordon_store::proxies::ProxyFields;
use kordon_store::proxy_counters::{LoginCounters, ProxyCounters};
use kordon_store::proxy_logins::LoginFields;
use kordon_store::users::UserFields;
use kordon_store::{Scope, Store};
use tokio::sync::broadcast::error::TryRecvError;

struct Fixture {
    store: Store,
    _dir: tempfile::TempDir,
}

async fn open() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    Fixture { store, _dir: dir }
}

async fn user(store: &Store, name: &str, superuser: bool) -> i64 {
    store
        .create_user(&UserFields {
            username: name.into(),
            password: Some("secret123".into()),
            email: format!("{name}@example.com"),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_superuser: superuser,
            phone: None,
            timezone: "Europe/Moscow".into(),
        })
        .await
        .unwrap()
        .id
}

async fn port(store: &Store, name: &str, users: &[i64]) -> i64 {
    store
        .create_port(&PortFields {
            name: name.into(),
            active: true,
            model_id: 1,
            net_mode: NetMode::parse("lte").unwrap(),
            monitoring_interval: 10,
            is_osfp: false,
            osfp_id: None,
            ifname: format!("if{name}"),
            mtu: 0,
            reconnect_type: ReconnectType::parse("time").unwrap(),
            reconnect_interval: 240,
            reconnect_min: 120,
            users: Some(users.to_vec()),
        })
        .await
        .unwrap()
        .id
}

async fn login(store: &Store, owner: i64, name: &str) -> i64 {
    store
        .create_proxy_login(
            owner,
            &LoginFields {
                login: name.into(),
                password: format!("{name}-pw"),
                bitrate_in: 0,
                bitrate_out: 0,
            },
        )
        .await
        .unwrap()
        .id
}

async fn proxy(store: &Store, port_id: i64, listen_port: i64, login_id: i64) -> i64 {
    store
        .create_proxy(
            Scope::All,
            &ProxyFields {
                port_id,
                active: true,
                proxy_type: ProxyType::parse("socks").unwrap(),
                auth: ProxyAuth::parse("strong").unwrap(),
                listen_port,
                is_local: false,
                maxconn: 0,
                is_allow: false,
                is_ports: false,
                auth_ids: vec![login_id],
                allow_ids: Vec::new(),
                target_ports: Vec::new(),
            },
        )
        .await
        .unwrap()
        .row
        .id
}

fn proxy_totals(proxy_id: i64, base: i64, refusals: &[(&str, i64)]) -> ProxyCounters {
    ProxyCounters {
        proxy_id,
        bytes_in: base * 1000,
        bytes_out: base * 100,
        connections: base,
        open: base % 7,
        refusals: refusals
            .iter()
            .map(|(reason, n)| (reason.to_string(), *n))
            .collect(),
        updated_at: 0,
    }
}

fn login_totals(login_id: i64, base: i64) -> LoginCounters {
    LoginCounters {
        login_id,
        bytes_in: base * 1000,
        bytes_out: base * 100,
        connections: base,
        updated_at: 0,
    }
}

/// Makes the stored stamps old, so a later write is told apart from none.
async fn age_stamps(store: &Store) {
    for table in ["proxy_counters", "proxy_login_counters"] {
        sqlx::query(&format!("UPDATE {table} SET updated_at = 1"))
            .execute(store.pool())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn totals_round_trip_and_overwrite() {
    let fx = open().await;
    let store = &fx.store;
    let boss = user(store, "boss", true).await;
    let modem = port(store, "a", &[]).await;
    let login_id = login(store, boss, "carol").await;
    let proxy_id = proxy(store, modem, 30001, login_id).await;

    let first = proxy_totals(proxy_id, 5, &[("auth", 3), ("site", 0), ("maxconn", 1)]);
    let before = kordon_store::now();
    store
        .save_proxy_counters(std::slice::from_ref(&first), &[login_totals(login_id, 5)])
        .await
        .unwrap();
    let (proxies, logins) = store.all_proxy_counters().await.unwrap();
    assert_eq!(proxies.len(), 1);
    let stored = &proxies[0];
    assert!(stored.updated_at >= before, "stamped by the store");
    assert_eq!(
        stored,
        &ProxyCounters {
            refusals: BTreeMap::from([("auth".into(), 3), ("maxconn".into(), 1)]),
            updated_at: stored.updated_at,
            ..first
        },
        "zero refusals are not stored"
    );
    assert_eq!(
        logins,
        vec![LoginCounters {
            updated_at: logins[0].updated_at,
            ..login_totals(login_id, 5)
        }]
    );

    // Totals replace totals; an unchanged row is left alone, a changed one restamped.
    age_stamps(store).await;
    store
        .save_proxy_counters(std::slice::from_ref(&first), &[login_totals(login_id, 9)])
        .await
        .unwrap();
    let (proxies, logins) = store.all_proxy_counters().await.unwrap();
    assert_eq!(proxies[0].updated_at, 1, "unchanged row not rewritten");
    assert_eq!(logins[0].bytes_in, 9000);
    assert!(logins[0].updated_at >= before);

    let mut open_changed = first.clone();
    open_changed.open += 1;
    store
        .save_proxy_counters(&[open_changed], &[])
        .await
        .unwrap();
    let (proxies, _) = store.all_proxy_counters().await.unwrap();
    assert_eq!(
        proxies[0].open,
        first.open + 1,
        "the gauge alone is a change"
    );
    assert!(proxies[0].updated_at >= before);
}

#[tokio::test]
async fn deleted_objects_are_skipped_and_rows_go_with_them() {
    let fx = open().await;
    let store = &fx.store;
    let boss = user(store, "boss", true).await;
    let modem = port(store, "a", &[]).await;
    let kept_login = login(store, boss, "kept").await;
    let gone_login = login(store, boss, "gone").await;
    let kept = proxy(store, modem, 30001, kept_login).await;
    let gone = proxy(store, modem, 30002, gone_login).await;
    let rows = [proxy_totals(kept, 1, &[]), proxy_totals(gone, 2, &[])];
    let login_rows = [login_totals(kept_login, 1), login_totals(gone_login, 2)];
    store.save_proxy_counters(&rows, &login_rows).await.unwrap();

    store.delete_proxies(Scope::All, &[gone]).await.unwrap();
    store
        .delete_proxy_logins(Scope::All, &[gone_login])
        .await
        .unwrap();
    let (proxies, logins) = store.all_proxy_counters().await.unwrap();
    assert_eq!(
        proxies.iter().map(|p| p.proxy_id).collect::<Vec<_>>(),
        [kept]
    );
    assert_eq!(
        logins.iter().map(|l| l.login_id).collect::<Vec<_>>(),
        [kept_login]
    );

    // The plane still counted the deleted ones when it flushed: no error, no row.
    let never = 999_999;
    store
        .save_proxy_counters(
            &[
                proxy_totals(kept, 3, &[]),
                proxy_totals(gone, 3, &[]),
                proxy_totals(never, 3, &[]),
            ],
            &[login_totals(gone_login, 3), login_totals(kept_login, 3)],
        )
        .await
        .unwrap();
    let (proxies, logins) = store.all_proxy_counters().await.unwrap();
    assert_eq!(proxies.len(), 1);
    assert_eq!(proxies[0].connections, 3);
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].connections, 3);
}

#[tokio::test]
async fn counter_writes_emit_no_change_event() {
    let fx = open().await;
    let store = &fx.store;
    let boss = user(store, "boss", true).await;
    let modem = port(store, "a", &[]).await;
    let login_id = login(store, boss, "carol").await;
    let proxy_id = proxy(store, modem, 30001, login_id).await;
    let mut events = store.subscribe();
    store
        .save_proxy_counters(
            &[proxy_totals(proxy_id, 4, &[])],
            &[login_totals(login_id, 4)],
        )
        .await
        .unwrap();
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));
}

#[tokio::test]
async fn scope_follows_delegation_and_ownership() {
    let fx = open().await;
    let store = &fx.store;
    let boss = user(store, "boss", true).await;
    let alice = user(store, "alice", false).await;
    let hers = port(store, "hers", &[alice]).await;
    let other = port(store, "other", &[]).await;
    let alice_login = login(store, alice, "alice_login").await;
    let boss_login = login(store, boss, "boss_login").await;
    // A profile on her port may use a login she does not own: she sees the profile only.
    let on_hers = proxy(store, hers, 30001, boss_login).await;
    let on_hers_own = proxy(store, hers, 30002, alice_login).await;
    let on_other = proxy(store, other, 30003, boss_login).await;
    store
        .save_proxy_counters(
            &[
                proxy_totals(on_hers, 1, &[]),
                proxy_totals(on_other, 2, &[]),
            ],
            &[login_totals(alice_login, 1), login_totals(boss_login, 2)],
        )
        .await
        .unwrap();

    let ids = |(p, l): (Vec<ProxyCounters>, Vec<LoginCounters>)| {
        (
            p.iter().map(|c| c.proxy_id).collect::<Vec<_>>(),
            l.iter().map(|c| c.login_id).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        ids(store.proxy_counters(Scope::All).await.unwrap()),
        (vec![on_hers, on_other], vec![alice_login, boss_login])
    );
    assert_eq!(
        ids(store.proxy_counters(Scope::User(alice)).await.unwrap()),
        (vec![on_hers], vec![alice_login]),
        "stored rows only: her second profile was never flushed"
    );

    // The listing adds never-flushed objects with zeros.
    let listing = store
        .proxy_counter_listing(Scope::User(alice), None)
        .await
        .unwrap();
    let listed: Vec<(i64, i64, i64)> = listing
        .proxies
        .iter()
        .map(|p| (p.counters.proxy_id, p.listen_port, p.counters.connections))
        .collect();
    assert_eq!(listed, [(on_hers, 30001, 1), (on_hers_own, 30002, 0)]);
    assert_eq!(listing.proxies[1].counters.updated_at, 0);
    let logins: Vec<&str> = listing.logins.iter().map(|l| l.login.as_str()).collect();
    assert_eq!(logins, ["alice_login"]);

    // One profile: its counters and its login, if the scope sees them.
    let one = store
        .proxy_counter_listing(Scope::User(alice), Some(on_hers_own))
        .await
        .unwrap();
    assert_eq!(one.proxies.len(), 1);
    assert_eq!(one.logins.len(), 1);
    assert_eq!(one.logins[0].counters.login_id, alice_login);
    let foreign_login = store
        .proxy_counter_listing(Scope::User(alice), Some(on_hers))
        .await
        .unwrap();
    assert_eq!(foreign_login.proxies.len(), 1);
    assert!(foreign_login.logins.is_empty());
    let hidden = store
        .proxy_counter_listing(Scope::User(alice), Some(on_other))
        .await
        .unwrap();
    assert!(hidden.proxies.is_empty() && hidden.logins.is_empty());
    let superuser_view = store
        .proxy_counter_listing(Scope::All, Some(on_other))
        .await
        .unwrap();
    assert_eq!(superuser_view.proxies[0].counters.connections, 2);
    assert_eq!(superuser_view.logins[0].login, "boss_login");
}

/// 10,000 profiles on 100 ports, each with its own login, inserted in one transaction.
async fn many_proxies(store: &Store, owner: i64, count: i64) -> (Vec<i64>, Vec<i64>) {
    let mut ports = Vec::new();
    for n in 0..100 {
        ports.push(port(store, &format!("m{n}"), &[]).await);
    }
    let mut tx = store.pool().begin().await.unwrap();
    let (mut proxies, mut logins) = (Vec::new(), Vec::new());
    for n in 0..count {
        let login_id: i64 = sqlx::query_scalar(
            "INSERT INTO proxy_logins (login, password, owner_id, date_create) \
             VALUES (?, 'pw', ?, 0) RETURNING id",
        )
        .bind(format!("user{n}"))
        .bind(owner)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        let proxy_id: i64 = sqlx::query_scalar(
            "INSERT INTO proxies (port_id, active, type, auth, listen_port, is_local, maxconn, \
             is_allow, is_ports, login_id, date_create, date_update) \
             VALUES (?, 1, 'socks', 'strong', ?, 0, 0, 0, 0, ?, 0, 0) RETURNING id",
        )
        .bind(ports[(n % 100) as usize])
        .bind(20_000 + n)
        .bind(login_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        proxies.push(proxy_id);
        logins.push(login_id);
    }
    tx.commit().await.unwrap();
    (proxies, logins)
}

#[tokio::test]
async fn ten_thousand_profiles_flush() {
    let fx = open().await;
    let store = &fx.store;
    let boss = user(store, "boss", true).await;
    let (proxy_ids, login_ids) = many_proxies(store, boss, 10_000).await;
    let reasons = [("auth", 2), ("connect", 1)];
    let totals = |round: i64| {
        let proxies: Vec<_> = proxy_ids
            .iter()
            .map(|id| proxy_totals(*id, round + id, &reasons))
            .collect();
        let logins: Vec<_> = login_ids
            .iter()
            .map(|id| login_totals(*id, round + id))
            .collect();
        (proxies, logins)
    };

    let (proxies, logins) = totals(1);
    let started = Instant::now();
    store.save_proxy_counters(&proxies, &logins).await.unwrap();
    let first = started.elapsed();

    let (proxies, logins) = totals(2);
    let started = Instant::now();
    store.save_proxy_counters(&proxies, &logins).await.unwrap();
    let changed = started.elapsed();

    let started = Instant::now();
    store.save_proxy_counters(&proxies, &logins).await.unwrap();
    let unchanged = started.elapsed();

    let started = Instant::now();
    let (read_proxies, read_logins) = store.all_proxy_counters().await.unwrap();
    let read = started.elapsed();
    assert_eq!(read_proxies.len(), 10_000);
    assert_eq!(read_logins.len(), 10_000);
    assert_eq!(read_proxies[17].connections, proxies[17].connections);
    assert_eq!(read_logins[9_999].bytes_out, logins[9_999].bytes_out);

    let started = Instant::now();
    let listing = store.proxy_counter_listing(Scope::All, None).await.unwrap();
    let listed = started.elapsed();
    assert_eq!(listing.proxies.len(), 10_000);

    println!(
        "10,000 profiles + 10,000 logins: first save {first:?}, changed save {changed:?}, \
         unchanged save {unchanged:?}, read all {read:?}, listing {listed:?}"
    );
    // A flush runs every ~2 s; even an unoptimised build must stay well inside that.
    assert!(changed.as_secs_f64() < 2.0, "flush took {changed:?}");
}
