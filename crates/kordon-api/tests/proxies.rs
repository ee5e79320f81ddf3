//! Proxy profiles over HTTP: add/edit/list/active/del, validation, filters, paging and
//! isolation between panel users.

mod common;
mod proxy_support;

use common::{assert_field_error, TestServer};
use proxy_support::*;
use serde_json::{json, Value};

#[tokio::test]
async fn add_and_read_a_strong_profile_as_the_sample_shows() {
    let server = TestServer::start().await;
    let modem = port(&server, "p39").await;
    let login = proxy_login(&server, &server.admin, "kraken").await;

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/add",
            strong_body(modem, 1088, login),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let id = reply["id"].as_i64().expect("id");
    assert_eq!(reply["modem"], json!(modem));
    assert_eq!(reply["active"], json!(true));
    assert_eq!(reply["type"], json!("socks"));
    assert_eq!(reply["auth"], json!("strong"));
    assert_eq!(reply["port"], json!(1088));
    assert_eq!(reply["is_local"], json!(false));
    assert_eq!(reply["is_allow"], json!(true));
    assert_eq!(reply["is_ports"], json!(true));
    assert_eq!(
        reply["auth_params"],
        json!(login),
        "strong: the login id itself"
    );
    assert_eq!(reply["maxconn"], json!(0), "0 is stored as given");
    assert_eq!(reply["allow"], json!([]));
    assert_eq!(reply["targetport"], json!([]));
    assert!(is_farm_date(&reply["date_create"]), "{reply}");
    assert!(is_farm_date(&reply["date_update"]), "{reply}");

    let (status, read) = server
        .get(&server.admin, &format!("/api/proxy/edit/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(read, reply, "GET edit reads what add replied");
    let (status, _) = server
        .get(&server.admin, &format!("/api/proxy/edit/{id}/"))
        .await;
    assert_eq!(status, 200, "trailing slash works");
}

#[tokio::test]
async fn lenient_values_are_accepted() {
    let server = TestServer::start().await;
    let modem = port(&server, "p1").await;
    let login = proxy_login(&server, &server.admin, "lenient").await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/add",
            json!({
                "modem": modem.to_string(), "type": "HTTP", "auth": "strong", "port": "3128",
                "maxconn": "10", "is_allow": 0, "is_ports": "false",
                "auth_params": login.to_string(), "targetport": ["443", 80, 80],
                "unknown_field": "ignored"
            }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["type"], json!("http"));
    assert_eq!(reply["port"], json!(3128));
    assert_eq!(reply["maxconn"], json!(10));
    assert_eq!(reply["active"], json!(true), "active defaults to true");
    assert_eq!(reply["is_local"], json!(false));
    assert_eq!(reply["auth_params"], json!(login));
    assert_eq!(
        reply["targetport"],
        json!([80, 443]),
        "deduplicated, sorted"
    );

    // The list reply's object form of auth_params is taken back too.
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/add",
            json!({
                "modem": modem, "type": "socks", "auth": "strong", "port": 3129,
                "maxconn": 0, "is_allow": true, "is_ports": false,
                "auth_params": [{"id": login}]
            }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["auth_params"], json!(login));
}

#[tokio::test]
async fn iponly_profile_with_site_lists_and_target_ports() {
    let server = TestServer::start().await;
    let modem = port(&server, "p2").await;
    let ip_a = client_ip(&server, &server.admin, "10.0.0.1").await;
    let ip_b = client_ip(&server, &server.admin, "10.0.0.2").await;
    let list = site_list(&server, &server.admin, "social", &["vk.com"]).await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/add",
            json!({
                "modem": modem, "type": "http", "auth": "iponly", "port": 8080,
                "is_local": true, "maxconn": 100, "is_allow": false, "is_ports": true,
                "auth_params": [ip_b, ip_a], "allow": [list], "targetport": [443]
            }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["auth_params"], json!([ip_a, ip_b]));
    assert_eq!(reply["allow"], json!([list]));
    assert_eq!(reply["targetport"], json!([443]));
    assert_eq!(reply["is_local"], json!(true));

    let listed = proxy_list(&server, &server.admin, json!({})).await;
    let item = &listed["data"][0];
    assert_eq!(
        item["auth_params"],
        json!([{"id": ip_a, "ip": "10.0.0.1"}, {"id": ip_b, "ip": "10.0.0.2"}])
    );
    assert_eq!(item["allow"], json!([{"id": list, "name": "social"}]));
    assert_eq!(item["ports"], json!([443]));
    assert_eq!(item["targetport"], json!([443]));
}

#[tokio::test]
async fn every_input_problem_is_reported_at_once_and_nothing_is_written() {
    let server = TestServer::start().await;
    let (status, reply) = server
        .post(&server.admin, "/api/proxy/add", json!({}))
        .await;
    for field in [
        "modem",
        "type",
        "auth",
        "port",
        "auth_params",
        "maxconn",
        "is_allow",
        "is_ports",
    ] {
        assert_field_error(status, &reply, field);
    }

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/add",
            json!({
                "modem": "x", "type": "ftp", "auth": "none", "port": 70000, "active": "maybe",
                "maxconn": -1, "is_allow": "perhaps", "is_ports": [], "auth_params": "a",
                "allow": {"a": 1}, "targetport": [0, 80]
            }),
        )
        .await;
    for field in [
        "modem",
        "type",
        "auth",
        "port",
        "active",
        "maxconn",
        "is_allow",
        "is_ports",
        "auth_params",
        "allow",
        "targetport",
    ] {
        assert_field_error(status, &reply, field);
    }
    assert!(reply["errors"]["type"][0]
        .as_str()
        .is_some_and(|m| m.contains("\"http\"")));

    let modem = port(&server, "p3").await;
    let login = proxy_login(&server, &server.admin, "one").await;
    let other = proxy_login(&server, &server.admin, "two").await;
    let mut body = strong_body(modem, 2000, login);
    body["auth_params"] = json!([login, other]);
    let (status, reply) = server.post(&server.admin, "/api/proxy/add", body).await;
    assert_field_error(status, &reply, "auth_params");

    let mut body = strong_body(modem, 2000, login);
    body["auth"] = json!("iponly");
    body["auth_params"] = json!([]);
    let (status, reply) = server.post(&server.admin, "/api/proxy/add", body).await;
    assert_field_error(status, &reply, "auth_params");

    // References that do not exist, all reported together.
    let mut body = strong_body(9999, 2000, 8888);
    body["allow"] = json!([7777]);
    let (status, reply) = server.post(&server.admin, "/api/proxy/add", body).await;
    assert_field_error(status, &reply, "modem");
    assert_field_error(status, &reply, "auth_params");
    assert_field_error(status, &reply, "allow");
    assert_eq!(
        reply["errors"]["modem"][0],
        json!("Invalid pk \"9999\" - object does not exist.")
    );

    // kordon's own listener.
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/add",
            strong_body(modem, i64::from(server.addr.port()), login),
        )
        .await;
    assert_field_error(status, &reply, "port");
    assert_eq!(
        reply["errors"]["port"][0],
        json!("port is used by kordon itself")
    );

    let listed = proxy_list(&server, &server.admin, json!({})).await;
    assert_eq!(listed["meta"]["total"], json!(0), "nothing was written");
}

#[tokio::test]
async fn listen_ports_are_unique_and_the_clash_names_the_profile() {
    let server = TestServer::start().await;
    let modem = port(&server, "p4").await;
    let login = proxy_login(&server, &server.admin, "uniq").await;
    let first = proxy(&server, &server.admin, strong_body(modem, 1500, login)).await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/add",
            strong_body(modem, 1500, login),
        )
        .await;
    assert_field_error(status, &reply, "port");
    assert!(
        reply["errors"]["port"][0]
            .as_str()
            .is_some_and(|m| m.contains(&format!("proxy profile {first}"))),
        "{reply}"
    );
    // Saving a profile with its own port is no clash.
    let (status, reply) = server
        .post(
            &server.admin,
            &format!("/api/proxy/edit/{first}"),
            strong_body(modem, 1500, login),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(reply["port"], json!(1500), "{reply}");
}

#[tokio::test]
async fn edit_keeps_absent_fields_and_switches_auth() {
    let server = TestServer::start().await;
    let modem = port(&server, "p5").await;
    let login = proxy_login(&server, &server.admin, "editme").await;
    let list = site_list(&server, &server.admin, "news", &["lenta.ru"]).await;
    let mut body = strong_body(modem, 1600, login);
    body["maxconn"] = json!(42);
    body["is_allow"] = json!(false);
    body["targetport"] = json!([80, 443]);
    body["allow"] = json!([list]);
    let id = proxy(&server, &server.admin, body).await;

    // The document's edit sample: no maxconn, is_allow, is_ports or targetport.
    let (status, reply) = server
        .post(
            &server.admin,
            &format!("/api/proxy/edit/{id}"),
            json!({
                "modem": modem, "active": false, "type": "http", "auth": "strong",
                "port": 1601, "is_local": true, "auth_params": [login]
            }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["id"], json!(id));
    assert_eq!(reply["active"], json!(false));
    assert_eq!(reply["type"], json!("http"));
    assert_eq!(reply["port"], json!(1601));
    assert_eq!(reply["is_local"], json!(true));
    assert_eq!(reply["maxconn"], json!(42), "kept");
    assert_eq!(reply["is_allow"], json!(false), "kept");
    assert_eq!(reply["is_ports"], json!(true), "kept");
    assert_eq!(reply["targetport"], json!([80, 443]), "kept");
    assert_eq!(reply["allow"], json!([list]), "kept");

    let ip = client_ip(&server, &server.admin, "192.0.2.7").await;
    let (status, reply) = server
        .post(
            &server.admin,
            &format!("/api/proxy/edit/{id}"),
            json!({
                "modem": modem, "type": "http", "auth": "iponly", "port": 1601,
                "auth_params": [ip], "allow": [], "targetport": []
            }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["auth"], json!("iponly"));
    assert_eq!(reply["auth_params"], json!([ip]));
    assert_eq!(reply["allow"], json!([]));
    assert_eq!(reply["targetport"], json!([]));
    // The login is free again: it can be deleted now.
    let (status, reply) = server
        .post(&server.admin, "/api/proxy/auth/del", json!({"id": [login]}))
        .await;
    assert_eq!((status, &reply), (200, &json!({"result": "ok"})));

    // Missing fields on edit are errors like on add; the profile is unchanged.
    let (status, reply) = server
        .post(
            &server.admin,
            &format!("/api/proxy/edit/{id}"),
            json!({"active": true}),
        )
        .await;
    assert_field_error(status, &reply, "modem");
    assert_field_error(status, &reply, "port");
    let (_, read) = server
        .get(&server.admin, &format!("/api/proxy/edit/{id}"))
        .await;
    assert_eq!(read["active"], json!(false));

    for path in ["/api/proxy/edit/9999", "/api/proxy/edit/abc"] {
        let (status, reply) = server.get(&server.admin, path).await;
        assert_eq!(status, 404, "{path}: {reply}");
        assert!(reply["detail"].is_string());
        let (status, _) = server
            .post(&server.admin, path, strong_body(modem, 1700, ip))
            .await;
        assert_eq!(status, 404, "{path}");
    }
}

/// Three profiles on two ports: strong/socks on 1089 (login "alpha"), strong/http on 1090
/// (login "beta", inactive), iponly/http on 1091 (10.1.1.1) on a second port.
async fn three_profiles(server: &TestServer) -> (i64, i64, [i64; 3]) {
    let modem_a = port(server, "pa").await;
    let modem_b = port(server, "pb").await;
    let alpha = proxy_login(server, &server.admin, "alpha").await;
    let beta = proxy_login(server, &server.admin, "beta").await;
    let ip = client_ip(server, &server.admin, "10.1.1.1").await;
    let first = proxy(server, &server.admin, strong_body(modem_a, 1089, alpha)).await;
    let mut body = strong_body(modem_a, 1090, beta);
    body["type"] = json!("http");
    body["active"] = json!(false);
    let second = proxy(server, &server.admin, body).await;
    let mut body = strong_body(modem_b, 1091, ip);
    body["type"] = json!("http");
    body["auth"] = json!("iponly");
    let third = proxy(server, &server.admin, body).await;
    (modem_a, modem_b, [first, second, third])
}

#[tokio::test]
async fn list_items_match_the_sample() {
    let server = TestServer::start().await;
    let (modem_a, _, [first, ..]) = three_profiles(&server).await;
    let listed = proxy_list(
        &server,
        &server.admin,
        json!({"filter": {"active": true}, "pagination": {"perpage": 10, "page": 1}}),
    )
    .await;
    assert_eq!(
        listed["meta"],
        json!({"total": 2, "perpage": 10, "pages": 1, "page": 1, "sort": "desc", "field": "id"})
    );
    let item = listed["data"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == json!(first)))
        .cloned()
        .expect("first profile listed");
    assert_eq!(
        item["modem"],
        json!({
            "id": modem_a, "name": "pa", "active": true, "ifname": "ifpa",
            "ip": "192.168.13.100", "gateway": "192.168.13.1", "conn_dev": true,
            "conn_net": true, "reconnect": false, "reconnect_type": "time",
            "reconnect_interval": 240, "reconnect_min": 120, "operator": "MTS RUS",
            "network_type": "LTE (4G)"
        })
    );
    assert_eq!(item["active"], json!(true));
    assert_eq!(item["type"], json!("socks"));
    assert_eq!(item["auth"], json!("strong"));
    assert_eq!(item["is_allow"], json!(true));
    assert_eq!(item["is_ports"], json!(true));
    assert_eq!(item["allow"], json!([]));
    assert_eq!(item["ports"], json!([]));
    assert_eq!(item["available"], json!(true));
    let auth = &item["auth_params"];
    assert_eq!(auth["login"], json!("alpha"));
    assert_eq!(auth["password"], json!("alpha-pw"));
    assert_eq!(auth["bitrate_in"], json!(0));
    assert_eq!(auth["bitrate_out"], json!(0));
    assert_eq!(item["port"], json!(1089));
    assert_eq!(item["is_local"], json!(false));
    assert_eq!(item["maxconn"], json!(0));
    assert!(is_farm_date(&item["date_create"]) && is_farm_date(&item["date_update"]));

    // A profile on an inactive port is not available.
    set_port_active(&server, modem_a, false).await;
    let listed = proxy_list(&server, &server.admin, json!({"filter": {"port": 1089}})).await;
    assert_eq!(listed["data"][0]["available"], json!(false));
}

#[tokio::test]
async fn every_filter_key_narrows_the_list() {
    let server = TestServer::start().await;
    let (modem_a, modem_b, [first, second, third]) = three_profiles(&server).await;
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (json!({"modem__id": modem_a}), vec![second, first]),
        (json!({"modem__id": modem_b}), vec![third]),
        (json!({"active": false}), vec![second]),
        (json!({"active": "1"}), vec![third, first]),
        (json!({"auth": "iponly"}), vec![third]),
        (json!({"auth": "strong"}), vec![second, first]),
        (json!({"auth_login__login__icontains": "ALP"}), vec![first]),
        (
            json!({"auth_login__login__icontains": "a"}),
            vec![second, first],
        ),
        (json!({"port": "1090"}), vec![second]),
        (json!({"auth_ip__ip__icontains": "10.1"}), vec![third]),
        (json!({"auth_ip__ip__icontains": "10.2"}), vec![]),
        (json!({"type": "http"}), vec![third, second]),
        (json!({"type": "socks", "active": true}), vec![first]),
        (json!([]), vec![third, second, first]),
    ];
    for (filter, expected) in cases {
        let listed = proxy_list(&server, &server.admin, json!({ "filter": filter })).await;
        assert_eq!(ids(&listed), expected, "filter {filter}");
        assert_eq!(listed["meta"]["total"], json!(expected.len()), "{filter}");
    }

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/list",
            json!({"filter": {"name__icontains": "x"}}),
        )
        .await;
    assert_field_error(status, &reply, "filter");
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/list",
            json!({"filter": {"port": "abc", "active": "maybe"}}),
        )
        .await;
    assert_field_error(status, &reply, "filter.port");
    assert_field_error(status, &reply, "filter.active");
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/list",
            json!({"filter": {"auth": "password"}}),
        )
        .await;
    assert_field_error(status, &reply, "filter.auth");
}

#[tokio::test]
async fn paging_and_sorting() {
    let server = TestServer::start().await;
    let modem = port(&server, "pg").await;
    let login = proxy_login(&server, &server.admin, "pager").await;
    let mut created = Vec::new();
    for listen in [5005, 5001, 5004, 5002, 5003] {
        created.push(proxy(&server, &server.admin, strong_body(modem, listen, login)).await);
    }
    let listed = proxy_list(
        &server,
        &server.admin,
        json!({"pagination": {"perpage": 2, "page": 1}}),
    )
    .await;
    assert_eq!(
        ids(&listed),
        vec![created[4], created[3]],
        "default: id desc"
    );
    assert_eq!(listed["meta"]["pages"], json!(3));
    let listed = proxy_list(
        &server,
        &server.admin,
        json!({"pagination": {"perpage": 2, "page": 3}}),
    )
    .await;
    assert_eq!(ids(&listed), vec![created[0]]);
    let listed = proxy_list(
        &server,
        &server.admin,
        json!({"pagination": {"perpage": 10, "page": 1, "field": "port", "sort": "asc"}}),
    )
    .await;
    let ports: Vec<i64> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|i| i["port"].as_i64())
        .collect();
    assert_eq!(ports, vec![5001, 5002, 5003, 5004, 5005]);
    assert_eq!(listed["meta"]["field"], json!("port"));
    assert_eq!(listed["meta"]["sort"], json!("asc"));
    for field in ["date_create", "date_update", "id"] {
        let listed = proxy_list(
            &server,
            &server.admin,
            json!({"pagination": {"field": field, "sort": "desk"}}),
        )
        .await;
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(5), "{field}");
    }
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/list",
            json!({"pagination": {"field": "password", "perpage": 0, "sort": "up"}}),
        )
        .await;
    assert_field_error(status, &reply, "pagination.field");
    assert_field_error(status, &reply, "pagination.perpage");
    assert_field_error(status, &reply, "pagination.sort");
}

#[tokio::test]
async fn active_and_del_are_all_or_nothing() {
    let server = TestServer::start().await;
    let (_, _, [first, second, third]) = three_profiles(&server).await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/active",
            json!({"id": [first, 9999], "active": false}),
        )
        .await;
    assert_eq!(status, 404, "{reply}");
    let listed = proxy_list(&server, &server.admin, json!({"filter": {"active": true}})).await;
    assert_eq!(ids(&listed), vec![third, first], "nothing changed");

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/active",
            json!({"id": [first, third], "active": "0"}),
        )
        .await;
    assert_eq!((status, reply), (200, json!({"result": "ok"})));
    let listed = proxy_list(&server, &server.admin, json!({"filter": {"active": false}})).await;
    assert_eq!(ids(&listed), vec![third, second, first]);

    let (status, reply) = server
        .post(&server.admin, "/api/proxy/active", json!({"id": [first]}))
        .await;
    assert_field_error(status, &reply, "active");
    let (status, reply) = server
        .post(&server.admin, "/api/proxy/del", json!({"id": "x"}))
        .await;
    assert_field_error(status, &reply, "id");
    let (status, reply) = server
        .post(&server.admin, "/api/proxy/del", json!({}))
        .await;
    assert_field_error(status, &reply, "id");

    let (status, _) = server
        .post(
            &server.admin,
            "/api/proxy/del",
            json!({"id": [second, 9999]}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        proxy_list(&server, &server.admin, json!({})).await["meta"]["total"],
        json!(3)
    );
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/del",
            json!({"id": [first, second]}),
        )
        .await;
    assert_eq!((status, reply), (200, json!({"result": "ok"})));
    let listed = proxy_list(&server, &server.admin, json!({})).await;
    assert_eq!(ids(&listed), vec![third]);
    let (status, _) = server
        .get(&server.admin, &format!("/api/proxy/edit/{first}"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_endpoint_needs_a_key() {
    let server = TestServer::start().await;
    for (method, path) in [
        ("POST", "/api/proxy/add"),
        ("GET", "/api/proxy/edit/1"),
        ("POST", "/api/proxy/edit/1"),
        ("POST", "/api/proxy/list"),
        ("GET", "/api/proxy/list"),
        ("POST", "/api/proxy/active"),
        ("POST", "/api/proxy/del"),
    ] {
        let (status, reply) = server.call(method, path, None, Some(json!({}))).await;
        assert_eq!(status, 401, "{method} {path}: {reply}");
        assert!(reply["detail"].is_string());
    }
}

#[tokio::test]
async fn users_see_and_touch_only_profiles_of_their_ports() {
    let server = TestServer::start().await;
    let (alice, alice_key) = panel_user(&server, "alice1").await;
    let (bob, bob_key) = panel_user(&server, "bobby1").await;
    let alice_port = port(&server, "al").await;
    let bob_port = port(&server, "bo").await;
    delegate(&server, alice_port, alice).await;
    delegate(&server, bob_port, bob).await;
    let alice_login = proxy_login(&server, &alice_key, "alice_login").await;
    let bob_login = proxy_login(&server, &bob_key, "bob_login").await;
    let alice_proxy = proxy(
        &server,
        &alice_key,
        strong_body(alice_port, 7001, alice_login),
    )
    .await;
    let bob_proxy = proxy(&server, &bob_key, strong_body(bob_port, 7002, bob_login)).await;

    // Lists, filters and reads.
    let listed = proxy_list(&server, &alice_key, json!({})).await;
    assert_eq!(ids(&listed), vec![alice_proxy]);
    assert_eq!(listed["meta"]["total"], json!(1));
    let listed = proxy_list(
        &server,
        &alice_key,
        json!({"filter": {"modem__id": bob_port}}),
    )
    .await;
    assert_eq!(
        (ids(&listed), &listed["meta"]["total"]),
        (vec![], &json!(0))
    );
    let listed = proxy_list(
        &server,
        &alice_key,
        json!({"filter": {"auth_login__login__icontains": "bob"}}),
    )
    .await;
    assert_eq!(ids(&listed), Vec::<i64>::new());
    let listed = proxy_list(&server, &alice_key, json!({"filter": {"port": 7002}})).await;
    assert_eq!(ids(&listed), Vec::<i64>::new());
    let (status, _) = server
        .get(&alice_key, &format!("/api/proxy/edit/{bob_proxy}"))
        .await;
    assert_eq!(status, 404, "another user's profile reads as missing");
    let listed = proxy_list(&server, &server.admin, json!({})).await;
    assert_eq!(
        ids(&listed),
        vec![bob_proxy, alice_proxy],
        "superuser sees all"
    );

    // Writes on another user's profile are 404 and change nothing.
    let (status, _) = server
        .post(
            &alice_key,
            &format!("/api/proxy/edit/{bob_proxy}"),
            strong_body(bob_port, 7002, bob_login),
        )
        .await;
    assert_eq!(status, 404);
    for path in ["/api/proxy/active", "/api/proxy/del"] {
        let (status, _) = server
            .post(
                &alice_key,
                path,
                json!({"id": [alice_proxy, bob_proxy], "active": false}),
            )
            .await;
        assert_eq!(status, 404, "{path}");
    }
    let listed = proxy_list(&server, &server.admin, json!({"filter": {"active": true}})).await;
    assert_eq!(
        ids(&listed),
        vec![bob_proxy, alice_proxy],
        "nothing changed"
    );

    // Another user's port, login, IP and site list are refused like missing ones.
    let bob_ip = client_ip(&server, &bob_key, "198.51.100.1").await;
    let bob_list = site_list(&server, &bob_key, "bob sites", &["example.org"]).await;
    let mut body = strong_body(bob_port, 7003, bob_login);
    body["allow"] = json!([bob_list]);
    let (status, reply) = server.post(&alice_key, "/api/proxy/add", body).await;
    assert_field_error(status, &reply, "modem");
    assert_field_error(status, &reply, "auth_params");
    assert_field_error(status, &reply, "allow");
    assert_eq!(
        reply["errors"]["auth_params"][0],
        json!(format!(
            "Invalid pk \"{bob_login}\" - object does not exist."
        ))
    );
    let mut body = strong_body(alice_port, 7004, bob_ip);
    body["auth"] = json!("iponly");
    let (status, reply) = server.post(&alice_key, "/api/proxy/add", body).await;
    assert_field_error(status, &reply, "auth_params");

    // A port clash with an invisible profile does not name it.
    let (status, reply) = server
        .post(
            &alice_key,
            "/api/proxy/add",
            strong_body(alice_port, 7002, alice_login),
        )
        .await;
    assert_field_error(status, &reply, "port");
    let message = reply["errors"]["port"][0].as_str().unwrap_or_default();
    assert!(
        message.contains("another proxy profile")
            && !message.contains(&format!("profile {bob_proxy}")),
        "{message}"
    );
    assert_eq!(
        proxy_list(&server, &server.admin, json!({})).await["meta"]["total"],
        json!(2)
    );
}

#[tokio::test]
async fn a_delegated_user_may_keep_objects_a_superuser_attached() {
    let server = TestServer::start().await;
    let (carol, carol_key) = panel_user(&server, "carol1").await;
    let modem = port(&server, "cp").await;
    delegate(&server, modem, carol).await;
    let admin_login = proxy_login(&server, &server.admin, "admins_login").await;
    let id = proxy(
        &server,
        &server.admin,
        strong_body(modem, 7100, admin_login),
    )
    .await;

    let listed = proxy_list(&server, &carol_key, json!({})).await;
    assert_eq!(
        listed["data"][0]["auth_params"]["login"],
        json!("admins_login")
    );
    let mut body = strong_body(modem, 7101, admin_login);
    body["active"] = json!(false);
    let (status, reply) = server
        .post(&carol_key, &format!("/api/proxy/edit/{id}"), body)
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        (reply["port"].clone(), reply["active"].clone()),
        (json!(7101), json!(false))
    );
    // But she cannot attach it to a new profile.
    let (status, reply) = server
        .post(
            &carol_key,
            "/api/proxy/add",
            strong_body(modem, 7102, admin_login),
        )
        .await;
    assert_field_error(status, &reply, "auth_params");
}

/// Seeds 10,000 profiles with logins and times `proxy/list` pages of 100 (run with
/// `--ignored --nocapture`; the benchmark proper lives elsewhere).
#[tokio::test]
#[ignore]
async fn list_pages_stay_fast_with_ten_thousand_profiles() {
    let server = TestServer::start().await;
    let pool = server.store.pool();
    let mut modems = Vec::new();
    for n in 0..1000 {
        modems.push(port(&server, &format!("bench{n}")).await);
    }
    let mut tx = pool.begin().await.expect("tx");
    for n in 0..10_000i64 {
        let login: i64 = sqlx::query_scalar(
            "INSERT INTO proxy_logins (login, password, owner_id, date_create) \
             VALUES (?, 'pw', 1, 0) RETURNING id",
        )
        .bind(format!("login{n}"))
        .fetch_one(&mut *tx)
        .await
        .expect("login");
        let proxy: i64 = sqlx::query_scalar(
            "INSERT INTO proxies (port_id, active, type, auth, listen_port, is_local, maxconn, \
             is_allow, is_ports, login_id, date_create, date_update) \
             VALUES (?, 1, 'socks', 'strong', ?, 0, 0, 0, 0, ?, ?, ?) RETURNING id",
        )
        .bind(modems[(n % 1000) as usize])
        .bind(10_000 + n)
        .bind(login)
        .bind(n)
        .bind(n)
        .fetch_one(&mut *tx)
        .await
        .expect("proxy");
        sqlx::query("INSERT INTO proxy_target_ports (proxy_id, port) VALUES (?, 443)")
            .bind(proxy)
            .execute(&mut *tx)
            .await
            .expect("target");
    }
    tx.commit().await.expect("commit");
    server.store.maintain().await.expect("analyze");
    let (user, key) = panel_user(&server, "bench_user").await;
    for modem in modems.iter().take(100) {
        delegate(&server, *modem, user).await;
    }
    let bodies = [
        json!({"pagination": {"perpage": 100, "page": 1}}),
        json!({"pagination": {"perpage": 100, "page": 50, "field": "date_update"}}),
        json!({"filter": {"auth_login__login__icontains": "99"}, "pagination": {"perpage": 100}}),
        json!({"filter": {"modem__id": modems[7], "active": true}, "pagination": {"perpage": 100}}),
    ];
    for (who, key) in [("admin", server.admin.as_str()), ("user", key.as_str())] {
        for body in &bodies {
            let mut times = Vec::new();
            for _ in 0..30 {
                let start = std::time::Instant::now();
                let listed = proxy_list(&server, key, body.clone()).await;
                times.push(start.elapsed());
                assert!(listed["data"].is_array());
            }
            times.sort();
            println!("{who} {body}: median {:?}, max {:?}", times[15], times[29]);
        }
    }
}
