//! The table follows the store: each kind of change shows within a second, and the diff
//! names exactly the listen ports that changed.

mod table_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kordon_proxy::table::{follow, ProxyTable, TableDiff, TableHandle};
use kordon_store::proxies::ProxyFields;
use kordon_store::proxy_logins::LoginFields;
use kordon_store::Scope;
use table_support::{strong_http, Farm};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Waits (at most one second) for the next table and returns it with its diff from `before`.
async fn next_table(
    updates: &mut watch::Receiver<Arc<ProxyTable>>,
    before: &ProxyTable,
) -> (Arc<ProxyTable>, TableDiff) {
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(1), updates.changed())
        .await
        .expect("the table was not rebuilt within a second")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    let table = updates.borrow_and_update().clone();
    let diff = before.diff(&table);
    (table, diff)
}

fn ports(list: &[u16]) -> Vec<u16> {
    list.to_vec()
}

#[tokio::test]
async fn changes_apply_within_a_second() {
    let farm = Farm::new().await;
    let modem = farm.port("kpf0", true).await;
    let login = farm.login("bob", 0, 0).await;
    let sites = farm.site_list(&["example.com"]).await;
    let first = farm.profile(strong_http(modem, 32001, login)).await;
    farm.profile(ProxyFields {
        allow_ids: vec![sites],
        ..strong_http(modem, 32002, login)
    })
    .await;

    let handle = TableHandle::new(ProxyTable::load(&farm.store).await.unwrap());
    let mut updates = handle.subscribe();
    updates.mark_unchanged();
    let shutdown = CancellationToken::new();
    let follower = tokio::spawn(follow(farm.store.clone(), handle.clone(), shutdown.clone()));
    let mut table = handle.current();

    // A new profile appears.
    farm.profile(strong_http(modem, 32003, login)).await;
    let (next, diff) = next_table(&mut updates, &table).await;
    assert_eq!(diff.added, ports(&[32003]));
    assert!(diff.removed.is_empty() && diff.changed.is_empty());
    table = next;

    // A disabled profile leaves the table.
    farm.store
        .set_proxies_active(Scope::All, &[first], false)
        .await
        .unwrap();
    let (next, diff) = next_table(&mut updates, &table).await;
    assert_eq!(diff.removed, ports(&[32001]));
    assert!(diff.added.is_empty() && diff.changed.is_empty());
    table = next;

    // A site list edit changes only the profile that uses it.
    farm.store
        .update_site_list(
            Scope::All,
            sites,
            "sites",
            &["example.com".to_string(), "example.org".to_string()],
        )
        .await
        .unwrap();
    let (next, diff) = next_table(&mut updates, &table).await;
    assert_eq!(diff.changed, ports(&[32002]));
    assert!(diff.added.is_empty() && diff.removed.is_empty());
    assert!(next
        .profile(32002)
        .unwrap()
        .sites
        .permits_domain("www.example.org"));
    table = next;

    // A bitrate change reaches the login's rates without touching any profile.
    farm.store
        .update_proxy_login(
            Scope::All,
            login,
            &LoginFields {
                login: "bob".into(),
                password: "bob-pw".into(),
                bitrate_in: 1_000_000,
                bitrate_out: 0,
            },
        )
        .await
        .unwrap();
    let (next, diff) = next_table(&mut updates, &table).await;
    assert!(diff.is_empty());
    assert_eq!(next.login_rates(login).unwrap().bitrate_in, 1_000_000);
    table = next;

    // A burst of writes folds into few rebuilds and ends in the final state.
    for listen_port in 32010..32020 {
        farm.profile(strong_http(modem, listen_port, login)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if handle.current().len() == table.len() + 10 {
            break;
        }
        assert!(Instant::now() < deadline, "burst not applied within 1 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        table.diff(&handle.current()).added,
        (32010..32020).collect::<Vec<u16>>()
    );

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), follower)
        .await
        .expect("follow did not stop on shutdown")
        .unwrap();
}

#[tokio::test]
async fn unchanged_rebuild_wakes_nobody() {
    let farm = Farm::new().await;
    let modem = farm.port("kpf1", true).await;
    let login = farm.login("carol", 0, 0).await;
    farm.profile(strong_http(modem, 32101, login)).await;
    let table = ProxyTable::load(&farm.store).await.unwrap();
    let handle = TableHandle::new(table.clone());
    assert!(!handle.replace(table.clone()));
    let before = handle.current();
    let again = ProxyTable::load(&farm.store).await.unwrap();
    assert!(!handle.replace(again));
    assert!(Arc::ptr_eq(&before, &handle.current()));
}
