//! IP history: `statistic/ip`, `ip/operator`, `ip/modem`, and the store's `record_port_ip`.

mod common;

use common::{assert_field_error, TestServer};
use kordon_model::rutime;
use kordon_store::StoreError;
use serde_json::{json, Value};

/// 26 окт 2020 15:24:55 in Moscow, the document's sample date.
const T0: i64 = 1_603_715_095;

/// A port delegated to `users`.
async fn add_port(server: &TestServer, ifname: &str, users: &[i64]) -> i64 {
    server
        .add_port(&format!("port {ifname}"), ifname, users)
        .await
}

struct World {
    server: TestServer,
    mts: i64,
    megafon: i64,
    lte: i64,
    umts: i64,
    alice_key: String,
    bob_key: String,
    alice_port: i64,
    bob_port: i64,
    free_port: i64,
    /// `port_ips` ids in the order recorded.
    rows: Vec<i64>,
}

/// Two users with one port each and one undelegated port, and this history:
///
/// | # | port  | ip        | operator | network | osfp | at      |
/// |---|-------|-----------|----------|---------|------|---------|
/// | 0 | alice | 10.0.0.1  | MTS      | LTE     | 1    | T0      |
/// | 1 | alice | 10.0.0.2  | MTS      | UMTS    | 2    | T0+60   |
/// | 2 | alice | 10.0.0.1  | MTS      | LTE     | 1    | T0+120  |
/// | 3 | bob   | 10.0.0.1  | MTS      | LTE     | 3    | T0+180  |
/// | 4 | bob   | 20.0.0.1  | MegaFon  | LTE     | 3    | T0+240  |
/// | 5 | free  | 20.0.0.2  | MegaFon  | -       | -    | T0+300  |
/// | 6 | free  | 30.0.0.1  | -        | -       | -    | T0+360  |
async fn world() -> World {
    let server = TestServer::start().await;
    let (alice, alice_key) = server.user("alice1").await;
    let (bob, bob_key) = server.user("bobby1").await;
    let mts = server.store.operator_id("MTS RUS").await.unwrap();
    let megafon = server.store.operator_id("MeGafon RUS").await.unwrap();
    server.store.operator_id("Tele2").await.unwrap();
    let lte = server.store.network_type_id("LTE 4G").await.unwrap();
    let umts = server.store.network_type_id("UMTS 3G").await.unwrap();
    let alice_port = add_port(&server, "wwan0", &[alice]).await;
    let bob_port = add_port(&server, "wwan1", &[bob]).await;
    let free_port = add_port(&server, "wwan2", &[]).await;
    let history = [
        (
            alice_port,
            "10.0.0.1",
            Some(mts),
            Some(lte),
            Some(1),
            T0,
            true,
        ),
        (
            alice_port,
            "10.0.0.2",
            Some(mts),
            Some(umts),
            Some(2),
            T0 + 60,
            true,
        ),
        (
            alice_port,
            "10.0.0.1",
            Some(mts),
            Some(lte),
            Some(1),
            T0 + 120,
            false,
        ),
        (
            bob_port,
            "10.0.0.1",
            Some(mts),
            Some(lte),
            Some(3),
            T0 + 180,
            false,
        ),
        (
            bob_port,
            "20.0.0.1",
            Some(megafon),
            Some(lte),
            Some(3),
            T0 + 240,
            true,
        ),
        (
            free_port,
            "20.0.0.2",
            Some(megafon),
            None,
            None,
            T0 + 300,
            true,
        ),
        (free_port, "30.0.0.1", None, None, None, T0 + 360, false),
    ];
    let mut rows = Vec::new();
    for (port, ip, operator, network, osfp, at, new) in history {
        let recorded = server
            .store
            .record_port_ip(port, ip, operator, network, osfp, at)
            .await
            .unwrap();
        assert_eq!(recorded.new_for_operator, new, "{ip} at {at}");
        rows.push(recorded.port_ip_id);
    }
    World {
        server,
        mts,
        megafon,
        lte,
        umts,
        alice_key,
        bob_key,
        alice_port,
        bob_port,
        free_port,
        rows,
    }
}

fn ids(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {body}"))
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect()
}

fn ips(body: &Value, field: &str) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {body}"))
        .iter()
        .map(|row| row[field].as_str().unwrap().to_string())
        .collect()
}

fn moscow(ts: i64) -> String {
    rutime::format(ts, chrono_tz::Europe::Moscow)
}

#[tokio::test]
async fn record_port_ip_refuses_unknown_ports_and_writes_nothing() {
    let w = world().await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM port_ips")
        .fetch_one(w.server.store.pool())
        .await
        .unwrap();
    let result = w
        .server
        .store
        .record_port_ip(999_999, "1.2.3.4", Some(w.mts), None, None, T0)
        .await;
    assert!(matches!(
        result,
        Err(StoreError::NotFound { what: "port", .. })
    ));
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM port_ips")
        .fetch_one(w.server.store.pool())
        .await
        .unwrap();
    assert_eq!(before, after);
    let pool: i64 = sqlx::query_scalar("SELECT count(*) FROM operator_ips WHERE ip = '1.2.3.4'")
        .fetch_one(w.server.store.pool())
        .await
        .unwrap();
    assert_eq!(pool, 0);
}

#[tokio::test]
async fn statistic_counts_distinct_ips_per_operator_for_everyone() {
    let w = world().await;
    let expected = json!([
        {"name": "MTS RUS", "count": 2},
        {"name": "MeGafon RUS", "count": 2},
        {"name": "Tele2", "count": 0},
    ]);
    for key in [&w.server.admin, &w.alice_key, &w.bob_key] {
        let (status, body) = w.server.get(key, "/api/devices/statistic/ip").await;
        assert_eq!(status, 200);
        assert_eq!(body, expected);
    }
    let (status, _) = w
        .server
        .call("GET", "/api/devices/statistic/ip/", None, None)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn ip_operator_lists_the_pool_with_the_documented_fields() {
    let w = world().await;
    let (status, body) = w
        .server
        .post(
            &w.server.admin,
            "/api/devices/ip/operator",
            json!({"pagination": {"perpage": 10, "page": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["meta"],
        json!({"total": 4, "perpage": 10, "pages": 1, "page": 1, "sort": "asc", "field": "id"})
    );
    let first = &body["data"][0];
    assert_eq!(
        first,
        &json!({
            "id": first["id"],
            "ip": "10.0.0.1",
            "date_create": "26 окт 2020 15:24:55",
            "operator": w.mts,
        })
    );
    assert_eq!(
        ips(&body, "ip"),
        ["10.0.0.1", "10.0.0.2", "20.0.0.1", "20.0.0.2"]
    );
    assert_eq!(body["data"][2]["operator"], w.megafon);
    assert_eq!(body["data"][3]["date_create"], moscow(T0 + 300));

    // Operator-wide data: a non-superuser sees the same pool.
    let (status, body) = w
        .server
        .post(&w.alice_key, "/api/devices/ip/operator", json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["meta"]["total"], 4);
}

/// `filter` on `path` as `key`; returns the reply.
async fn filtered(w: &World, key: &str, path: &str, filter: Value) -> Value {
    let (status, body) = w
        .server
        .post(
            key,
            path,
            json!({"filter": filter, "pagination": {"perpage": 100}}),
        )
        .await;
    assert_eq!(status, 200, "{filter}: {body}");
    assert!(body["errors"].is_null(), "{filter}: {body}");
    assert_eq!(
        body["meta"]["total"].as_u64().unwrap() as usize,
        body["data"].as_array().unwrap().len(),
        "total counts the same rows: {body}"
    );
    body
}

#[tokio::test]
async fn ip_operator_filters() {
    let w = world().await;
    let admin = w.server.admin.clone();
    let path = "/api/devices/ip/operator";
    let cases = [
        (json!({"operator__id": w.mts}), vec!["10.0.0.1", "10.0.0.2"]),
        (
            json!({"operator__id": w.megafon.to_string()}),
            vec!["20.0.0.1", "20.0.0.2"],
        ),
        (
            json!({"operator__name__contains": "Gafon"}),
            vec!["20.0.0.1", "20.0.0.2"],
        ),
        // `__contains` is case-sensitive, as Django's lookup.
        (json!({"operator__name__contains": "gafon"}), vec![]),
        (
            json!({"operator__name__contains": "RUS"}),
            vec!["10.0.0.1", "10.0.0.2", "20.0.0.1", "20.0.0.2"],
        ),
        (json!({"ip": "20.0.0.1"}), vec!["20.0.0.1"]),
        (
            json!({"date_create": "26 окт 2020 15:25:55"}),
            vec!["10.0.0.2"],
        ),
        (
            json!({"date_create__range": ["2020-10-26T12:25:00Z", "2020-10-26 15:29:00"]}),
            vec!["10.0.0.2", "20.0.0.1"],
        ),
        // The document's own sample: MTS IPs that a port had with fingerprint 1.
        (json!({"operator__id": w.mts, "osid": 1}), vec!["10.0.0.1"]),
        (json!({"osid": "3"}), vec!["10.0.0.1", "20.0.0.1"]),
        (json!({"osid": 2}), vec!["10.0.0.2"]),
        (json!({"osid": 7}), vec![]),
    ];
    for (filter, expected) in cases {
        let body = filtered(&w, &admin, path, filter.clone()).await;
        assert_eq!(ips(&body, "ip"), expected, "{filter}");
    }
    // `osid` looks only into the caller's own ports: bob's port had 10.0.0.1 with
    // fingerprint 3, alice's never did.
    let body = filtered(&w, &w.bob_key, path, json!({"osid": 3})).await;
    assert_eq!(ips(&body, "ip"), ["10.0.0.1", "20.0.0.1"]);
    let body = filtered(&w, &w.alice_key, path, json!({"osid": 3})).await;
    assert_eq!(ips(&body, "ip"), Vec::<String>::new());
    let body = filtered(&w, &w.alice_key, path, json!({"osid": 1})).await;
    assert_eq!(ips(&body, "ip"), ["10.0.0.1"]);
}

#[tokio::test]
async fn ip_operator_pages_sorts_and_refuses_bad_requests() {
    let w = world().await;
    let admin = &w.server.admin;
    let path = "/api/devices/ip/operator";
    let (_, body) = w
        .server
        .post(
            admin,
            path,
            json!({"pagination": {"perpage": 3, "page": 2, "field": "ip", "sort": "desk"}}),
        )
        .await;
    assert_eq!(body["meta"]["pages"], 2);
    assert_eq!(body["meta"]["field"], "ip");
    assert_eq!(ips(&body, "ip"), ["10.0.0.1"]);
    let (_, body) = w
        .server
        .post(
            admin,
            path,
            json!({"pagination": {"perpage": 2, "field": "date_create", "sort": "desc"}}),
        )
        .await;
    assert_eq!(ips(&body, "ip"), ["20.0.0.2", "20.0.0.1"]);

    let (status, body) = w
        .server
        .post(admin, path, json!({"filter": {"oip__ip": "10.0.0.1"}}))
        .await;
    assert_field_error(status, &body, "filter");
    let (status, body) = w
        .server
        .post(
            admin,
            path,
            json!({"filter": {"operator__id": "mts", "date_create__range": ["x"], "osid": [1]},
                   "pagination": {"page": 0, "field": "operator", "sort": "up"}}),
        )
        .await;
    for field in [
        "filter.operator__id",
        "filter.date_create__range",
        "filter.osid",
        "pagination.page",
        "pagination.field",
        "pagination.sort",
    ] {
        assert_field_error(status, &body, field);
    }
    let (status, body) = w
        .server
        .post(admin, path, json!({"filter": "operator__id=1"}))
        .await;
    assert_field_error(status, &body, "filter");
    let (status, _) = w.server.call("POST", path, None, Some(json!({}))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn ip_modem_lists_history_with_the_documented_fields() {
    let w = world().await;
    let (status, body) = w
        .server
        .post(
            &w.server.admin,
            "/api/devices/ip/modem",
            json!({"filter": {}, "pagination": {"perpage": 10, "page": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["meta"],
        json!({"total": 7, "perpage": 10, "pages": 1, "page": 1, "sort": "asc", "field": "id"})
    );
    assert_eq!(ids(&body), w.rows);
    assert_eq!(
        body["data"][0],
        json!({
            "id": w.rows[0],
            "oip": "10.0.0.1",
            "modem": w.alice_port,
            "network_type": w.lte,
            "osfp": 1,
            "date_create": "26 окт 2020 15:24:55",
        })
    );
    assert_eq!(
        body["data"][5],
        json!({
            "id": w.rows[5],
            "oip": "20.0.0.2",
            "modem": w.free_port,
            "network_type": null,
            "osfp": null,
            "date_create": moscow(T0 + 300),
        })
    );
}

#[tokio::test]
async fn ip_modem_filters() {
    let w = world().await;
    let admin = w.server.admin.clone();
    let path = "/api/devices/ip/modem";
    let r = &w.rows;
    let cases = [
        (json!({"operator__id": w.megafon}), vec![r[4], r[5]]),
        (
            json!({"operator__name__contains": "MTS"}),
            vec![r[0], r[1], r[2], r[3]],
        ),
        (json!({"operator__name__contains": "Tele2"}), vec![]),
        (json!({"oip__ip": "10.0.0.1"}), vec![r[0], r[2], r[3]]),
        (
            json!({"oip__ip__in": ["10.0.0.2", "30.0.0.1"]}),
            vec![r[1], r[6]],
        ),
        (json!({"oip__ip__in": []}), vec![]),
        (json!({"date_create": "2020-10-26 15:28:55"}), vec![r[4]]),
        (
            json!({"date_create__range": ["26 окт 2020 15:26:55", "26 окт 2020 15:30:55"]}),
            vec![r[2], r[3], r[4], r[5], r[6]],
        ),
        (json!({"network_type__id": w.umts}), vec![r[1]]),
        (
            json!({"network_type__id__in": [w.lte, w.umts]}),
            vec![r[0], r[1], r[2], r[3], r[4]],
        ),
        (
            json!({"network_type__name": "LTE 4G"}),
            vec![r[0], r[2], r[3], r[4]],
        ),
        (json!({"network_type__name": "lte 4g"}), vec![]),
        (
            json!({"network_type__name__in": ["UMTS 3G", "5G"]}),
            vec![r[1]],
        ),
        (json!({"osid": 3}), vec![r[3], r[4]]),
        (json!({"operator__id": w.mts, "osid": 1}), vec![r[0], r[2]]),
        (json!({"modem__id": w.free_port}), vec![r[5], r[6]]),
    ];
    for (filter, expected) in cases {
        let body = filtered(&w, &admin, path, filter.clone()).await;
        assert_eq!(ids(&body), expected, "{filter}");
    }
}

#[tokio::test]
async fn ip_modem_shows_each_user_only_their_ports() {
    let w = world().await;
    let path = "/api/devices/ip/modem";
    let r = &w.rows;
    let body = filtered(&w, &w.alice_key, path, json!({})).await;
    assert_eq!(ids(&body), [r[0], r[1], r[2]]);
    assert_eq!(body["meta"]["total"], 3);
    let body = filtered(&w, &w.bob_key, path, json!(null)).await;
    assert_eq!(ids(&body), [r[3], r[4]]);

    // Guessing the other's port, IPs or catalogue names reveals nothing.
    let probes = [
        json!({"modem__id": w.bob_port}),
        json!({"modem__id": w.free_port}),
        json!({"oip__ip": "20.0.0.1"}),
        json!({"oip__ip__in": ["20.0.0.1", "20.0.0.2", "30.0.0.1"]}),
        json!({"operator__id": w.megafon}),
        json!({"osid": 3}),
    ];
    for probe in probes {
        let body = filtered(&w, &w.alice_key, path, probe.clone()).await;
        assert_eq!(ids(&body), Vec::<i64>::new(), "{probe}");
        assert_eq!(body["meta"]["total"], 0);
    }
    let body = filtered(&w, &w.bob_key, path, json!({"oip__ip": "10.0.0.1"})).await;
    assert_eq!(ids(&body), [r[3]]);
    let body = filtered(&w, &w.bob_key, path, json!({"modem__id": w.alice_port})).await;
    assert_eq!(ids(&body), Vec::<i64>::new());
}

#[tokio::test]
async fn ip_modem_pages_sorts_and_refuses_bad_requests() {
    let w = world().await;
    let admin = &w.server.admin;
    let path = "/api/devices/ip/modem";
    let r = &w.rows;
    let page = |pagination: Value| json!({"pagination": pagination});
    let (_, body) = w
        .server
        .post(admin, path, page(json!({"perpage": 3, "page": 3})))
        .await;
    assert_eq!(body["meta"]["pages"], 3);
    assert_eq!(ids(&body), [r[6]]);
    let (_, body) = w
        .server
        .post(admin, path, page(json!({"perpage": 3, "page": 9})))
        .await;
    assert_eq!(ids(&body), Vec::<i64>::new(), "past the end: empty page");
    let (_, body) = w
        .server
        .post(
            admin,
            path,
            page(json!({"field": "oip", "sort": "desc", "perpage": 4})),
        )
        .await;
    // Ties on the same IP break on id in the same direction.
    assert_eq!(ids(&body), [r[6], r[5], r[4], r[1]]);
    let (_, body) = w
        .server
        .post(admin, path, page(json!({"field": "modem", "perpage": 4})))
        .await;
    assert_eq!(ids(&body), [r[0], r[1], r[2], r[3]]);
    let (_, body) = w
        .server
        .post(
            admin,
            path,
            page(json!({"field": "date_create", "sort": "desk", "perpage": 2})),
        )
        .await;
    assert_eq!(ids(&body), [r[6], r[5]]);

    let (status, body) = w
        .server
        .post(admin, path, json!({"filter": {"ip": "10.0.0.1"}}))
        .await;
    assert_field_error(status, &body, "filter");
    let (status, body) = w
        .server
        .post(
            admin,
            path,
            json!({"filter": {"network_type__id__in": ["LTE"], "modem__id": "one",
                              "date_create": "вчера"},
                   "pagination": {"perpage": 5000}}),
        )
        .await;
    for field in [
        "filter.network_type__id__in",
        "filter.modem__id",
        "filter.date_create",
        "pagination.perpage",
    ] {
        assert_field_error(status, &body, field);
    }
    let (status, _) = w.server.call("POST", path, None, Some(json!({}))).await;
    assert_eq!(status, 401);
}

/// Fills the store with the benchmark's volume: 1,000 ports (10 delegated to `small`, all to
/// `large`) and 1,000,000 history rows over 4 operators, 3 network types and 8 fingerprints.
async fn fill_million(server: &TestServer, small: i64, large: i64) {
    let pool = server.store.pool();
    for name in ["MTS RUS", "MeGafon RUS", "Beeline", "Tele2"] {
        server.store.operator_id(name).await.unwrap();
    }
    for name in ["LTE 4G", "UMTS 3G", "GSM"] {
        server.store.network_type_id(name).await.unwrap();
    }
    let statements = [
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
         INSERT INTO ports (name, active, model_id, net_mode, monitoring_interval, is_osfp, \
         ifname, mtu, reconnect_type, reconnect_interval, reconnect_min, link_token, \
         date_create, date_update) \
         SELECT 'p' || i, 1, 1, 'lte', 10, 0, 'wwan' || i, 0, 'time', 600, 60, 'tok' || i, 0, 0 \
         FROM n",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) \
         INSERT INTO port_ips (oip, port_id, operator_id, network_type_id, osfp_id, date_create) \
         SELECT '10.' || (i % 251) || '.' || ((i / 251) % 251) || '.' || (i % 7), \
         (i % 1000) + 1, ((i / 1000) % 4) + 1, (i % 3) + 1, \
         CASE WHEN i % 9 = 0 THEN NULL ELSE (i % 8) + 1 END, 1600000000 + i * 30 FROM n",
        "INSERT OR IGNORE INTO operator_ips (ip, operator_id, date_create) \
         SELECT oip, operator_id, min(date_create) FROM port_ips GROUP BY operator_id, oip",
    ];
    for statement in statements {
        sqlx::query(statement).execute(pool).await.unwrap();
    }
    for (user, ports) in [(small, 10), (large, 1000)] {
        sqlx::query(
            "INSERT INTO port_users (port_id, user_id) SELECT id, ? FROM ports WHERE id <= ?",
        )
        .bind(user)
        .bind(ports)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// Median and worst of five calls, in milliseconds.
async fn time_calls(server: &TestServer, key: &str, path: &str, body: &Value) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let (status, reply) = server.post(key, path, body.clone()).await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{body}: {reply}");
        assert!(reply["errors"].is_null(), "{body}: {reply}");
    }
    times.sort_by(f64::total_cmp);
    (times[2], times[4])
}

/// Benchmark of the history lists at the target volume. Timings are printed; the bound only
/// catches a plan gone wrong (a full sort or a table read per row costs seconds here), not
/// the release target of 20 ms at p99. In a debug build on two cores the superuser's and
/// the ten-port user's pages take 2-35 ms; a user holding every port pays for counting all
/// 1,000,000 index entries (60-150 ms).
#[tokio::test]
#[ignore = "benchmark: fills 1,000,000 rows; run with --ignored --nocapture"]
async fn history_lists_stay_fast_with_a_million_rows() {
    let server = TestServer::start().await;
    let (alice, alice_key) = server.user("alice1").await;
    let (bob, bob_key) = server.user("bobby1").await;
    fill_million(&server, alice, bob).await;
    let filters = [
        json!({}),
        json!({"operator__id": 1}),
        json!({"operator__id": 1, "osid": 7}),
        json!({"osid": 7}),
        json!({"modem__id": 7}),
        json!({"oip__ip__in": ["10.5.5.5", "10.6.6.6"]}),
        json!({"network_type__name": "UMTS 3G"}),
        json!({"operator__name__contains": "MTS"}),
        json!({"date_create__range": ["2020-10-01", "2020-10-05"]}),
        json!({"network_type__id__in": [1, 2]}),
    ];
    let callers = [
        ("admin", server.admin.as_str()),
        ("alice (10 ports)", alice_key.as_str()),
        ("bob (all ports)", bob_key.as_str()),
    ];
    for (who, key) in callers {
        for filter in &filters {
            for field in ["id", "date_create", "oip", "modem"] {
                let body = json!({"filter": filter,
                                  "pagination": {"perpage": 100, "field": field, "sort": "desc"}});
                let (median, worst) =
                    time_calls(&server, key, "/api/devices/ip/modem", &body).await;
                eprintln!("ip/modem {who} {filter} by {field}: {median:.1} ms, max {worst:.1} ms");
                assert!(
                    median < 150.0,
                    "ip/modem {who} {filter} by {field}: {median} ms"
                );
            }
        }
        for filter in [
            json!({}),
            json!({"operator__id": 1}),
            json!({"ip": "10.5.5.5"}),
        ] {
            let body = json!({"filter": filter, "pagination": {"perpage": 100}});
            let (median, worst) = time_calls(&server, key, "/api/devices/ip/operator", &body).await;
            eprintln!("ip/operator {who} {filter}: {median:.1} ms, max {worst:.1} ms");
            assert!(median < 300.0, "ip/operator {who} {filter}: {median} ms");
        }
    }
}
