//! Client IPs (`/api/proxy/ip/*`) and site lists (`/api/proxy/site/*`) over HTTP: the
//! extensions behind `iponly` profiles and `allow`.

mod common;
mod proxy_support;

use common::{assert_field_error, TestServer};
use proxy_support::*;
use serde_json::json;

#[tokio::test]
async fn client_ips_are_added_listed_and_deleted() {
    let server = TestServer::start().await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/ip/add",
            json!({"ip": " 203.0.113.9 ", "description": "office"}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let office = reply["id"].as_i64().expect("id");
    assert_eq!(reply["ip"], json!("203.0.113.9"));
    assert_eq!(reply["description"], json!("office"));
    assert!(is_farm_date(&reply["date_create"]), "{reply}");
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/ip/add",
            json!({"ip": "2001:DB8::0:1"}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let v6 = reply["id"].as_i64().expect("id");
    assert_eq!(reply["ip"], json!("2001:db8::1"), "canonical form");
    assert_eq!(reply["description"], json!(null));

    for method in ["GET", "POST"] {
        let (status, listed) = server
            .call(method, "/api/proxy/ip/list", Some(&server.admin), None)
            .await;
        assert_eq!(status, 200);
        let pairs: Vec<_> = listed
            .as_array()
            .expect("bare array")
            .iter()
            .map(|i| (i["id"].clone(), i["ip"].clone()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (json!(office), json!("203.0.113.9")),
                (json!(v6), json!("2001:db8::1"))
            ]
        );
    }

    // Invalid, missing, duplicate.
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/ip/add",
            json!({"ip": "300.1.1.1", "description": "x".repeat(300)}),
        )
        .await;
    assert_field_error(status, &reply, "ip");
    assert_field_error(status, &reply, "description");
    let (status, reply) = server
        .post(&server.admin, "/api/proxy/ip/add", json!({}))
        .await;
    assert_field_error(status, &reply, "ip");
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/ip/add",
            json!({"ip": "203.0.113.9"}),
        )
        .await;
    assert_field_error(status, &reply, "ip");
    assert!(reply["errors"]["ip"][0]
        .as_str()
        .is_some_and(|m| m.contains(&format!("id {office}"))));

    // In use by a profile: refused; unknown id: 404; otherwise deleted.
    let modem = port(&server, "p1").await;
    let mut body = strong_body(modem, 4000, office);
    body["auth"] = json!("iponly");
    let profile = proxy(&server, &server.admin, body).await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/ip/del",
            json!({"id": [v6, office]}),
        )
        .await;
    assert_field_error(status, &reply, "id");
    assert!(reply["errors"]["id"][0]
        .as_str()
        .is_some_and(|m| m.contains(&format!("profile {profile}"))));
    let (status, _) = server
        .post(
            &server.admin,
            "/api/proxy/ip/del",
            json!({"id": [v6, 9999]}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, reply) = server
        .post(&server.admin, "/api/proxy/ip/del", json!({"id": [v6]}))
        .await;
    assert_eq!((status, reply), (200, json!({"result": "ok"})));
    let (_, listed) = server.get(&server.admin, "/api/proxy/ip/list").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn client_ips_belong_to_their_creator() {
    let server = TestServer::start().await;
    let (_alice, alice_key) = panel_user(&server, "alice1").await;
    let (_bob, bob_key) = panel_user(&server, "bobby1").await;
    let alice_ip = client_ip(&server, &alice_key, "192.0.2.1").await;
    // The same address is a separate entry for another owner.
    let bob_ip = client_ip(&server, &bob_key, "192.0.2.1").await;
    assert_ne!(alice_ip, bob_ip);
    let (_, listed) = server.get(&alice_key, "/api/proxy/ip/list").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["id"], json!(alice_ip));
    let (_, listed) = server.get(&server.admin, "/api/proxy/ip/list").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let (status, _) = server
        .post(&alice_key, "/api/proxy/ip/del", json!({"id": [bob_ip]}))
        .await;
    assert_eq!(status, 404);
    let (_, listed) = server.get(&bob_key, "/api/proxy/ip/list").await;
    assert_eq!(listed[0]["id"], json!(bob_ip), "untouched");
}

#[tokio::test]
async fn site_lists_are_normalised_edited_and_deleted() {
    let server = TestServer::start().await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/site/add",
            json!({"name": " Social ", "domains": ["*.VK.com.", "ok.ru, vk.com", "t.me"]}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let id = reply["id"].as_i64().expect("id");
    assert_eq!(reply["name"], json!("Social"));
    assert_eq!(reply["domains"], json!(["ok.ru", "t.me", "vk.com"]));
    assert!(is_farm_date(&reply["date_create"]) && is_farm_date(&reply["date_update"]));
    let path = format!("/api/proxy/site/edit/{id}");
    let (status, read) = server.get(&server.admin, &path).await;
    assert_eq!((status, &read), (200, &reply));

    let (status, edited) = server
        .post(&server.admin, &path, json!({"domains": ["mail.ru"]}))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["name"], json!("Social"), "kept");
    assert_eq!(edited["domains"], json!(["mail.ru"]));
    let (_, edited) = server
        .post(&server.admin, &path, json!({"name": "Mail"}))
        .await;
    assert_eq!(
        (edited["name"].clone(), edited["domains"].clone()),
        (json!("Mail"), json!(["mail.ru"]))
    );

    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/site/add",
            json!({"name": "", "domains": ["bad domain!", "-x.com"]}),
        )
        .await;
    assert_field_error(status, &reply, "name");
    assert_eq!(reply["errors"]["domains"].as_array().map(Vec::len), Some(2));
    let (status, reply) = server
        .post(&server.admin, "/api/proxy/site/add", json!({"domains": 5}))
        .await;
    assert_field_error(status, &reply, "name");
    let (status, reply) = server
        .post(&server.admin, &path, json!({"domains": [{"a": 1}]}))
        .await;
    assert_field_error(status, &reply, "domains");
    let (_, read) = server.get(&server.admin, &path).await;
    assert_eq!(read["domains"], json!(["mail.ru"]), "unchanged");

    let second = site_list(&server, &server.admin, "empty", &[]).await;
    for method in ["GET", "POST"] {
        let (status, listed) = server
            .call(method, "/api/proxy/site/list", Some(&server.admin), None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            listed
                .as_array()
                .map(|l| l.iter().map(|i| i["id"].clone()).collect::<Vec<_>>()),
            Some(vec![json!(id), json!(second)])
        );
        assert_eq!(listed[0]["domains"], json!(["mail.ru"]));
        assert_eq!(listed[1]["domains"], json!([]));
    }

    let modem = port(&server, "p1").await;
    let login = proxy_login(&server, &server.admin, "sites").await;
    let mut body = strong_body(modem, 4100, login);
    body["allow"] = json!([id]);
    let profile = proxy(&server, &server.admin, body).await;
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/site/del",
            json!({"id": [second, id]}),
        )
        .await;
    assert_field_error(status, &reply, "id");
    assert!(reply["errors"]["id"][0]
        .as_str()
        .is_some_and(|m| m.contains(&format!("profile {profile}"))));
    let (status, _) = server
        .post(
            &server.admin,
            "/api/proxy/site/del",
            json!({"id": [second, 9999]}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, reply) = server
        .post(
            &server.admin,
            "/api/proxy/site/del",
            json!({"id": [second]}),
        )
        .await;
    assert_eq!((status, reply), (200, json!({"result": "ok"})));
    for path in [
        format!("/api/proxy/site/edit/{second}"),
        "/api/proxy/site/edit/x".into(),
    ] {
        let (status, _) = server.get(&server.admin, &path).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn site_lists_belong_to_their_creator() {
    let server = TestServer::start().await;
    let (_alice, alice_key) = panel_user(&server, "alice1").await;
    let (_bob, bob_key) = panel_user(&server, "bobby1").await;
    let alice_list = site_list(&server, &alice_key, "mine", &["a.com"]).await;
    let bob_list = site_list(&server, &bob_key, "his", &["b.com"]).await;
    let (_, listed) = server.get(&alice_key, "/api/proxy/site/list").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["id"], json!(alice_list));
    let path = format!("/api/proxy/site/edit/{bob_list}");
    let (status, _) = server.get(&alice_key, &path).await;
    assert_eq!(status, 404);
    let (status, _) = server
        .post(&alice_key, &path, json!({"name": "gotcha"}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .post(&alice_key, "/api/proxy/site/del", json!({"id": [bob_list]}))
        .await;
    assert_eq!(status, 404);
    let (_, read) = server.get(&bob_key, &path).await;
    assert_eq!(read["name"], json!("his"), "untouched");
    let (_, listed) = server.get(&server.admin, "/api/proxy/site/list").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn ip_and_site_endpoints_need_a_key() {
    let server = TestServer::start().await;
    for (method, path) in [
        ("POST", "/api/proxy/ip/add"),
        ("GET", "/api/proxy/ip/list"),
        ("POST", "/api/proxy/ip/del"),
        ("POST", "/api/proxy/site/add"),
        ("GET", "/api/proxy/site/edit/1"),
        ("POST", "/api/proxy/site/edit/1"),
        ("POST", "/api/proxy/site/list"),
        ("POST", "/api/proxy/site/del"),
    ] {
        let (status, reply) = server.call(method, path, None, Some(json!({}))).await;
        assert_eq!(status, 401, "{method} {path}: {reply}");
    }
}
