//! Proxy logins over HTTP: add/edit/list/del, validation, uniqueness, refusal while in use,
//! ownership between panel users.

mod common;
mod proxy_support;

use common::{assert_field_error, TestServer};
use proxy_support::*;
use serde_json::json;

#[tokio::test]
async fn add_read_edit_and_list_as_the_samples_show() {
    let server = TestServer::start().await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/auth/add",
            json!({"login": "kraken", "password": "kraken", "bitrate_in": 0, "bitrate_out": 0}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let id = reply["id"].as_i64().expect("id");
    assert_eq!(
        reply,
        json!({"id": id, "name": "kraken", "login": "kraken", "password": "kraken",
               "bitrate_in": 0, "bitrate_out": 0})
    );
    let (status, read) = server
        .get(&server.admin, &format!("/api/proxy/auth/edit/{id}"))
        .await;
    assert_eq!((status, &read), (200, &reply));

    let (status, edited) = server
        .post(
            &server.admin,
            &format!("/api/proxy/auth/edit/{id}/"),
            json!({"login": "kraken_2", "password": "n3w:pass", "bitrate_in": "1000000",
                   "bitrate_out": 500}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        edited,
        json!({"id": id, "name": "kraken_2", "login": "kraken_2", "password": "n3w:pass",
               "bitrate_in": 1_000_000, "bitrate_out": 500})
    );
    // An edit keeps what it does not send; null bitrate means unlimited (0).
    let (_, edited) = server
        .post(
            &server.admin,
            &format!("/api/proxy/auth/edit/{id}"),
            json!({"bitrate_out": null}),
        )
        .await;
    assert_eq!(edited["login"], json!("kraken_2"));
    assert_eq!(edited["bitrate_in"], json!(1_000_000));
    assert_eq!(edited["bitrate_out"], json!(0));

    let second = proxy_login(&server, &server.admin, "user_1").await;
    // Bitrates default to 0 when absent.
    let (_, third) = server
        .post(
            &server.admin,
            "/api/proxy/auth/add",
            json!({"login": "user_2", "password": "x"}),
        )
        .await;
    assert_eq!(
        (third["bitrate_in"].clone(), third["bitrate_out"].clone()),
        (json!(0), json!(0))
    );
    for method in ["GET", "POST"] {
        let (status, listed) = server
            .call(method, "/api/proxy/auth/list", Some(&server.admin), None)
            .await;
        assert_eq!(status, 200);
        let names: Vec<_> = listed
            .as_array()
            .expect("bare array")
            .iter()
            .map(|l| (l["id"].clone(), l["name"].clone(), l["login"].clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                (json!(id), json!("kraken_2"), json!("kraken_2")),
                (json!(second), json!("user_1"), json!("user_1")),
                (third["id"].clone(), json!("user_2"), json!("user_2")),
            ]
        );
        assert_eq!(listed[1]["password"], json!("user_1-pw"));
    }
}

#[tokio::test]
async fn invalid_logins_are_refused_with_field_errors() {
    let server = TestServer::start().await;
    let (status, reply) = server
        .post(&server.admin, "/api/proxy/auth/add", json!({}))
        .await;
    assert_field_error(status, &reply, "login");
    assert_field_error(status, &reply, "password");

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/auth/add",
            json!({"login": "Bad-Name", "password": "", "bitrate_in": -1, "bitrate_out": "fast"}),
        )
        .await;
    for field in ["login", "password", "bitrate_in", "bitrate_out"] {
        assert_field_error(status, &reply, field);
    }
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/auth/add",
            json!({"login": ["a"], "password": {"x": 1}}),
        )
        .await;
    assert_field_error(status, &reply, "login");
    assert_field_error(status, &reply, "password");

    proxy_login(&server, &server.admin, "taken").await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/auth/add",
            json!({"login": "taken", "password": "x"}),
        )
        .await;
    assert_field_error(status, &reply, "login");
    let other = proxy_login(&server, &server.admin, "other").await;
    let (status, reply) = server
        .post(
            &server.admin,
            &format!("/api/proxy/auth/edit/{other}"),
            json!({"login": "taken"}),
        )
        .await;
    assert_field_error(status, &reply, "login");
    let (_, read) = server
        .get(&server.admin, &format!("/api/proxy/auth/edit/{other}"))
        .await;
    assert_eq!(read["login"], json!("other"), "unchanged");

    let (_, listed) = server.get(&server.admin, "/api/proxy/auth/list").await;
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(2),
        "nothing else written"
    );

    for path in ["/api/proxy/auth/edit/9999", "/api/proxy/auth/edit/x"] {
        let (status, reply) = server.get(&server.admin, path).await;
        assert_eq!(status, 404, "{reply}");
        let (status, _) = server
            .post(&server.admin, path, json!({"login": "zzz"}))
            .await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn deleting_is_all_or_nothing_and_refused_while_in_use() {
    let server = TestServer::start().await;
    let modem = port(&server, "p1").await;
    let used = proxy_login(&server, &server.admin, "used").await;
    let free = proxy_login(&server, &server.admin, "free").await;
    let spare = proxy_login(&server, &server.admin, "spare").await;
    let first = proxy(&server, &server.admin, strong_body(modem, 3000, used)).await;
    let second = proxy(&server, &server.admin, strong_body(modem, 3001, used)).await;

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/auth/del",
            json!({"id": [free, used]}),
        )
        .await;
    assert_field_error(status, &reply, "id");
    let message = reply["errors"]["id"][0].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("{first}, {second}")),
        "names the profiles: {message}"
    );
    let (status, _) = server
        .post(
            &server.admin,
            "/api/proxy/auth/del",
            json!({"id": [free, 9999]}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, listed) = server.get(&server.admin, "/api/proxy/auth/list").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "nothing deleted");

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/auth/del",
            json!({"id": [free, spare, free]}),
        )
        .await;
    assert_eq!((status, reply), (200, json!({"result": "ok"})));
    let (_, listed) = server.get(&server.admin, "/api/proxy/auth/list").await;
    assert_eq!(listed[0]["id"], json!(used));
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    let (status, reply) = server
        .post(&server.admin, "/api/proxy/auth/del", json!({"ids": [used]}))
        .await;
    assert_field_error(status, &reply, "id");
}

#[tokio::test]
async fn logins_belong_to_their_creator() {
    let server = TestServer::start().await;
    let (alice, alice_key) = panel_user(&server, "alice1").await;
    let (_bob, bob_key) = panel_user(&server, "bobby1").await;
    let alice_login = proxy_login(&server, &alice_key, "alice_l").await;
    let bob_login = proxy_login(&server, &bob_key, "bob_l").await;

    let (_, listed) = server.get(&alice_key, "/api/proxy/auth/list").await;
    assert_eq!(
        listed,
        json!([{"id": alice_login, "name": "alice_l", "login": "alice_l",
        "password": "alice_l-pw", "bitrate_in": 0, "bitrate_out": 0}])
    );
    let (_, listed) = server.get(&server.admin, "/api/proxy/auth/list").await;
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(2),
        "superuser sees all"
    );

    let path = format!("/api/proxy/auth/edit/{bob_login}");
    let (status, _) = server.get(&alice_key, &path).await;
    assert_eq!(status, 404);
    let (status, _) = server
        .post(&alice_key, &path, json!({"password": "stolen"}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .post(
            &alice_key,
            "/api/proxy/auth/del",
            json!({"id": [bob_login]}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, read) = server.get(&bob_key, &path).await;
    assert_eq!(read["password"], json!("bob_l-pw"), "untouched");

    // Taken names are refused without saying whose they are.
    let (status, reply) = server
        .post(
            &alice_key,
            "/api/proxy/auth/add",
            json!({"login": "bob_l", "password": "x"}),
        )
        .await;
    assert_field_error(status, &reply, "login");
    assert!(!reply.to_string().contains("bob_l-pw"));

    // A login of Alice's that a superuser put on a profile of a port not delegated to her:
    // refused, without naming the profile she cannot see.
    let hidden_port = port(&server, "hidden").await;
    let hidden = proxy(
        &server,
        &server.admin,
        strong_body(hidden_port, 3100, alice_login),
    )
    .await;
    let seen_port = port(&server, "seen").await;
    delegate(&server, seen_port, alice).await;
    let seen = proxy(
        &server,
        &server.admin,
        strong_body(seen_port, 3101, alice_login),
    )
    .await;
    let (status, reply) = server
        .post(
            &alice_key,
            "/api/proxy/auth/del",
            json!({"id": [alice_login]}),
        )
        .await;
    assert_field_error(status, &reply, "id");
    let message = reply["errors"]["id"][0].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("profile {seen} and 1 more on ports not delegated")),
        "{message}"
    );
    assert!(!message.contains(&format!("{hidden},")), "{message}");
}

#[tokio::test]
async fn login_endpoints_need_a_key() {
    let server = TestServer::start().await;
    for (method, path) in [
        ("POST", "/api/proxy/auth/add"),
        ("GET", "/api/proxy/auth/edit/1"),
        ("POST", "/api/proxy/auth/edit/1"),
        ("GET", "/api/proxy/auth/list"),
        ("POST", "/api/proxy/auth/del"),
    ] {
        let (status, reply) = server.call(method, path, None, Some(json!({}))).await;
        assert_eq!(status, 401, "{method} {path}: {reply}");
    }
}
