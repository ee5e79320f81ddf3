//! The ipfilter table's scripts against the real kernel, in a network namespace of its own
//! (needs root): a rebuild, deltas that add groups, move and drop elements, removal of an
//! element the kernel already expired, and the removal of the table.

use std::collections::BTreeSet;
use std::process::Command;

use kordon_model::ipfilter::book::{BookRule, ElementBook, Group};
use kordon_model::ipfilter::{Expiry, RuleKind};
use kordon_netfilter::ipfilter::{Hook, IpFilterTable};
use kordon_netfilter::Nft;
use serde_json::Value;

/// A network namespace deleted on drop.
struct Namespace(String);

impl Namespace {
    fn new(name: &str) -> Self {
        let _ = Command::new("ip").args(["netns", "del", name]).status();
        let status = Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .expect("ip runs");
        assert!(status.success(), "ip netns add {name}");
        Self(name.to_string())
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn needs_root() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "this test needs root, and CI=true"
    );
    eprintln!("skipped: needs root");
    false
}

fn rule(id: i64, net: &str, kind: RuleKind, expiry: Expiry) -> BookRule {
    BookRule {
        id,
        network: net.parse().unwrap(),
        kind,
        expiry,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Each set's name and its element addresses, from `nft -j list table`.
async fn sets(nft: &Nft, table: &IpFilterTable) -> Vec<(String, Vec<String>)> {
    let json: Value =
        serde_json::from_str(&nft.list_table_json("inet", &table.name).await.unwrap()).unwrap();
    let mut sets = Vec::new();
    for item in json["nftables"].as_array().unwrap() {
        let Some(set) = item.get("set") else { continue };
        let mut elements: Vec<String> = set["elem"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| match e {
                        Value::String(address) => address.clone(),
                        other => other["elem"]["val"].as_str().unwrap_or("?").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        elements.sort();
        sets.push((set["name"].as_str().unwrap().to_string(), elements));
    }
    sets.sort();
    sets
}

#[tokio::test]
async fn scripts_apply_to_the_kernel() {
    if !needs_root() {
        return;
    }
    let namespace = Namespace::new(&format!("knf{}", std::process::id()));
    let nft = Nft::in_namespace(&namespace.0);
    let table = IpFilterTable {
        name: "kordon_ipfilter_test".into(),
        hooks: vec![Hook::Input, Hook::Forward],
        priority: -10,
    };
    // Far enough for nft to need days in the timeout (more than 2^32 ms).
    let far = Expiry::At(now_ms() / 1000 + 40 * 365 * 86_400);
    let mut book = ElementBook::from_rules([
        rule(1, "10.0.0.0/8", RuleKind::PermanentBlock, Expiry::Never),
        rule(2, "10.1.2.3/32", RuleKind::Permit, far),
        rule(3, "2001:db8::/32", RuleKind::TimedBlock, far),
    ]);
    nft.run(&table.rebuild_script(&book, now_ms()))
        .await
        .unwrap();
    // Rebuilding again replaces the table rather than failing or doubling it.
    nft.run(&table.rebuild_script(&book, now_ms()))
        .await
        .unwrap();
    assert_eq!(
        sets(&nft, &table).await,
        vec![
            ("block4_8".to_string(), vec!["10.0.0.0".to_string()]),
            ("block6_32".to_string(), vec!["2001:db8::".to_string()]),
            ("permit4_32".to_string(), vec!["10.1.2.3".to_string()]),
        ]
    );

    // A new group, an element that expires in the kernel, then its removal.
    let groups = |book: &ElementBook| book.groups().collect::<BTreeSet<Group>>();
    let before = groups(&book);
    let soon = Expiry::At(now_ms() / 1000 + 2);
    let short = rule(4, "192.0.2.0/24", RuleKind::TimedBlock, soon);
    let changes = vec![book.insert(short).unwrap()];
    nft.run(&table.delta_script(&changes, &before, &groups(&book), now_ms()))
        .await
        .unwrap();
    assert!(sets(&nft, &table)
        .await
        .contains(&("block4_24".to_string(), vec!["192.0.2.0".to_string()])));
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert!(
        sets(&nft, &table)
            .await
            .contains(&("block4_24".to_string(), vec![])),
        "the kernel expired the element"
    );
    // Removing the rule whose element the kernel already expired, together with another
    // rule of the same group, still applies.
    let before = groups(&book);
    let other = rule(5, "198.51.100.0/24", RuleKind::TimedBlock, far);
    let changes = vec![book.remove(short).unwrap(), book.insert(other).unwrap()];
    nft.run(&table.delta_script(&changes, &before, &groups(&book), now_ms()))
        .await
        .unwrap();
    let before = groups(&book);
    let changes = vec![
        book.remove(other).unwrap(),
        book.remove(rule(2, "10.1.2.3/32", RuleKind::Permit, far))
            .unwrap(),
    ];
    nft.run(&table.delta_script(&changes, &before, &groups(&book), now_ms()))
        .await
        .unwrap();
    assert_eq!(
        sets(&nft, &table).await,
        vec![
            ("block4_8".to_string(), vec!["10.0.0.0".to_string()]),
            ("block6_32".to_string(), vec!["2001:db8::".to_string()]),
        ]
    );

    nft.run(&table.remove_script()).await.unwrap();
    assert!(nft.list_table_json("inet", &table.name).await.is_err());
    nft.run(&table.remove_script()).await.unwrap();
}
