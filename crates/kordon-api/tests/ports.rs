//! Ports (modems) over real HTTP: add, edit, list with filters and live state, batch switches,
//! rotation requests, and isolation between panel users.

mod common;

use common::{assert_field_error, TestServer};
use kordon_store::ports::PortState;
use kordon_store::users::UserFields;
use serde_json::{json, Value};

const ROTATION_UNAVAILABLE: &str =
    "IP rotation is not available: the 'reconnect' service is not running.";

/// The document's `modem/add` sample with another name and interface.
fn sample(name: &str, ifname: &str) -> Value {
    json!({
        "name": name,
        "ifname": ifname,
        "type": 4,
        "active": true,
        "is_osfp": false,
        "osfp": null,
        "monitoring_interval": 3,
        "mtu": 0,
        "net_mode": "lte",
        "reconnect_interval": 240,
        "reconnect_type": "time_link",
        "reconnect_min": 20,
        "users": []
    })
}

/// A non-super panel user made in the store (the users API is built elsewhere), logged in.
async fn panel_user(server: &TestServer, username: &str, timezone: &str) -> (i64, String) {
    let user = server
        .store
        .create_user(&UserFields {
            username: username.into(),
            password: Some("secret123".into()),
            email: format!("{username}@example.com"),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_superuser: false,
            phone: None,
            timezone: timezone.into(),
        })
        .await
        .expect("user created");
    let key = server.login(username, "secret123").await;
    (user.id, key)
}

async fn add_port(server: &TestServer, body: Value) -> Value {
    let (status, reply) = server
        .post(&server.admin, "/api/devices/modem/add", body)
        .await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply["id"].is_i64(), "port not created: {reply}");
    reply
}

async fn list(server: &TestServer, key: &str, filter: Value) -> Vec<Value> {
    let (status, reply) = server
        .post(key, "/api/devices/modem/list", json!({ "filter": filter }))
        .await;
    assert_eq!(status, 200, "{reply}");
    reply
        .as_array()
        .unwrap_or_else(|| panic!("modem/list is a bare array: {reply}"))
        .clone()
}

fn ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

fn link_token(port: &Value) -> String {
    let link = port["reconnect_link"].as_str().unwrap();
    let token = link
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap();
    token.to_string()
}

#[tokio::test]
async fn add_replies_with_the_documented_object() {
    let server = TestServer::start().await;
    let reply = add_port(&server, sample("p-7", "enp6s0u1u1u2u3")).await;
    let id = reply["id"].as_i64().unwrap();
    let token = link_token(&reply);
    assert_eq!(
        reply,
        json!({
            "id": id,
            "name": "p-7",
            "type": 4,
            "active": true,
            "is_osfp": false,
            "ifname": "enp6s0u1u1u2u3",
            "osfp": null,
            "reconnect_interval": 240,
            "reconnect_type": "time_link",
            "reconnect_min": 20,
            "users": [],
            "net_mode": "lte",
            "monitoring_interval": 3,
            "mtu": 0,
            "reconnect_link": format!("/api/devices/modem/reconnect?token={token}&id={id}"),
        })
    );
    assert_eq!(token.len(), 40);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));

    let (status, read) = server
        .get(&server.admin, &format!("/api/devices/modem/edit/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(read, reply, "GET edit reads what add replied");

    // The interface does not exist on this machine: the port is kept, not connected.
    let items = list(&server, &server.admin, json!({})).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["conn_dev"], false);
    assert_eq!(items[0]["ifname"], "enp6s0u1u1u2u3");

    // A second port gets its own link token.
    let other = add_port(&server, sample("p-8", "eth9")).await;
    assert_ne!(link_token(&other), token);
}

#[tokio::test]
async fn add_accepts_lenient_input_and_delegates() {
    let server = TestServer::start().await;
    let (alice, _) = panel_user(&server, "alice1", "Europe/Moscow").await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/add/",
            json!({
                "name": "  Порт-10 ",
                "ifname": "wwan0",
                "type": "1",
                "active": "1",
                "is_osfp": "true",
                "osfp": "7",
                "monitoring_interval": "5",
                "mtu": "1500",
                "net_mode": "umts",
                "reconnect_type": "link",
                "reconnect_min": "120",
                "users": [alice.to_string(), alice],
                "unknown_field": {"ignored": true}
            }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["name"], "Порт-10");
    assert_eq!(reply["type"], 1);
    assert_eq!(reply["active"], true);
    assert_eq!(reply["is_osfp"], true);
    assert_eq!(reply["osfp"], 7);
    assert_eq!(reply["monitoring_interval"], 5);
    assert_eq!(reply["mtu"], 1500);
    assert_eq!(reply["net_mode"], "umts");
    assert_eq!(reply["reconnect_type"], "link");
    assert_eq!(
        reply["reconnect_interval"], 0,
        "link-only ports need no interval"
    );
    assert_eq!(reply["reconnect_min"], 120);
    assert_eq!(reply["users"], json!([alice]), "repeated ids count once");
    assert!(reply.get("unknown_field").is_none());

    // A form-encoded body works as well.
    let response = server
        .client
        .post(server.url("/api/devices/modem/add"))
        .header("Authorization", format!("Token {}", server.admin))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(
            "name=form&ifname=wwan1&type=2&active=0&is_osfp=0&monitoring_interval=3&mtu=0\
             &net_mode=lte&reconnect_type=time&reconnect_interval=60&reconnect_min=0",
        )
        .send()
        .await
        .unwrap();
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["name"], "form", "{reply}");
    assert_eq!(reply["active"], false);
    assert_eq!(reply["reconnect_interval"], 60);
    assert_eq!(reply["users"], json!([]));
}

#[tokio::test]
async fn add_reports_every_problem_at_once_and_writes_nothing() {
    let server = TestServer::start().await;
    let (status, reply) = server
        .post(&server.admin, "/api/devices/modem/add", json!({}))
        .await;
    for field in [
        "name",
        "active",
        "type",
        "net_mode",
        "monitoring_interval",
        "is_osfp",
        "ifname",
        "mtu",
        "reconnect_type",
        "reconnect_min",
    ] {
        assert_field_error(status, &reply, field);
    }

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/add",
            json!({
                "name": "   ",
                "ifname": "a/b",
                "type": "x",
                "active": "maybe",
                "is_osfp": true,
                "osfp": null,
                "monitoring_interval": 2,
                "mtu": 100,
                "net_mode": "5g",
                "reconnect_interval": 0,
                "reconnect_type": "time",
                "reconnect_min": -1,
                "users": "nobody"
            }),
        )
        .await;
    for field in [
        "name",
        "ifname",
        "type",
        "active",
        "osfp",
        "monitoring_interval",
        "mtu",
        "net_mode",
        "reconnect_interval",
        "reconnect_min",
        "users",
    ] {
        assert_field_error(status, &reply, field);
    }
    assert_eq!(
        reply["errors"]["net_mode"][0],
        "\"5g\" is not a valid choice; use \"lte\", \"umts\"."
    );
    assert_eq!(
        reply["errors"]["monitoring_interval"][0],
        "Ensure this value is greater than or equal to 3."
    );

    // References: unknown model, fingerprint and user; a timed port without an interval.
    let mut body = sample("p-1", "eth1");
    body["type"] = json!(9);
    body["osfp"] = json!(999);
    body["users"] = json!([4242]);
    body["reconnect_type"] = json!("time");
    body.as_object_mut().unwrap().remove("reconnect_interval");
    let (status, reply) = server
        .post(&server.admin, "/api/devices/modem/add", body)
        .await;
    assert_field_error(status, &reply, "type");
    assert_field_error(status, &reply, "osfp");
    assert_field_error(status, &reply, "users");
    assert_field_error(status, &reply, "reconnect_interval");
    assert_eq!(
        reply["errors"]["type"][0],
        "Invalid pk \"9\" - object does not exist."
    );
    assert_eq!(
        reply["errors"]["users"][0],
        "Invalid pk \"4242\" - object does not exist."
    );

    assert!(list(&server, &server.admin, json!(null)).await.is_empty());
}

#[tokio::test]
async fn interface_names_are_unique_among_ports() {
    let server = TestServer::start().await;
    let first = add_port(&server, sample("p-1", "eth1")).await;
    let second = add_port(&server, sample("p-2", "eth2")).await;

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/add",
            sample("p-3", "eth1"),
        )
        .await;
    assert_field_error(status, &reply, "ifname");
    assert_eq!(
        reply["errors"]["ifname"][0],
        "This interface is already used by another port."
    );

    let path = format!("/api/devices/modem/edit/{}", second["id"]);
    let (status, reply) = server
        .post(&server.admin, &path, sample("p-2", "eth1"))
        .await;
    assert_field_error(status, &reply, "ifname");
    // Keeping its own interface is no conflict.
    let (status, reply) = server
        .post(&server.admin, &path, sample("p-2 renamed", "eth2"))
        .await;
    assert_eq!((status, &reply["name"]), (200, &json!("p-2 renamed")));

    let items = list(&server, &server.admin, json!({})).await;
    assert_eq!(
        ids(&items),
        vec![
            first["id"].as_i64().unwrap(),
            second["id"].as_i64().unwrap()
        ]
    );
    assert_eq!(items[1]["ifname"], "eth2");

    // The database's unique index backs the early check (two racing requests).
    let fields = kordon_store::ports::PortFields {
        name: "race".into(),
        active: true,
        model_id: 1,
        net_mode: kordon_model::enums::NetMode::Lte,
        monitoring_interval: 3,
        is_osfp: false,
        osfp_id: None,
        ifname: "eth1".into(),
        mtu: 0,
        reconnect_type: kordon_model::enums::ReconnectType::Link,
        reconnect_interval: 0,
        reconnect_min: 0,
        users: None,
    };
    match server.store.create_port(&fields).await {
        Err(kordon_store::StoreError::Conflict { field, .. }) => assert_eq!(field, "ifname"),
        other => panic!("expected an ifname conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn edit_reads_saves_and_keeps_omitted_optional_fields() {
    let server = TestServer::start().await;
    let (bob, _) = panel_user(&server, "bobby2", "Europe/Moscow").await;
    let mut body = sample("p-1", "eth1");
    body["is_osfp"] = json!(true);
    body["osfp"] = json!(3);
    body["users"] = json!([bob]);
    let port = add_port(&server, body).await;
    let id = port["id"].as_i64().unwrap();
    let path = format!("/api/devices/modem/edit/{id}/");

    // osfp, users and reconnect_interval left out: kept.
    let mut edit = sample("p-1b", "eth1");
    edit["active"] = json!(false);
    edit["is_osfp"] = json!(true);
    edit["net_mode"] = json!("umts");
    edit["mtu"] = json!(1400);
    edit["reconnect_type"] = json!("time");
    for field in ["osfp", "users", "reconnect_interval"] {
        edit.as_object_mut().unwrap().remove(field);
    }
    let (status, reply) = server.post(&server.admin, &path, edit).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["name"], "p-1b");
    assert_eq!(reply["active"], false);
    assert_eq!(reply["osfp"], 3);
    assert_eq!(reply["users"], json!([bob]));
    assert_eq!(reply["reconnect_interval"], 240);
    assert_eq!(reply["reconnect_type"], "time");
    assert_eq!(reply["net_mode"], "umts");
    assert_eq!(reply["mtu"], 1400);
    assert_eq!(reply["reconnect_link"], port["reconnect_link"]);

    // osfp null and users [] clear them.
    let (status, reply) = server
        .post(&server.admin, &path, sample("p-1c", "eth1"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(reply["osfp"], Value::Null);
    assert_eq!(reply["is_osfp"], false);
    assert_eq!(reply["users"], json!([]));
    let (_, read) = server.get(&server.admin, &path).await;
    assert_eq!(read, reply);

    // Same validation as add; nothing changes on error.
    let mut bad = sample("", "eth1");
    bad["reconnect_type"] = json!("sometimes");
    let (status, reply) = server.post(&server.admin, &path, bad).await;
    assert_field_error(status, &reply, "name");
    assert_field_error(status, &reply, "reconnect_type");
    let (_, after) = server.get(&server.admin, &path).await;
    assert_eq!(after, read);

    for missing in [
        "/api/devices/modem/edit/999",
        "/api/devices/modem/edit/abc",
        "/api/devices/modem/edit/-1",
    ] {
        let (status, reply) = server.get(&server.admin, missing).await;
        assert_eq!(status, 404, "{missing}: {reply}");
        assert!(reply["detail"].is_string());
        let (status, _) = server
            .post(&server.admin, missing, sample("x", "eth7"))
            .await;
        assert_eq!(status, 404, "{missing}");
    }
}

#[tokio::test]
async fn moving_a_port_to_another_interface_forgets_the_old_modem() {
    let server = TestServer::start().await;
    let port = add_port(&server, sample("p-1", "eth1")).await;
    let id = port["id"].as_i64().unwrap();
    let operator = server.store.operator_id("MTS RUS").await.unwrap();
    let state = PortState {
        ip: Some("192.168.8.100".into()),
        conn_dev: true,
        operator_id: Some(operator),
        external_ip: Some("188.170.195.189".into()),
        ..PortState::default()
    };
    server.store.set_port_state(id, &state).await.unwrap();
    let path = format!("/api/devices/modem/edit/{id}");
    server
        .post(&server.admin, &path, sample("p-1", "eth1"))
        .await;
    let items = list(&server, &server.admin, json!({})).await;
    assert_eq!(
        items[0]["ip"], "192.168.8.100",
        "same interface keeps its state"
    );
    server
        .post(&server.admin, &path, sample("p-1", "eth5"))
        .await;
    let items = list(&server, &server.admin, json!({})).await;
    assert_eq!(items[0]["ifname"], "eth5");
    assert_eq!(items[0]["ip"], Value::Null);
    assert_eq!(items[0]["conn_dev"], false);
    assert_eq!(items[0]["operator"], Value::Null);
    assert_eq!(items[0]["external_ip"], Value::Null);

    match server.store.set_port_state(999, &state).await {
        Err(kordon_store::StoreError::NotFound { id, .. }) => assert_eq!(id, 999),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Two ports with live state: p-10 (MegaFon, LTE, time_link) and p-11 (MTS, UMTS, link).
async fn two_live_ports(server: &TestServer) -> (i64, i64) {
    let mut first = sample("Порт-10", "enp0s29f7u2u2");
    first["is_osfp"] = json!(true);
    first["osfp"] = json!(7);
    first["reconnect_min"] = json!(120);
    first["type"] = json!(1);
    let first = add_port(server, first).await["id"].as_i64().unwrap();
    let mut second = sample("modem-11", "eth11");
    second["reconnect_type"] = json!("link");
    second["active"] = json!(false);
    let second = add_port(server, second).await["id"].as_i64().unwrap();

    let megafon = server.store.operator_id("MegaFon RUS").await.unwrap();
    let mts = server.store.operator_id("MTS RUS").await.unwrap();
    let lte = server.store.network_type_id("LTE (4G)").await.unwrap();
    let umts = server.store.network_type_id("UMTS (3G)").await.unwrap();
    let now = kordon_store::now();
    server
        .store
        .set_port_state(
            first,
            &PortState {
                ip: Some("192.168.9.100".into()),
                gateway: Some("192.168.9.1".into()),
                conn_dev: true,
                conn_net: true,
                conn_inet: true,
                reconnecting: false,
                // 2020-10-26 12:24:55 UTC, 15:24:55 in Moscow.
                reconnect_start: Some(1_603_715_095),
                reconnect_end: Some(now - 180),
                signal: Some(5),
                rsrq: Some("-7dB".into()),
                rsrp: Some("-74dBm".into()),
                rssi: Some(">=-51dBm".into()),
                sinr: Some("12dB".into()),
                operator_id: Some(megafon),
                network_type_id: Some(lte),
                external_ip: Some("188.170.195.189".into()),
                next_reconnect_at: Some(now + 30),
            },
        )
        .await
        .unwrap();
    server
        .store
        .set_port_state(
            second,
            &PortState {
                conn_dev: true,
                conn_net: false,
                operator_id: Some(mts),
                network_type_id: Some(umts),
                // Stale schedule on a link-only port: no countdown is shown.
                next_reconnect_at: Some(now + 99),
                ..PortState::default()
            },
        )
        .await
        .unwrap();
    (first, second)
}

#[tokio::test]
async fn list_shows_every_documented_field_with_live_state() {
    let server = TestServer::start().await;
    let (first, second) = two_live_ports(&server).await;
    let items = list(&server, &server.admin, json!({})).await;
    assert_eq!(ids(&items), vec![first, second], "ordered by id");
    let item = items[0].as_object().unwrap();
    let expected_keys = [
        "id",
        "name",
        "active",
        "ifname",
        "ip",
        "gateway",
        "conn_dev",
        "is_osfp",
        "conn_net",
        "type",
        "conn_inet",
        "reconnect",
        "reconnect_type",
        "reconnect_interval",
        "reconnect_min",
        "reconnect_start",
        "reconnect_end",
        "reconnect_end_hum",
        "signal",
        "rsrq",
        "rsrp",
        "rssi",
        "sinr",
        "osfp",
        "operator",
        "network_type",
        "reconect_time",
        "external_ip",
        "net_mode",
        "monitoring_interval",
        "users",
        "mtu",
    ];
    for key in expected_keys {
        assert!(item.contains_key(key), "missing {key}: {item:?}");
    }
    assert_eq!(item.len(), expected_keys.len(), "{item:?}");

    let p = &items[0];
    assert_eq!(p["name"], "Порт-10");
    assert_eq!(p["active"], true);
    assert_eq!(p["ip"], "192.168.9.100");
    assert_eq!(p["gateway"], "192.168.9.1");
    assert_eq!(
        (
            p["conn_dev"].clone(),
            p["conn_net"].clone(),
            p["conn_inet"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert_eq!(p["is_osfp"], true);
    assert_eq!(p["type"], 1);
    assert_eq!(p["reconnect"], false);
    assert_eq!(p["reconnect_type"], "time_link");
    assert_eq!(p["reconnect_interval"], 240);
    assert_eq!(p["reconnect_min"], 120);
    assert_eq!(p["reconnect_start"], "26 окт 2020 15:24:55");
    assert!(p["reconnect_end"].as_str().unwrap().contains(' '));
    assert_eq!(p["reconnect_end_hum"], "3 минуты назад");
    assert_eq!(p["signal"], 5);
    assert_eq!(p["rsrq"], "-7dB");
    assert_eq!(p["rsrp"], "-74dBm");
    assert_eq!(p["rssi"], ">=-51dBm");
    assert_eq!(p["sinr"], "12dB");
    assert_eq!(
        p["osfp"],
        json!({"id": 7, "name": "Android", "modem": "Android"})
    );
    assert_eq!(p["operator"], "MegaFon RUS");
    assert_eq!(p["network_type"], "LTE (4G)");
    let countdown = p["reconect_time"].as_i64().unwrap();
    assert!((28..=30).contains(&countdown), "{countdown}");
    assert_eq!(p["external_ip"], "188.170.195.189");
    assert_eq!(p["net_mode"], "lte");
    assert_eq!(p["monitoring_interval"], 3);
    assert_eq!(p["users"], json!([]));
    assert_eq!(p["mtu"], 0);

    let q = &items[1];
    assert_eq!(q["osfp"], Value::Null);
    assert_eq!(q["ip"], Value::Null);
    assert_eq!(q["signal"], Value::Null);
    assert_eq!(q["reconnect_start"], Value::Null);
    assert_eq!(q["reconnect_end_hum"], Value::Null);
    assert_eq!(q["reconect_time"], Value::Null);
    assert_eq!(q["operator"], "MTS RUS");
    assert_eq!(q["network_type"], "UMTS (3G)");

    // Dates follow the reader's own time zone.
    let (viewer, key) = panel_user(&server, "viewer1", "UTC").await;
    let mut edit = sample("Порт-10", "enp0s29f7u2u2");
    edit["users"] = json!([viewer]);
    edit["is_osfp"] = json!(true);
    edit["osfp"] = json!(7);
    edit["type"] = json!(1);
    edit["reconnect_min"] = json!(120);
    server
        .post(
            &server.admin,
            &format!("/api/devices/modem/edit/{first}"),
            edit,
        )
        .await;
    let seen = list(&server, &key, json!({})).await;
    assert_eq!(ids(&seen), vec![first]);
    assert_eq!(seen[0]["reconnect_start"], "26 окт 2020 12:24:55");
    assert_eq!(
        seen[0]["ip"], "192.168.9.100",
        "edit on the same interface keeps state"
    );
}

#[tokio::test]
async fn list_filters_by_every_documented_key() {
    let server = TestServer::start().await;
    let (first, second) = two_live_ports(&server).await;
    let megafon = server.store.operator_id("MegaFon RUS").await.unwrap();
    let umts = server.store.network_type_id("UMTS (3G)").await.unwrap();
    let admin = server.admin.clone();
    let cases = [
        (json!({"active": true}), vec![first]),
        (json!({"active": "0"}), vec![second]),
        (json!({"active": true, "reconnect_type": "link"}), vec![]),
        (json!({"reconnect_type": "link"}), vec![second]),
        (json!({"reconnect_type": "time_link"}), vec![first]),
        (json!({"conn_dev": true}), vec![first, second]),
        (json!({"conn_net": false}), vec![second]),
        (json!({"operator__id": megafon}), vec![first]),
        (json!({"operator__id": megafon.to_string()}), vec![first]),
        (json!({"network_type__id": umts}), vec![second]),
        (json!({"name__icontains": "порт"}), vec![first]),
        (json!({"name__icontains": "ПОРТ-1"}), vec![first]),
        (json!({"name__icontains": "MODEM"}), vec![second]),
        (json!({"name__icontains": "%"}), vec![]),
        (json!({"ifname": "eth11"}), vec![second]),
        (json!({"ifname": "eth1"}), vec![]),
        (json!([]), vec![first, second]),
        (json!(null), vec![first, second]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            ids(&list(&server, &admin, filter.clone()).await),
            expected,
            "{filter}"
        );
    }
    // No body at all, and GET.
    let (status, reply) = server
        .call("POST", "/api/devices/modem/list/", Some(&admin), None)
        .await;
    assert_eq!((status, reply.as_array().map(Vec::len)), (200, Some(2)));
    let (status, reply) = server.get(&admin, "/api/devices/modem/list").await;
    assert_eq!((status, reply.as_array().map(Vec::len)), (200, Some(2)));

    // Unknown keys and bad values are errors, never ignored.
    let (status, reply) = server
        .post(
            &admin,
            "/api/devices/modem/list",
            json!({"filter": {"modem__id": 1}}),
        )
        .await;
    assert_field_error(status, &reply, "filter");
    let (status, reply) = server
        .post(
            &admin,
            "/api/devices/modem/list",
            json!({"filter": {"active": "maybe", "operator__id": "x"}}),
        )
        .await;
    assert_field_error(status, &reply, "filter.active");
    assert_field_error(status, &reply, "filter.operator__id");
    let (status, reply) = server
        .post(
            &admin,
            "/api/devices/modem/list",
            json!({"filter": {"reconnect_type": "never"}}),
        )
        .await;
    assert_field_error(status, &reply, "filter.reconnect_type");
    let (status, reply) = server
        .post(
            &admin,
            "/api/devices/modem/list",
            json!({"filter": "active"}),
        )
        .await;
    assert_field_error(status, &reply, "filter");
}

#[tokio::test]
async fn active_switches_all_or_nothing() {
    let server = TestServer::start().await;
    let a = add_port(&server, sample("a", "eth1")).await["id"]
        .as_i64()
        .unwrap();
    let b = add_port(&server, sample("b", "eth2")).await["id"]
        .as_i64()
        .unwrap();
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/active",
            json!({"id": [a, b], "active": false}),
        )
        .await;
    assert_eq!((status, reply), (200, json!({"result": "ok"})));
    assert_eq!(
        ids(&list(&server, &server.admin, json!({"active": false})).await),
        vec![a, b]
    );

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/active/",
            json!({"id": [a, 777, 778], "active": "true"}),
        )
        .await;
    assert_eq!(status, 404, "{reply}");
    assert!(reply["detail"].as_str().unwrap().contains("777"), "{reply}");
    assert!(
        list(&server, &server.admin, json!({"active": true}))
            .await
            .is_empty(),
        "nothing changed"
    );

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/active",
            json!({"id": a, "active": 1}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        ids(&list(&server, &server.admin, json!({"active": true})).await),
        vec![a]
    );

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/active",
            json!({"id": ["x"]}),
        )
        .await;
    assert_field_error(status, &reply, "id");
    assert_field_error(status, &reply, "active");
}

#[tokio::test]
async fn osfp_sets_fingerprints_on_ports() {
    let server = TestServer::start().await;
    let a = add_port(&server, sample("a", "eth1")).await["id"]
        .as_i64()
        .unwrap();
    let b = add_port(&server, sample("b", "eth2")).await["id"]
        .as_i64()
        .unwrap();
    let read = |id: i64| {
        let server = &server;
        async move {
            server
                .get(&server.admin, &format!("/api/devices/modem/edit/{id}"))
                .await
                .1
        }
    };

    // The document's sample: no is_osfp, so it switches the fingerprint on.
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/osfp",
            json!({"id": [a], "osid": 7}),
        )
        .await;
    assert_eq!((status, reply), (200, json!({"result": "ok"})));
    let port = read(a).await;
    assert_eq!(
        (port["osfp"].clone(), port["is_osfp"].clone()),
        (json!(7), json!(true))
    );
    assert_eq!(read(b).await["osfp"], Value::Null);

    // Off, keeping the fingerprint; on again without naming it.
    let (status, _) = server
        .post(
            &server.admin,
            "/api/devices/modem/osfp",
            json!({"id": [a], "is_osfp": false}),
        )
        .await;
    assert_eq!(status, 200);
    let port = read(a).await;
    assert_eq!(
        (port["osfp"].clone(), port["is_osfp"].clone()),
        (json!(7), json!(false))
    );
    let (status, _) = server
        .post(
            &server.admin,
            "/api/devices/modem/osfp",
            json!({"id": [a], "is_osfp": "1"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(read(a).await["is_osfp"], true);

    // Switching on a port that has no fingerprint needs one.
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/osfp",
            json!({"id": [a, b], "is_osfp": true}),
        )
        .await;
    assert_field_error(status, &reply, "osid");
    assert_eq!(read(b).await["is_osfp"], false);

    // Both ports, explicit is_osfp false with a new fingerprint.
    let (status, _) = server
        .post(
            &server.admin,
            "/api/devices/modem/osfp",
            json!({"id": [a, b], "osid": "3", "is_osfp": false}),
        )
        .await;
    assert_eq!(status, 200);
    for id in [a, b] {
        let port = read(id).await;
        assert_eq!(
            (port["osfp"].clone(), port["is_osfp"].clone()),
            (json!(3), json!(false))
        );
    }

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/osfp",
            json!({"id": [a], "osid": 999}),
        )
        .await;
    assert_field_error(status, &reply, "osid");
    let (status, reply) = server
        .post(&server.admin, "/api/devices/modem/osfp", json!({"id": [a]}))
        .await;
    assert_field_error(status, &reply, "osid");
    let (status, reply) = server
        .post(&server.admin, "/api/devices/modem/osfp", json!({"osid": 7}))
        .await;
    assert_field_error(status, &reply, "id");
    let (status, _) = server
        .post(
            &server.admin,
            "/api/devices/modem/osfp",
            json!({"id": [a, 555], "osid": 1}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(read(a).await["osfp"], 3, "nothing changed");
}

#[tokio::test]
async fn reconnect_checks_everything_then_refuses_honestly() {
    let server = TestServer::start().await;
    let a = add_port(&server, sample("a", "eth1")).await;
    let b = add_port(&server, sample("b", "eth2")).await;
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/reconnect",
            json!({"id": [a_id, b_id]}),
        )
        .await;
    assert_eq!(status, 503, "{reply}");
    assert_eq!(reply, json!({"detail": ROTATION_UNAVAILABLE}));
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/reconnect/",
            json!({"id": [a_id, 404]}),
        )
        .await;
    assert_eq!(status, 404, "{reply}");
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/devices/modem/reconnect",
            json!({"id": "x"}),
        )
        .await;
    assert_field_error(status, &reply, "id");
    let (status, _) = server
        .call(
            "POST",
            "/api/devices/modem/reconnect",
            None,
            Some(json!({"id": [a_id]})),
        )
        .await;
    assert_eq!(status, 401);

    // The rotation link: the port's own token, or a panel key; no header needed.
    let link = a["reconnect_link"].as_str().unwrap().to_string();
    let (status, reply) = server.call("GET", &link, None, None).await;
    assert_eq!(status, 503, "{reply}");
    assert_eq!(reply["detail"], ROTATION_UNAVAILABLE);
    let admin_link = format!(
        "/api/devices/modem/reconnect?token={}&id={b_id}",
        server.admin
    );
    assert_eq!(server.call("GET", &admin_link, None, None).await.0, 503);

    let a_token = link_token(&a);
    for (path, why) in [
        (
            format!("/api/devices/modem/reconnect?token={a_token}&id={b_id}"),
            "a's token on b",
        ),
        (
            format!("/api/devices/modem/reconnect?token={a_token}&id=999"),
            "a's token, no port",
        ),
        (
            format!("/api/devices/modem/reconnect?token={a_token}"),
            "no id",
        ),
        (
            format!(
                "/api/devices/modem/reconnect?token={}&id={a_id}",
                "0".repeat(40)
            ),
            "unknown token",
        ),
        (
            format!("/api/devices/modem/reconnect?token=short&id={a_id}"),
            "malformed token",
        ),
        (
            format!("/api/devices/modem/reconnect?id={a_id}"),
            "no token",
        ),
        ("/api/devices/modem/reconnect".to_string(), "nothing"),
    ] {
        let (status, reply) = server.call("GET", &path, None, None).await;
        assert_eq!(status, 401, "{why}: {reply}");
        assert!(reply["detail"].is_string(), "{why}");
    }
    let missing = format!("/api/devices/modem/reconnect?token={}&id=999", server.admin);
    assert_eq!(server.call("GET", &missing, None, None).await.0, 404);
    let no_id = format!("/api/devices/modem/reconnect?token={}", server.admin);
    let (status, reply) = server.call("GET", &no_id, None, None).await;
    assert_field_error(status, &reply, "id");
}

#[tokio::test]
async fn every_port_endpoint_needs_a_key() {
    let server = TestServer::start().await;
    let id = add_port(&server, sample("a", "eth1")).await["id"]
        .as_i64()
        .unwrap();
    let edit = format!("/api/devices/modem/edit/{id}");
    for (method, path) in [
        ("POST", "/api/devices/modem/add"),
        ("GET", edit.as_str()),
        ("POST", edit.as_str()),
        ("POST", "/api/devices/modem/list"),
        ("POST", "/api/devices/modem/active"),
        ("POST", "/api/devices/modem/osfp"),
        ("POST", "/api/devices/modem/reconnect"),
    ] {
        let (status, reply) = server
            .call(
                method,
                path,
                None,
                Some(json!({"id": [id], "active": false})),
            )
            .await;
        assert_eq!(status, 401, "{method} {path}: {reply}");
        assert_eq!(
            reply["detail"],
            "Authentication credentials were not provided."
        );
        let (status, _) = server
            .call(
                method,
                path,
                Some(&"f".repeat(40)),
                Some(json!({"id": [id]})),
            )
            .await;
        assert_eq!(status, 401, "{method} {path} with a wrong key");
    }
    assert_eq!(
        list(&server, &server.admin, json!({})).await[0]["active"],
        true
    );
}

#[tokio::test]
async fn panel_users_reach_only_their_delegated_ports() {
    let server = TestServer::start().await;
    let (alice, alice_key) = panel_user(&server, "alice1", "Europe/Moscow").await;
    let (bob, bob_key) = panel_user(&server, "bobby2", "Europe/Moscow").await;
    let mut body = sample("alice-port", "eth1");
    body["users"] = json!([alice]);
    let a = add_port(&server, body).await["id"].as_i64().unwrap();
    let mut body = sample("bob-port", "eth2");
    body["users"] = json!([bob]);
    let b = add_port(&server, body).await["id"].as_i64().unwrap();
    let mut body = sample("shared-port", "eth3");
    body["users"] = json!([alice, bob]);
    let shared = add_port(&server, body).await["id"].as_i64().unwrap();
    add_port(&server, sample("nobody-port", "eth4")).await;

    // Lists: own ports only, co-delegates hidden; filters cannot reach further.
    let seen = list(&server, &alice_key, json!({})).await;
    assert_eq!(ids(&seen), vec![a, shared]);
    assert_eq!(seen[1]["users"], json!([alice]));
    assert_eq!(
        ids(&list(&server, &bob_key, json!({})).await),
        vec![b, shared]
    );
    assert!(list(&server, &alice_key, json!({"ifname": "eth2"}))
        .await
        .is_empty());
    assert!(list(&server, &alice_key, json!({"name__icontains": "bob"}))
        .await
        .is_empty());
    assert_eq!(list(&server, &server.admin, json!({})).await.len(), 4);
    let (_, admin_view) = server
        .get(&server.admin, &format!("/api/devices/modem/edit/{shared}"))
        .await;
    assert_eq!(admin_view["users"], json!([alice, bob]));

    // Another user's port is a 404 like a missing one, for every action.
    let bob_edit = format!("/api/devices/modem/edit/{b}");
    let (status, reply) = server.get(&alice_key, &bob_edit).await;
    let (missing_status, missing_reply) =
        server.get(&alice_key, "/api/devices/modem/edit/9999").await;
    assert_eq!((status, missing_status), (404, 404));
    assert_eq!(
        reply["detail"]
            .as_str()
            .unwrap()
            .replace(&b.to_string(), "N"),
        missing_reply["detail"]
            .as_str()
            .unwrap()
            .replace("9999", "N"),
        "the reply tells nothing about existence"
    );
    let (status, _) = server
        .post(&alice_key, &bob_edit, sample("stolen", "eth2"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .post(
            &alice_key,
            "/api/devices/modem/active",
            json!({"id": [a, b], "active": false}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .post(
            &alice_key,
            "/api/devices/modem/osfp",
            json!({"id": [b], "osid": 1}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .post(
            &alice_key,
            "/api/devices/modem/osfp",
            json!({"id": [b], "is_osfp": true}),
        )
        .await;
    assert_eq!(status, 404, "no hint whether bob's port has a fingerprint");
    let (status, _) = server
        .post(
            &alice_key,
            "/api/devices/modem/reconnect",
            json!({"id": [b]}),
        )
        .await;
    assert_eq!(status, 404);
    let link = format!("/api/devices/modem/reconnect?token={alice_key}&id={b}");
    assert_eq!(server.call("GET", &link, None, None).await.0, 404);
    let (_, bob_view) = server.get(&server.admin, &bob_edit).await;
    assert_eq!(
        (bob_view["name"].clone(), bob_view["active"].clone()),
        (json!("bob-port"), json!(true))
    );

    // Adding ports is for superusers.
    let (status, _) = server
        .post(&alice_key, "/api/devices/modem/add", sample("mine", "eth8"))
        .await;
    assert_eq!(status, 403);

    // Own ports: read, edit, switch, rotate (refused honestly).
    let own = format!("/api/devices/modem/edit/{a}");
    let (status, read) = server.get(&alice_key, &own).await;
    assert_eq!((status, read["users"].clone()), (200, json!([alice])));
    let mut edit = sample("alice-renamed", "eth1");
    edit["users"] = json!([alice]);
    edit["monitoring_interval"] = json!(10);
    let (status, reply) = server.post(&alice_key, &own, edit).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        (reply["name"].clone(), reply["monitoring_interval"].clone()),
        (json!("alice-renamed"), json!(10))
    );
    // Editing the shared port as alice keeps bob's delegation.
    let mut edit = sample("shared-renamed", "eth3");
    edit["users"] = json!([alice]);
    let (status, _) = server
        .post(
            &alice_key,
            &format!("/api/devices/modem/edit/{shared}"),
            edit,
        )
        .await;
    assert_eq!(status, 200);
    let (_, admin_view) = server
        .get(&server.admin, &format!("/api/devices/modem/edit/{shared}"))
        .await;
    assert_eq!(admin_view["users"], json!([alice, bob]));
    assert_eq!(admin_view["name"], "shared-renamed");

    // ... but neither re-delegate nor re-bind them, and learn nothing from trying.
    for users in [json!([alice, bob]), json!([alice, 4242]), json!([])] {
        let mut edit = sample("alice-renamed", "eth1");
        edit["users"] = users.clone();
        let (status, reply) = server.post(&alice_key, &own, edit).await;
        assert_field_error(status, &reply, "users");
        assert_eq!(
            reply["errors"]["users"][0],
            "Only a superuser may change the users a port is delegated to.",
            "{users}"
        );
    }
    for ifname in ["eth2", "eth9"] {
        let (status, reply) = server
            .post(&alice_key, &own, sample("alice-renamed", ifname))
            .await;
        assert_field_error(status, &reply, "ifname");
        assert_eq!(
            reply["errors"]["ifname"][0],
            "Only a superuser may move a port to another interface."
        );
    }
    let (_, after) = server.get(&server.admin, &own).await;
    assert_eq!(
        (after["ifname"].clone(), after["users"].clone()),
        (json!("eth1"), json!([alice]))
    );

    let (status, _) = server
        .post(
            &alice_key,
            "/api/devices/modem/active",
            json!({"id": [a, shared], "active": false}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        ids(&list(&server, &bob_key, json!({"active": false})).await),
        vec![shared]
    );
    let (status, _) = server
        .post(
            &alice_key,
            "/api/devices/modem/reconnect",
            json!({"id": [a]}),
        )
        .await;
    assert_eq!(status, 503);
    let link = format!("/api/devices/modem/reconnect?token={alice_key}&id={a}");
    assert_eq!(server.call("GET", &link, None, None).await.0, 503);

    // Taking a delegation away takes the port out of reach at once.
    let mut edit = sample("shared-renamed", "eth3");
    edit["users"] = json!([bob]);
    server
        .post(
            &server.admin,
            &format!("/api/devices/modem/edit/{shared}"),
            edit,
        )
        .await;
    assert_eq!(ids(&list(&server, &alice_key, json!({})).await), vec![a]);
    let (status, _) = server
        .get(&alice_key, &format!("/api/devices/modem/edit/{shared}"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn writes_announce_port_changes_but_signal_updates_do_not() {
    use kordon_store::Change;
    let server = TestServer::start().await;
    let mut events = server.store.subscribe();
    let id = add_port(&server, sample("a", "eth1")).await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(events.try_recv().ok(), Some(Change::Ports));
    server
        .post(
            &server.admin,
            "/api/devices/modem/active",
            json!({"id": [id], "active": false}),
        )
        .await;
    assert_eq!(events.try_recv().ok(), Some(Change::Ports));

    let online = PortState {
        ip: Some("192.168.8.100".into()),
        conn_dev: true,
        signal: Some(3),
        ..PortState::default()
    };
    server.store.set_port_state(id, &online).await.unwrap();
    assert_eq!(events.try_recv().ok(), Some(Change::Ports), "came online");
    let stronger = PortState {
        signal: Some(5),
        rsrp: Some("-74dBm".into()),
        ..online.clone()
    };
    server.store.set_port_state(id, &stronger).await.unwrap();
    assert!(
        events.try_recv().is_err(),
        "a signal change rebuilds nothing"
    );
    let items = list(&server, &server.admin, json!({})).await;
    assert_eq!(
        (items[0]["signal"].clone(), items[0]["rsrp"].clone()),
        (json!(5), json!("-74dBm"))
    );
}
