//! The ipfilter dialect over real HTTP: tokens, the five rule calls with every bad input,
//! paging with sort, expiry, access rights, and the admission check of the API's clients.

mod common;

use std::sync::Arc;

use common::ipfilter::{self, admin_token, assert_error, create, get, post};
use kordon_api::ipfilter::clock::ManualClock;
use kordon_model::ipfilter::book::{BookRule, ElementBook};
use kordon_model::ipfilter::snapshot::AdmissionHandle;
use kordon_model::ipfilter::{Expiry, RuleKind};
use serde_json::{json, Value};

fn sample(ip: &str, kind: i64) -> Value {
    json!({
        "ip": ip, "mask": "255.255.255.255", "expires_time": "2064-05-15 16:00",
        "type": kind, "description": "xxxx"
    })
}

#[tokio::test]
async fn tokens_expire_after_thirty_idle_seconds() {
    let clock = ManualClock::new();
    let server = ipfilter::start(clock.clone(), None).await;
    let (status, body) = server
        .call(
            "POST",
            "/api/account/credentials/verify",
            None,
            Some(json!({"username": "admin", "password": common::ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires"], json!(30));
    assert_eq!(body["errcode"], json!(0));
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32);
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));

    let list = |token: String| {
        let server = &server;
        async move {
            get(
                server,
                "/api/ip_filter/list",
                &[("access_token", &token), ("pagination", "1")],
            )
            .await
        }
    };
    clock.advance(29_000);
    assert_eq!(list(token.clone()).await.0, 200);
    clock.advance(29_000);
    assert_eq!(
        list(token.clone()).await.0,
        200,
        "each call extends the token"
    );
    clock.advance(30_000);
    let (status, body) = list(token.clone()).await;
    assert_error(status, &body, 401, 10005, None);
    assert!(
        body["errmsg"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "nothing but the error: {body}"
    );

    let (status, body) = list("0123456789ABCDEF0123456789ABCDEF".into()).await;
    assert_error(status, &body, 401, 10004, None);
    let (status, body) = list("not-a-token".into()).await;
    assert_error(status, &body, 401, 10003, None);
    let (status, body) = get(&server, "/api/ip_filter/list", &[("pagination", "1")]).await;
    assert_error(status, &body, 401, 10003, None);

    let (status, body) = server
        .call(
            "POST",
            "/api/account/credentials/verify",
            None,
            Some(json!({"username": "admin", "password": "wrong"})),
        )
        .await;
    assert_error(status, &body, 401, 10002, None);
    let (status, body) = server
        .call(
            "POST",
            "/api/account/credentials/verify",
            None,
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, 400, 10001, Some("username"));
}

#[tokio::test]
async fn only_superusers_and_users_given_the_right_get_tokens() {
    let server = ipfilter::start(ManualClock::new(), None).await;
    let (alice, _) = server.user("alice").await;
    let (status, body) = server
        .call(
            "POST",
            "/api/account/credentials/verify",
            None,
            Some(json!({"username": "alice", "password": "secret123"})),
        )
        .await;
    assert_error(status, &body, 403, 10006, None);

    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/ipfilter_access",
            json!({"id": [alice], "ipfilter_access": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = server
        .get(&server.admin, "/api/users/ipfilter_access")
        .await;
    assert_eq!(body["id"], json!([alice]));
    let token = ipfilter::token(&server, "alice", "secret123").await;
    let (status, _) = get(&server, "/api/ip_filter/list", &[("access_token", &token)]).await;
    assert_eq!(status, 200);

    // Unknown users make the whole change fail.
    let (status, _) = server
        .post(
            &server.admin,
            "/api/users/ipfilter_access",
            json!({"id": [alice, 999], "ipfilter_access": false}),
        )
        .await;
    assert_eq!(status, 404);

    // A deactivated user's token stops working at once.
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/active",
            json!({"id": [alice], "active": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&server, "/api/ip_filter/list", &[("access_token", &token)]).await;
    assert_error(status, &body, 401, 10004, None);
    assert!(
        body["errmsg"].as_str().unwrap().contains("inactive"),
        "{body}"
    );
}

#[tokio::test]
async fn create_show_update_destroy() {
    let server = ipfilter::start(ManualClock::new(), None).await;
    let token = admin_token(&server).await;
    let (status, created) = post(
        &server,
        &token,
        "/api/ip_filter/create",
        sample("192.168.1.46", 1),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().expect("id is a string").to_string();
    for (field, value) in [
        ("ip", json!("192.168.1.46")),
        ("mask", json!("255.255.255.255")),
        ("expires_time", json!("2064-05-15 16:00")),
        ("type", json!(1)),
        ("description", json!("xxxx")),
    ] {
        assert_eq!(created[field], value, "{field}: {created}");
    }

    let (status, shown) = get(
        &server,
        "/api/ip_filter/show",
        &[("access_token", &token), ("id", &id)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shown, created);

    let mut changed = sample("10.1.2.3", 2);
    changed["id"] = json!(id);
    changed["mask"] = json!("255.255.0.0");
    let (status, updated) = post(&server, &token, "/api/ip_filter/update", changed).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["id"], json!(id));
    assert_eq!(updated["ip"], json!("10.1.0.0"), "host bits cleared");
    assert_eq!(updated["mask"], json!("255.255.0.0"));
    assert_eq!(updated["type"], json!(2));

    // A permanent block needs no expiry and shows an empty one; numbers may come as strings.
    let (status, permanent) = post(
        &server,
        &token,
        "/api/ip_filter/create",
        json!({"ip": "2001:db8::", "mask": "32", "type": "0", "description": "v6"}),
    )
    .await;
    assert_eq!(status, 200, "{permanent}");
    assert_eq!(permanent["expires_time"], json!(""));
    assert_eq!(permanent["mask"], json!("ffff:ffff::"));

    let (status, body) = post(&server, &token, "/api/ip_filter/destroy", json!({"id": id})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(
        &server,
        "/api/ip_filter/show",
        &[("access_token", &token), ("id", &id)],
    )
    .await;
    assert_error(status, &body, 404, 10007, None);
    let (status, body) = post(&server, &token, "/api/ip_filter/destroy", json!({"id": id})).await;
    assert_error(status, &body, 404, 10007, None);
}

#[tokio::test]
async fn every_bad_input_is_refused_and_changes_nothing() {
    let server = ipfilter::start(ManualClock::new(), None).await;
    let token = admin_token(&server).await;
    let id = create(&server, &token, sample("192.0.2.1", 1)).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"ip": "192.0.2.300"}), "ip"),
        (json!({"ip": "example.com"}), "ip"),
        (json!({"mask": "255.0.255.0"}), "mask"),
        (json!({"mask": "255.255.255.256"}), "mask"),
        (json!({"mask": "ffff::"}), "mask"),
        (json!({"type": 3}), "type"),
        (json!({"type": "block"}), "type"),
        (json!({"expires_time": "15/05/2064"}), "expires_time"),
        (json!({"expires_time": "2064-02-30 10:00"}), "expires_time"),
        (json!({"expires_time": "2001-01-01 00:00"}), "expires_time"),
        (json!({"expires_time": ""}), "expires_time"),
        (json!({"description": "x".repeat(256)}), "description"),
    ];
    for (change, field) in cases {
        let mut rule = sample("198.51.100.7", 1);
        for (key, value) in change.as_object().unwrap() {
            rule[key] = value.clone();
        }
        let (status, body) = post(&server, &token, "/api/ip_filter/create", rule.clone()).await;
        assert_error(status, &body, 400, 10001, Some(field));
        rule["id"] = json!(id);
        let (status, body) = post(&server, &token, "/api/ip_filter/update", rule).await;
        assert_error(status, &body, 400, 10001, Some(field));
    }
    for missing in ["ip", "mask", "type"] {
        let mut rule = sample("198.51.100.7", 1);
        rule.as_object_mut().unwrap().remove(missing);
        let (status, body) = post(&server, &token, "/api/ip_filter/create", rule).await;
        assert_error(status, &body, 400, 10001, Some(missing));
    }

    // Duplicates: the same network and type, however spelt.
    let (status, body) = post(
        &server,
        &token,
        "/api/ip_filter/create",
        sample("192.0.2.1", 1),
    )
    .await;
    assert_error(status, &body, 409, 10008, Some("ip"));
    let mut spelt = sample("192.0.2.1", 1);
    spelt["mask"] = json!("32");
    let (status, body) = post(&server, &token, "/api/ip_filter/create", spelt).await;
    assert_error(status, &body, 409, 10008, Some("ip"));
    let other = create(&server, &token, sample("192.0.2.2", 1)).await;
    let mut clash = sample("192.0.2.1", 1);
    clash["id"] = json!(other);
    let (status, body) = post(&server, &token, "/api/ip_filter/update", clash).await;
    assert_error(status, &body, 409, 10008, Some("ip"));
    // A permit of the same network is not a duplicate of the block.
    create(&server, &token, sample("192.0.2.1", 2)).await;

    // Missing and malformed ids.
    for (path, body) in [
        ("/api/ip_filter/update", {
            let mut rule = sample("203.0.113.9", 1);
            rule["id"] = json!("424242");
            rule
        }),
        ("/api/ip_filter/destroy", json!({"id": "424242"})),
    ] {
        let (status, reply) = post(&server, &token, path, body).await;
        assert_error(status, &reply, 404, 10007, None);
    }
    let (status, body) = get(
        &server,
        "/api/ip_filter/show",
        &[("access_token", &token), ("id", "424242")],
    )
    .await;
    assert_error(status, &body, 404, 10007, None);
    let (status, body) = get(
        &server,
        "/api/ip_filter/show",
        &[("access_token", &token), ("id", "abc")],
    )
    .await;
    assert_error(status, &body, 400, 10001, Some("id"));
    let (status, body) = post(&server, &token, "/api/ip_filter/destroy", json!({})).await;
    assert_error(status, &body, 400, 10001, Some("id"));

    let (_, listed) = get(&server, "/api/ip_filter/list", &[("access_token", &token)]).await;
    assert_eq!(
        listed["total"],
        json!(3),
        "only the good rules are stored: {listed}"
    );
    let (_, shown) = get(
        &server,
        "/api/ip_filter/show",
        &[("access_token", &token), ("id", &id)],
    )
    .await;
    assert_eq!(
        shown["ip"],
        json!("192.0.2.1"),
        "refused updates changed nothing"
    );
}

#[tokio::test]
async fn list_pages_across_pages_in_every_sort() {
    let clock = ManualClock::new();
    let server = ipfilter::start(clock.clone(), None).await;
    let token = admin_token(&server).await;
    // 25 rules whose ids run opposite to their addresses.
    for i in 0..25 {
        let mut rule = sample(&format!("10.0.0.{}", 100 - i), (i % 3) as i64);
        rule["expires_time"] = json!(format!("2064-05-{:02} 16:00", 1 + (i * 7) % 25));
        create(&server, &token, rule).await;
    }
    let page = |number: &str, size: &str, sort: &str| {
        let (server, token) = (&server, token.clone());
        let (number, size, sort) = (number.to_string(), size.to_string(), sort.to_string());
        async move {
            let (status, body) = get(
                server,
                "/api/ip_filter/list",
                &[
                    ("access_token", &token),
                    ("pagination", &number),
                    ("pagesize", &size),
                    ("sort_by", &sort),
                ],
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let first = page("1", "10", "DEFAULT").await;
    assert_eq!(first["page_count"], json!(3));
    assert_eq!(first["count"], json!(10));
    assert_eq!(first["pagesize"], json!(10));
    assert_eq!(first["pagination"], json!(1));
    assert_eq!(first["sort_by"], json!("DEFAULT"));
    assert_eq!(page("3", "10", "DEFAULT").await["count"], json!(5));
    assert_eq!(page("4", "10", "DEFAULT").await["count"], json!(0));

    for sort in [
        "DEFAULT",
        "id",
        "-id",
        "ip",
        "-ip",
        "type",
        "-type",
        "expires_time",
        "-expires_time",
    ] {
        let mut rows: Vec<Value> = Vec::new();
        for number in ["1", "2", "3"] {
            rows.extend(
                page(number, "10", sort).await["ip_filters"]
                    .as_array()
                    .unwrap()
                    .clone(),
            );
        }
        assert_eq!(rows.len(), 25, "{sort}");
        let mut ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 25, "pages overlap in sort {sort}");
        let key = |row: &Value| -> (i64, i64) {
            let id: i64 = row["id"].as_str().unwrap().parse().unwrap();
            match sort.trim_start_matches('-') {
                "ip" => (
                    row["ip"]
                        .as_str()
                        .unwrap()
                        .rsplit('.')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap(),
                    0,
                ),
                "type" => (row["type"].as_i64().unwrap(), id),
                // Permanent blocks (no expiry) sort before every dated rule.
                "expires_time" => match row["expires_time"].as_str().unwrap() {
                    "" => (i64::MIN, id),
                    day => (day[8..10].parse().unwrap(), id),
                },
                _ => (id, 0),
            }
        };
        let keys: Vec<(i64, i64)> = rows.iter().map(key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        if sort.starts_with('-') {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "order of {sort}");
    }

    for (params, field) in [
        (("pagination", "0"), "pagination"),
        (("pagesize", "1001"), "pagesize"),
        (("pagesize", "x"), "pagesize"),
        (("sort_by", "colour"), "sort_by"),
    ] {
        let (status, body) = get(
            &server,
            "/api/ip_filter/list",
            &[("access_token", &token), params],
        )
        .await;
        assert_error(status, &body, 400, 10001, Some(field));
    }
}

#[tokio::test]
async fn expired_rules_leave_the_api_on_time() {
    let clock = ManualClock::new();
    let server = ipfilter::start(clock.clone(), None).await;
    let token = admin_token(&server).await;
    let soon = kordon_model::ipfilter::time::format(clock_seconds(&clock) + 120, chrono_tz::UTC);
    let mut rule = sample("203.0.113.5", 1);
    rule["expires_time"] = json!(soon);
    let id = create(&server, &token, rule.clone()).await;
    create(&server, &token, sample("203.0.113.6", 0)).await;
    let (_, body) = get(&server, "/api/ip_filter/list", &[("access_token", &token)]).await;
    assert_eq!(body["total"], json!(2));
    clock.advance(121_000);
    let token = admin_token(&server).await;
    let (_, body) = get(&server, "/api/ip_filter/list", &[("access_token", &token)]).await;
    assert_eq!(body["total"], json!(1), "{body}");
    let (status, _) = get(
        &server,
        "/api/ip_filter/show",
        &[("access_token", &token), ("id", &id)],
    )
    .await;
    assert_eq!(status, 404);
    // The expired twin does not block a new rule of the same network and type.
    rule["expires_time"] = json!("2064-05-15 16:00");
    create(&server, &token, rule).await;
}

fn clock_seconds(clock: &ManualClock) -> i64 {
    use kordon_api::ipfilter::clock::Clock;
    clock.now_seconds()
}

#[tokio::test]
async fn import_and_export_in_bulk() {
    let server = ipfilter::start(ManualClock::new(), None).await;
    let token = admin_token(&server).await;
    let rules: Vec<Value> = (0..3000)
        .map(|i| {
            let mut rule = sample(&format!("10.{}.{}.1", i / 256, i % 256), (i % 3) as i64);
            if i % 10 == 0 {
                rule["mask"] = json!("255.255.255.0");
            }
            rule
        })
        .collect();
    let (status, body) = post(
        &server,
        &token,
        "/api/ip_filter/import",
        json!({"ip_filters": rules}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], json!(3000));

    // A duplicate fails the whole import by default and names the item; skip leaves it out.
    let again = json!({"ip_filters": [sample("172.16.0.1", 1), rules[5].clone()]});
    let (status, body) = post(&server, &token, "/api/ip_filter/import", again.clone()).await;
    assert_error(status, &body, 409, 10008, Some("ip_filters[1].ip"));
    let mut skipping = again;
    skipping["duplicates"] = json!("skip");
    let (status, body) = post(&server, &token, "/api/ip_filter/import", skipping).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["created"].clone(), body["skipped"].clone()),
        (json!(1), json!(1))
    );

    // Bad items are all reported with their position; nothing is stored.
    let bad = json!({"ip_filters": [sample("1.2.3.4", 1), {"ip": "1.2.3.400", "mask": "32", "type": 0}, {"ip": "1.2.3.5", "mask": "255.0.255.0", "type": 9}]});
    let (status, body) = post(&server, &token, "/api/ip_filter/import", bad).await;
    assert_error(status, &body, 400, 10001, Some("ip_filters[1].ip"));
    assert!(
        body["errors"]["ip_filters[2].mask"].is_array()
            && body["errors"]["ip_filters[2].type"].is_array(),
        "{body}"
    );

    // A published blocklist as text, typed by the query.
    let text = "# drop list\n198.51.100.0/24 ; SBL1\n203.0.113.7\n\n2001:db8::/48 # v6\n";
    let response = server
        .client
        .post(server.url("/api/ip_filter/import"))
        .query(&[
            ("access_token", token.as_str()),
            ("type", "1"),
            ("expires_time", "2064-01-01 00:00"),
            ("description", "drop"),
        ])
        .header("Content-Type", "text/plain")
        .body(text)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["created"], json!(3), "{body}");

    let response = server
        .client
        .get(server.url("/api/ip_filter/export"))
        .query(&[("access_token", token.as_str()), ("format", "csv")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1 + 3004);
    assert!(
        csv.contains("198.51.100.0,255.255.255.0,1,2064-01-01 00:00,drop"),
        "{}",
        &csv[..200]
    );
    let (status, body) = get(
        &server,
        "/api/ip_filter/export",
        &[("access_token", &token)],
    )
    .await;
    assert_eq!(status, 200);
    let exported = body["ip_filters"].as_array().unwrap();
    assert_eq!(exported.len(), 3004);
    assert_eq!(exported[0]["id"], json!("1"));

    // The CSV goes back in as it came out.
    let fresh = ipfilter::start(ManualClock::new(), None).await;
    let fresh_token = admin_token(&fresh).await;
    let response = fresh
        .client
        .post(fresh.url("/api/ip_filter/import"))
        .query(&[("access_token", fresh_token.as_str())])
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["created"], json!(3004), "{body}");
}

#[tokio::test]
async fn blocked_clients_cannot_use_the_api_unless_permitted() {
    let handle = AdmissionHandle::new();
    let server = ipfilter::start(ManualClock::new(), Some(Arc::new(handle.clone()))).await;
    let token = admin_token(&server).await;
    let rule = |id, net: &str, kind| BookRule {
        id,
        network: net.parse().unwrap(),
        kind,
        expiry: Expiry::Never,
    };
    handle.publish(
        ElementBook::from_rules([rule(1, "127.0.0.0/8", RuleKind::PermanentBlock)]).snapshot(),
    );
    let (status, body) = get(&server, "/api/ip_filter/list", &[("access_token", &token)]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("blocked"));
    handle.publish(
        ElementBook::from_rules([
            rule(1, "127.0.0.0/8", RuleKind::PermanentBlock),
            rule(2, "127.0.0.1/32", RuleKind::Permit),
        ])
        .snapshot(),
    );
    let (status, _) = get(&server, "/api/ip_filter/list", &[("access_token", &token)]).await;
    assert_eq!(status, 200, "a permit wins over the block");
}
