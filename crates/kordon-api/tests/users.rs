//! Panel users: `users/add`, `users/edit/{id}`, `users/list`, `users/active`, `users/del`.

mod common;

use common::{assert_field_error, TestServer, ADMIN, ADMIN_PASSWORD};
use kordon_model::rutime;
use serde_json::{json, Value};

/// The document's `users/add` sample body.
fn kraken() -> Value {
    json!({
        "username": "kraken",
        "password": "1256252kraken",
        "per_password": "1256252kraken",
        "first_name": "",
        "last_name": "",
        "email": "info@kraken-proxy.ru",
        "is_active": true,
        "userprofile": {"timezone": "Europe/Moscow", "phone": ""}
    })
}

fn with(mut base: Value, patch: Value) -> Value {
    if let (Some(base), Some(patch)) = (base.as_object_mut(), patch.as_object()) {
        for (key, value) in patch {
            base.insert(key.clone(), value.clone());
        }
    }
    base
}

/// Whether a login with these credentials succeeds.
async fn can_login(server: &TestServer, username: &str, password: &str) -> bool {
    let (status, body) = server
        .call(
            "POST",
            "/api/auth/login/",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await;
    status == 200 && body["key"].is_string()
}

fn assert_no_password_anywhere(value: &Value) {
    let text = value.to_string();
    assert!(!text.contains("password"), "password leaked: {text}");
    assert!(!text.contains("argon2"), "hash leaked: {text}");
}

#[tokio::test]
async fn add_replies_with_the_documented_object() {
    let server = TestServer::start().await;
    let (status, body) = server.post(&server.admin, "/api/users/add", kraken()).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().expect("id");
    let stored = server.store.user(id).await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": id,
            "username": "kraken",
            "first_name": "",
            "last_name": "",
            "email": "info@kraken-proxy.ru",
            "is_staff": false,
            "is_active": true,
            "is_superuser": false,
            "userprofile": {"phone": null, "timezone": "Europe/Moscow"},
            "date_joined": rutime::format(stored.date_joined, chrono_tz::Europe::Moscow),
        })
    );
    assert!((stored.date_joined - rutime::now()).abs() < 60);
    assert!(can_login(&server, "kraken", "1256252kraken").await);
    assert_no_password_anywhere(&body);

    // Names are kept, a phone is kept, numbers-as-strings and 1/0 booleans are accepted,
    // unknown fields ignored; is_superuser is not an API field.
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/add",
            json!({
                "username": "second_user",
                "password": "abc123",
                "per_password": "abc123",
                "first_name": "Иван",
                "last_name": "Петров",
                "email": "Second@Example.com",
                "is_active": "0",
                "is_superuser": true,
                "whatever": [1, 2],
                "userprofile": {"timezone": "Asia/Tokyo", "phone": "+7 999 123-45-67"}
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["first_name"], "Иван");
    assert_eq!(body["last_name"], "Петров");
    assert_eq!(body["is_active"], false);
    assert_eq!(body["is_superuser"], false);
    assert_eq!(body["userprofile"]["phone"], "+7 999 123-45-67");
    assert_eq!(body["userprofile"]["timezone"], "Asia/Tokyo");
    assert!(
        !can_login(&server, "second_user", "abc123").await,
        "inactive users cannot log in"
    );
}

#[tokio::test]
async fn date_joined_is_shown_in_the_callers_time_zone() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/add",
            with(
                kraken(),
                json!({"userprofile": {"timezone": "Asia/Tokyo", "phone": ""}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().unwrap();
    let joined = server.store.user(id).await.unwrap().date_joined;
    // The caller (admin) reads in Moscow time, not in the new user's Tokyo time.
    assert_eq!(
        body["date_joined"],
        rutime::format(joined, chrono_tz::Europe::Moscow)
    );

    // Move the admin to UTC: the same user now reads three hours earlier.
    let admin = server.store.user_by_name(ADMIN).await.unwrap().unwrap();
    let (status, body) = server
        .post(
            &server.admin,
            &format!("/api/users/edit/{}", admin.id),
            json!({
                "username": ADMIN, "email": admin.email, "is_active": true,
                "userprofile": {"timezone": "UTC"}
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .get(&server.admin, &format!("/api/users/edit/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["date_joined"], rutime::format(joined, chrono_tz::UTC));
    assert_ne!(
        body["date_joined"],
        rutime::format(joined, chrono_tz::Europe::Moscow)
    );
}

#[tokio::test]
async fn add_reports_every_error_at_once_and_writes_nothing() {
    let server = TestServer::start().await;
    let before = server.store.user_count().await.unwrap();
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/add",
            json!({
                "username": "Ab",
                "password": "abcdef",
                "per_password": "other",
                "email": "not-an-email",
                "is_active": "maybe",
                "userprofile": {"timezone": "Mars/Olympus"}
            }),
        )
        .await;
    for field in [
        "username",
        "password",
        "per_password",
        "email",
        "is_active",
        "userprofile.timezone",
    ] {
        assert_field_error(status, &body, field);
    }
    assert_eq!(server.store.user_count().await.unwrap(), before);

    // Missing everything: each required field is named.
    let (status, body) = server
        .post(&server.admin, "/api/users/add", json!({}))
        .await;
    for field in [
        "username",
        "password",
        "per_password",
        "email",
        "is_active",
        "userprofile",
    ] {
        assert_field_error(status, &body, field);
    }
    assert_eq!(
        body["errors"]["username"][0], "This field is required.",
        "{body}"
    );

    // Wrong types.
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/add",
            with(
                kraken(),
                json!({"username": ["x"], "userprofile": "Europe/Moscow"}),
            ),
        )
        .await;
    assert_field_error(status, &body, "username");
    assert_field_error(status, &body, "userprofile");

    // Rule edges: a 5-character name and a 6-character password are fine, 4 and 5 are not.
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/add",
            with(
                kraken(),
                json!({"username": "abcd", "password": "abc12", "per_password": "abc12"}),
            ),
        )
        .await;
    assert_field_error(status, &body, "username");
    assert_field_error(status, &body, "password");
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/add",
            with(
                kraken(),
                json!({"username": "abcde", "password": "abc123", "per_password": "abc123"}),
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["username"], "abcde", "{body}");
    assert_eq!(server.store.user_count().await.unwrap(), before + 1);
}

#[tokio::test]
async fn usernames_and_emails_are_unique() {
    let server = TestServer::start().await;
    let (status, _) = server.post(&server.admin, "/api/users/add", kraken()).await;
    assert_eq!(status, 200);
    let count = server.store.user_count().await.unwrap();
    // Same name and the same e-mail in other case: both reported together.
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/add",
            with(kraken(), json!({"email": "INFO@Kraken-Proxy.RU"})),
        )
        .await;
    assert_field_error(status, &body, "username");
    assert_field_error(status, &body, "email");
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/add",
            with(kraken(), json!({"username": "kraken2"})),
        )
        .await;
    assert_field_error(status, &body, "email");
    assert!(body["errors"]["username"].is_null(), "{body}");
    assert_eq!(server.store.user_count().await.unwrap(), count);
}

#[tokio::test]
async fn edit_reads_saves_and_keeps_or_changes_the_password() {
    let server = TestServer::start().await;
    let (_, created) = server.post(&server.admin, "/api/users/add", kraken()).await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/users/edit/{id}");

    let (status, body) = server.get(&server.admin, &path).await;
    assert_eq!(status, 200);
    assert_eq!(body, created);
    let (status, _) = server.get(&server.admin, &format!("{path}/")).await;
    assert_eq!(status, 200, "trailing slash works");

    // The document's edit sample: empty passwords keep the password.
    let edit = with(
        kraken(),
        json!({"password": "", "per_password": "", "first_name": "Kra", "email": "new@kraken.ru",
               "userprofile": {"timezone": "Asia/Yekaterinburg", "phone": "123"}}),
    );
    let (status, body) = server.post(&server.admin, &path, edit).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["first_name"], "Kra");
    assert_eq!(body["email"], "new@kraken.ru");
    assert_eq!(body["userprofile"]["timezone"], "Asia/Yekaterinburg");
    assert_eq!(body["userprofile"]["phone"], "123");
    assert_eq!(body["date_joined"], created["date_joined"]);
    assert_no_password_anywhere(&body);
    assert!(can_login(&server, "kraken", "1256252kraken").await);

    // Absent passwords keep it too; a new one replaces it and ends the old sessions.
    let old_key = server.login("kraken", "1256252kraken").await;
    let (status, _) = server
        .post(
            &server.admin,
            &path,
            with(
                kraken(),
                json!({"password": "newpass77", "per_password": "newpass77"}),
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert!(can_login(&server, "kraken", "newpass77").await);
    assert!(!can_login(&server, "kraken", "1256252kraken").await);
    let (status, _) = server.get(&old_key, "/api/dashboard/cpu").await;
    assert_eq!(status, 401, "a password change revokes the user's keys");

    // Mismatch, a missing repeat, a weak password: errors and nothing saved.
    let (status, body) = server
        .post(
            &server.admin,
            &path,
            with(
                kraken(),
                json!({"password": "another88", "per_password": "another89", "first_name": "X"}),
            ),
        )
        .await;
    assert_field_error(status, &body, "per_password");
    let (status, body) = server
        .post(
            &server.admin,
            &path,
            with(kraken(), json!({"password": "another88"}))
                .as_object()
                .map(|m| {
                    let mut m = m.clone();
                    m.remove("per_password");
                    Value::Object(m)
                })
                .unwrap(),
        )
        .await;
    assert_field_error(status, &body, "per_password");
    let (status, body) = server
        .post(
            &server.admin,
            &path,
            with(
                kraken(),
                json!({"password": "onlyletters", "per_password": "onlyletters"}),
            ),
        )
        .await;
    assert_field_error(status, &body, "password");
    assert!(can_login(&server, "kraken", "newpass77").await);
    assert_eq!(server.store.user(id).await.unwrap().first_name, "");

    // Taking another user's name or e-mail is refused.
    let (status, body) = server
        .post(
            &server.admin,
            &path,
            with(
                kraken(),
                json!({"username": ADMIN, "email": "ADMIN@example.com"}),
            ),
        )
        .await;
    assert_field_error(status, &body, "username");
    assert_field_error(status, &body, "email");
    assert_eq!(server.store.user(id).await.unwrap().username, "kraken");

    // Unknown ids, on read and on save.
    for path in ["/api/users/edit/999999", "/api/users/edit/abc"] {
        let (status, body) = server.get(&server.admin, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["detail"].is_string());
        let (status, _) = server.post(&server.admin, path, kraken()).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn deactivating_through_edit_kills_keys_but_not_for_yourself() {
    let server = TestServer::start().await;
    let (id, key) = server.user("alice1").await;
    let (status, _) = server.get(&key, "/api/dashboard/cpu").await;
    assert_eq!(status, 200);
    let (status, body) = server
        .post(
            &server.admin,
            &format!("/api/users/edit/{id}"),
            json!({"username": "alice1", "email": "alice1@example.com", "is_active": false,
                   "userprofile": {"timezone": "Europe/Moscow"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["is_active"], false);
    let (status, _) = server.get(&key, "/api/dashboard/cpu").await;
    assert_eq!(status, 401, "the deactivated user's key dies at once");
    assert!(!can_login(&server, "alice1", "secret123").await);

    let admin = server.store.user_by_name(ADMIN).await.unwrap().unwrap();
    let (status, body) = server
        .post(
            &server.admin,
            &format!("/api/users/edit/{}", admin.id),
            json!({"username": ADMIN, "email": admin.email, "is_active": false,
                   "userprofile": {"timezone": "Europe/Moscow"}}),
        )
        .await;
    assert_field_error(status, &body, "is_active");
    assert!(server.store.user(admin.id).await.unwrap().is_active);
}

#[tokio::test]
async fn list_pages_and_sorts() {
    let server = TestServer::start().await;
    let mut ids = vec![server.store.user_by_name(ADMIN).await.unwrap().unwrap().id];
    for name in ["carol", "alice", "bobby", "daniel"] {
        ids.push(server.user(name).await.0);
    }
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/list",
            json!({"pagination": {"perpage": 10, "page": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["meta"],
        json!({"total": 5, "perpage": 10, "pages": 1, "page": 1, "sort": "asc", "field": "id"})
    );
    let got: Vec<i64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids);
    let alice = &body["data"][2];
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(
        alice["userprofile"],
        json!({"phone": null, "timezone": "Europe/Moscow"})
    );
    assert!(alice["date_joined"].as_str().unwrap().contains(" 20"));
    assert_no_password_anywhere(&body);

    // No body at all: the defaults.
    let (status, body) = server
        .call("POST", "/api/users/list/", Some(&server.admin), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["meta"]["perpage"], 10);
    assert_eq!(body["data"].as_array().unwrap().len(), 5);

    // Page 2 of 2 sorted by name, descending ("desk" as the document spells it).
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/list",
            json!({"pagination": {"perpage": "3", "page": 2, "field": "username", "sort": "desk"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["pages"], 2);
    assert_eq!(body["meta"]["sort"], "desc");
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "admin"]);

    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/list",
            json!({"pagination": {"field": "password_hash", "perpage": 0}}),
        )
        .await;
    assert_field_error(status, &body, "pagination.field");
    assert_field_error(status, &body, "pagination.perpage");
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/list",
            json!({"filter": {"username": "alice"}}),
        )
        .await;
    assert_field_error(status, &body, "filter");
    let (status, body) = server
        .post(&server.admin, "/api/users/list", json!({"filter": []}))
        .await;
    assert_eq!(status, 200, "an empty filter is no filter: {body}");
}

#[tokio::test]
async fn active_switches_users_and_their_keys() {
    let server = TestServer::start().await;
    let (alice, alice_key) = server.user("alice1").await;
    let (bob, bob_key) = server.user("bobby1").await;
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/active",
            json!({"id": [alice, bob], "active": false}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"result": "ok"})));
    for key in [&alice_key, &bob_key] {
        let (status, _) = server.get(key, "/api/dashboard/cpu").await;
        assert_eq!(status, 401);
    }
    assert!(!can_login(&server, "alice1", "secret123").await);
    assert!(!server.store.user(bob).await.unwrap().is_active);

    // Strings and a single id are accepted.
    let (status, _) = server
        .post(
            &server.admin,
            "/api/users/active",
            json!({"id": alice.to_string(), "active": "true"}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(can_login(&server, "alice1", "secret123").await);
    assert!(!server.store.user(bob).await.unwrap().is_active);

    // Any unknown id: 404 and nothing changes.
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/active",
            json!({"id": [bob, 999999], "active": true}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(!server.store.user(bob).await.unwrap().is_active);

    // Yourself: refused on `id`, nothing changes.
    let admin = server.store.user_by_name(ADMIN).await.unwrap().unwrap();
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/active",
            json!({"id": [alice, admin.id], "active": false}),
        )
        .await;
    assert_field_error(status, &body, "id");
    assert!(server.store.user(alice).await.unwrap().is_active);
    let (status, _) = server.get(&server.admin, "/api/dashboard/cpu").await;
    assert_eq!(status, 200);

    // Wrong and missing fields.
    let (status, body) = server
        .post(
            &server.admin,
            "/api/users/active",
            json!({"id": ["x"], "active": "perhaps"}),
        )
        .await;
    assert_field_error(status, &body, "id");
    assert_field_error(status, &body, "active");
    let (status, body) = server
        .post(&server.admin, "/api/users/active", json!({}))
        .await;
    assert_field_error(status, &body, "id");
    assert_field_error(status, &body, "active");
}

#[tokio::test]
async fn another_superuser_may_be_deactivated_but_never_the_last_one() {
    let server = TestServer::start().await;
    let second = server
        .store
        .create_user(&kordon_store::users::UserFields {
            username: "root2".into(),
            password: Some("rootpass1".into()),
            email: "root2@example.com".into(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_superuser: true,
            phone: None,
            timezone: "UTC".into(),
        })
        .await
        .unwrap();
    let second_key = server.login("root2", "rootpass1").await;
    let (status, _) = server
        .post(
            &server.admin,
            "/api/users/active",
            json!({"id": [second.id], "active": false}),
        )
        .await;
    assert_eq!(status, 200);
    // The admin is now the only active superuser and cannot switch themself off.
    let admin = server.store.user_by_name(ADMIN).await.unwrap().unwrap();
    let (status, body) = server
        .post(&server.admin, "/api/users/del", json!({"id": [admin.id]}))
        .await;
    assert_field_error(status, &body, "id");
    let (status, _) = server.get(&second_key, "/api/dashboard/cpu").await;
    assert_eq!(status, 401);
    assert!(server.login(ADMIN, ADMIN_PASSWORD).await.len() == 40);
}

#[tokio::test]
async fn del_removes_users_their_keys_and_delegations() {
    let server = TestServer::start().await;
    let (alice, alice_key) = server.user("alice1").await;
    let (bob, _) = server.user("bobby1").await;
    server.add_port("p", "wwan0", &[alice]).await;

    // An unknown id among them: 404 and nobody is deleted.
    let (status, _) = server
        .post(
            &server.admin,
            "/api/users/del",
            json!({"id": [alice, 999999]}),
        )
        .await;
    assert_eq!(status, 404);
    assert!(server.store.user(alice).await.is_ok());

    let (status, body) = server
        .post(&server.admin, "/api/users/del", json!({"id": [alice]}))
        .await;
    assert_eq!((status, body), (200, json!({"result": "ok"})));
    let (status, _) = server
        .get(&server.admin, &format!("/api/users/edit/{alice}"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = server.get(&alice_key, "/api/dashboard/cpu").await;
    assert_eq!(status, 401);
    assert!(!can_login(&server, "alice1", "secret123").await);
    let delegations: i64 = sqlx::query_scalar("SELECT count(*) FROM port_users WHERE user_id = ?")
        .bind(alice)
        .fetch_one(server.store.pool())
        .await
        .unwrap();
    assert_eq!(delegations, 0);
    assert!(server.store.user(bob).await.is_ok(), "others untouched");

    let (status, body) = server
        .post(&server.admin, "/api/users/del", json!({"id": "abc"}))
        .await;
    assert_field_error(status, &body, "id");
}

#[tokio::test]
async fn only_superusers_manage_users_and_only_with_a_key() {
    let server = TestServer::start().await;
    let (alice, alice_key) = server.user("alice1").await;
    let (bob, _) = server.user("bobby1").await;
    let calls = [
        ("POST", "/api/users/add".to_string(), kraken()),
        ("GET", format!("/api/users/edit/{bob}"), json!(null)),
        ("POST", format!("/api/users/edit/{bob}"), kraken()),
        ("GET", format!("/api/users/edit/{alice}"), json!(null)),
        ("POST", "/api/users/list".to_string(), json!({})),
        (
            "POST",
            "/api/users/active".to_string(),
            json!({"id": [bob], "active": false}),
        ),
        ("POST", "/api/users/del".to_string(), json!({"id": [bob]})),
    ];
    for (method, path, body) in &calls {
        let body = (!body.is_null()).then(|| body.clone());
        let (status, reply) = server
            .call(method, path, Some(&alice_key), body.clone())
            .await;
        assert_eq!(status, 403, "{method} {path}: {reply}");
        assert!(reply["detail"].is_string());
        let (status, _) = server.call(method, path, None, body).await;
        assert_eq!(status, 401, "{method} {path} without a key");
    }
    // Nothing the refused calls asked for happened.
    assert!(server.store.user(bob).await.unwrap().is_active);
    assert!(server.store.user_by_name("kraken").await.unwrap().is_none());
}
