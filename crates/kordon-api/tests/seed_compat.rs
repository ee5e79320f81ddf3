//! Replays the farm document's own sample requests (with its broken JSON fixed: quoted keys,
//! balanced braces) and checks every reply carries the sample reply's fields with the sample's
//! JSON types. Where kordon deliberately differs from a sample, the test says why.

mod common;

use common::TestServer;
use serde_json::{json, Value};

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `sample` is in `actual` with the same JSON type (a `null` in the sample
/// accepts any type; arrays are checked on their first element).
fn assert_shape(actual: &Value, sample: &Value, path: &str) {
    match (sample, actual) {
        (Value::Null, _) => {}
        (Value::Object(expected), Value::Object(got)) => {
            for (key, sample_value) in expected {
                let Some(value) = got.get(key) else {
                    panic!("{path}.{key} missing in {actual}");
                };
                assert_shape(value, sample_value, &format!("{path}.{key}"));
            }
        }
        (Value::Array(expected), Value::Array(got)) => {
            if let (Some(first_expected), Some(first_got)) = (expected.first(), got.first()) {
                assert_shape(first_got, first_expected, &format!("{path}[0]"));
            }
        }
        _ => assert_eq!(
            kind(actual),
            kind(sample),
            "{path}: {actual} vs sample {sample}"
        ),
    }
}

const MODEM_SAMPLE: &str = r#"{
    "name": "p-7", "ifname": "enp6s0u1u1u2u3", "type": 4, "active": true, "is_osfp": false,
    "osfp": null, "monitoring_interval": 3, "mtu": 0, "net_mode": "lte",
    "reconnect_interval": 240, "reconnect_type": "time_link", "reconnect_min": 20, "users": []
}"#;

const MODEM_REPLY: &str = r#"{
    "id": 56, "name": "p-7", "type": 4, "active": true, "is_osfp": false,
    "ifname": "enp6s0u1u1u2u3", "osfp": null, "reconnect_interval": 240,
    "reconnect_type": "time_link", "reconnect_min": 20, "users": [], "net_mode": "lte",
    "monitoring_interval": 3, "mtu": 0
}"#;

const MODEM_LIST_ITEM: &str = r#"{
    "id": 30, "name": "Порт-10", "active": true, "ifname": "enp0s29f7u2u2",
    "ip": "192.168.9.100", "gateway": "192.168.9.1", "conn_dev": true, "is_osfp": true,
    "conn_net": true, "type": 1, "conn_inet": true, "reconnect": false,
    "reconnect_type": "time_link", "reconnect_interval": 240, "reconnect_min": 120,
    "reconnect_start": "26 окт 2020 15:24:55", "reconnect_end": "26 окт 2020 15:25:01",
    "reconnect_end_hum": "3 минуты назад", "signal": 5, "rsrq": "-7dB", "rsrp": "-74dBm",
    "rssi": ">=-51dBm", "sinr": "12dB", "osfp": {"id": 7, "name": "SP3", "modem": "Windows"},
    "operator": "MegaFon RUS", "network_type": "LTE (4G)", "reconect_time": 30,
    "external_ip": "188.170.195.189", "net_mode": "lte", "monitoring_interval": 3
}"#;

const PAGE_META: &str =
    r#"{"total": 2000, "perpage": 10, "pages": 200, "page": 1, "sort": "asc", "field": "id"}"#;

const USER_SAMPLE: &str = r#"{
    "username": "kraken", "password": "1256252kraken", "per_password": "1256252kraken",
    "first_name": "", "last_name": "", "email": "info@kraken-proxy.ru", "is_active": true,
    "userprofile": {"timezone": "Europe/Moscow", "phone": ""}
}"#;

const USER_REPLY: &str = r#"{
    "id": 8, "username": "kraken", "first_name": "", "last_name": "",
    "email": "info@kraken-proxy.ru", "is_staff": false, "is_active": true, "is_superuser": false,
    "userprofile": {"phone": null, "timezone": "Europe/Moscow"}, "date_joined": "16 мар 2021 12:10:45"
}"#;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("sample JSON")
}

#[tokio::test]
async fn the_documents_samples_work_unchanged() {
    let server = TestServer::start().await;
    let key = server.admin.clone();

    // Ports.
    let (status, port) = server
        .post(&key, "/api/devices/modem/add", parse(MODEM_SAMPLE))
        .await;
    assert_eq!(status, 200, "{port}");
    assert_shape(&port, &parse(MODEM_REPLY), "modem/add");
    let port_id = port["id"].as_i64().expect("id");
    let (_, edited) = server
        .post(
            &key,
            &format!("/api/devices/modem/edit/{port_id}"),
            parse(MODEM_SAMPLE),
        )
        .await;
    assert_shape(&edited, &parse(MODEM_REPLY), "modem/edit");
    let (_, read) = server
        .get(&key, &format!("/api/devices/modem/edit/{port_id}"))
        .await;
    assert_shape(&read, &parse(MODEM_REPLY), "GET modem/edit");

    // Live state as the monitoring and rotation services write it.
    let operator = server.store.operator_id("MegaFon RUS").await.unwrap();
    let network = server.store.network_type_id("LTE (4G)").await.unwrap();
    sqlx::query(
        "UPDATE ports SET ip = '192.168.9.100', gateway = '192.168.9.1', conn_dev = 1,
         conn_net = 1, conn_inet = 1, reconnect_start = 1603715095, reconnect_end = 1603715101,
         signal = 5, rsrq = '-7dB', rsrp = '-74dBm', rssi = '>=-51dBm', sinr = '12dB',
         operator_id = ?, network_type_id = ?, external_ip = '188.170.195.189',
         next_reconnect_at = strftime('%s', 'now') + 30, is_osfp = 1, osfp_id = 7 WHERE id = ?",
    )
    .bind(operator)
    .bind(network)
    .bind(port_id)
    .execute(server.store.pool())
    .await
    .unwrap();
    let (_, list) = server
        .post(
            &key,
            "/api/devices/modem/list",
            json!({"filter": {"active": true, "reconnect_type": "link"}}),
        )
        .await;
    assert_eq!(
        list,
        json!([]),
        "the sample's filter matches no time_link port"
    );
    let (_, list) = server
        .post(
            &key,
            "/api/devices/modem/list",
            json!({"filter": {"active": true, "reconnect_type": "time_link"}}),
        )
        .await;
    assert_shape(&list, &json!([parse(MODEM_LIST_ITEM)]), "modem/list");

    let (_, types) = server.get(&key, "/api/devices/modem/type").await;
    assert_eq!(
        types,
        json!([
            {"id": 1, "code": "Huawei_h_150", "name": "Huawei E3372h-153"},
            {"id": 2, "code": "Zte_mf_833_r", "name": "ZTE MF833R"},
            {"id": 3, "code": "Zte_mf_920_ru", "name": "ZTE MF920RU"},
            {"id": 4, "code": "Huawei_h_320", "name": "Huawei E3372h-320"},
            {"id": 5, "code": "Zte_mf_823_d", "name": "ZTE MF823D"}
        ])
    );
    let (_, interfaces) = server.get(&key, "/api/devices/interface/list").await;
    assert!(interfaces.is_array(), "{interfaces}");
    assert_shape(
        &interfaces,
        &json!([{"ifname": "x", "ip": null, "gateway": null}]),
        "interface/list",
    );
    let (_, osfp) = server.get(&key, "/api/devices/osfp/list").await;
    assert_shape(
        &osfp,
        &json!([{"id": 7, "name": "SP3", "modem": "Windows"}]),
        "osfp/list",
    );
    let (_, reply) = server
        .post(
            &key,
            "/api/devices/modem/osfp",
            json!({"id": [port_id], "osid": 7}),
        )
        .await;
    assert_eq!(reply, json!({"result": "ok"}));
    let (_, reply) = server
        .post(
            &key,
            "/api/devices/modem/active",
            json!({"id": [port_id], "active": true}),
        )
        .await;
    assert_eq!(reply, json!({"result": "ok"}));
    // The sample replies {"result": "ok"}; rotation is a later plane, so kordon answers
    // honestly that its service is not running.
    let (status, reply) = server
        .post(
            &key,
            "/api/devices/modem/reconnect",
            json!({"id": [port_id]}),
        )
        .await;
    assert_eq!(status, 503, "{reply}");
    assert!(reply["detail"].is_string());

    let (_, operators) = server.get(&key, "/api/devices/operators/list").await;
    assert_shape(
        &operators,
        &json!([{"id": 1, "name": "MeGafon RUS"}]),
        "operators/list",
    );
    let (_, networks) = server.get(&key, "/api/devices/network/list").await;
    assert_shape(
        &networks,
        &json!([{"id": 1, "name": "LTE 4G"}]),
        "network/list",
    );

    // IP history as the rotation service records it.
    for (n, ip) in ["85.115.248.58", "85.115.248.51"].iter().enumerate() {
        server
            .store
            .record_port_ip(
                port_id,
                ip,
                Some(operator),
                Some(network),
                Some(7),
                1_603_715_095 + n as i64,
            )
            .await
            .unwrap();
    }
    let (_, stats) = server.get(&key, "/api/devices/statistic/ip").await;
    assert_shape(
        &stats,
        &json!([{"name": "MeGafon RUS", "count": 3000}]),
        "statistic/ip",
    );
    let sample_history_request = json!({"filter": {"operator__id": operator, "osid": 7}, "pagination": {"perpage": 10, "page": 1}});
    let (_, pool) = server
        .post(
            &key,
            "/api/devices/ip/operator",
            sample_history_request.clone(),
        )
        .await;
    assert_shape(
        &pool,
        &json!({"meta": parse(PAGE_META), "data": [{"id": 1, "ip": "85.115.248.58", "date_create": "26 окт 2020 15:24:55", "operator": 1}]}),
        "ip/operator",
    );
    assert_eq!(pool["meta"]["total"], 2, "{pool}");
    let (_, history) = server
        .post(&key, "/api/devices/ip/modem", sample_history_request)
        .await;
    assert_shape(
        &history,
        &json!({"meta": parse(PAGE_META), "data": [{"id": 1, "oip": "85.115.248.58", "modem": 1, "network_type": 2, "osfp": 1, "date_create": "26 окт 2020 15:24:55"}]}),
        "ip/modem",
    );
    assert_eq!(history["meta"]["total"], 2, "{history}");

    // Services and dashboard.
    let (_, services) = server.get(&key, "/api/devices/services/status").await;
    assert_shape(
        &services,
        &json!({"normal": true, "osfp": true, "reconnect": true, "scheduler": true, "proxy": true, "rabbitmq": true}),
        "services/status",
    );
    let (_, cpu) = server.get(&key, "/api/dashboard/cpu").await;
    assert_shape(
        &cpu,
        &json!({"cpu": 28.7, "memory": {"total": 7965, "used": 4747}, "uptime": {"seconds": 74327, "humanize": "3 дня"}}),
        "dashboard/cpu",
    );

    // Proxy logins and profiles.
    let (_, login) = server
        .post(
            &key,
            "/api/proxy/auth/add",
            json!({"login": "kraken", "password": "kraken", "bitrate_in": 0, "bitrate_out": 0}),
        )
        .await;
    let login_sample = json!({"id": 1, "login": "kraken", "password": "kraken", "bitrate_in": 0, "bitrate_out": 0});
    assert_shape(&login, &login_sample, "proxy/auth/add");
    let login_id = login["id"].as_i64().expect("login id");
    let (_, login) = server
        .post(
            &key,
            &format!("/api/proxy/auth/edit/{login_id}"),
            json!({"login": "kraken", "password": "kraken", "bitrate_in": 0, "bitrate_out": 0}),
        )
        .await;
    assert_shape(&login, &login_sample, "proxy/auth/edit");
    let (_, logins) = server.get(&key, "/api/proxy/auth/list").await;
    assert_shape(
        &logins,
        &json!([{"id": 1, "name": "user"}]),
        "proxy/auth/list",
    );

    let proxy_sample = json!({
        "modem": port_id, "active": true, "type": "socks", "auth": "strong", "port": 1088,
        "is_local": false, "maxconn": 0, "is_allow": true, "is_ports": true,
        "auth_params": [login_id], "allow": [], "targetport": []
    });
    let (_, proxy) = server.post(&key, "/api/proxy/add", proxy_sample).await;
    assert_shape(
        &proxy,
        &json!({"id": 46, "modem": 39, "active": true, "type": "socks", "auth": "strong", "port": 1088,
                "is_local": false, "is_allow": true, "is_ports": true, "auth_params": 2, "maxconn": 0,
                "allow": [], "targetport": []}),
        "proxy/add",
    );
    let proxy_id = proxy["id"].as_i64().expect("proxy id");
    let (_, proxy) = server
        .post(
            &key,
            &format!("/api/proxy/edit/{proxy_id}"),
            json!({"modem": port_id, "active": true, "type": "socks", "auth": "strong", "port": 1088,
                   "is_local": false, "auth_params": [login_id], "allow": []}),
        )
        .await;
    assert_shape(
        &proxy,
        &json!({"id": 46, "modem": 39, "active": true, "type": "socks", "auth": "strong", "port": 1088,
                "is_local": false, "auth_params": 2, "allow": []}),
        "proxy/edit",
    );
    let (_, proxies) = server
        .post(
            &key,
            "/api/proxy/list",
            json!({"filter": {"active": true}, "pagination": {"perpage": 10, "page": 1}}),
        )
        .await;
    assert_shape(
        &proxies,
        &json!({
            "meta": {"total": 1, "perpage": 10, "pages": 1, "page": 1, "sort": "desc", "field": "id"},
            "data": [{
                "id": 16,
                "modem": {"id": 15, "name": "Beeline-11-6521", "active": true, "ifname": "eth6",
                          "ip": "192.168.13.100", "gateway": "192.168.13.1", "conn_dev": true,
                          "conn_net": true, "reconnect": false, "reconnect_type": "time",
                          "reconnect_interval": 240, "reconnect_min": 120, "operator": "MTS RUS",
                          "network_type": "LTE (4G)"},
                "active": true, "type": "socks", "auth": "strong", "is_allow": true,
                "is_ports": false, "allow": [], "ports": [], "available": true,
                "auth_params": {"id": 1, "login": "login", "password": "password",
                                "bitrate_in": null, "bitrate_out": null},
                "port": 1089, "is_local": false,
                "date_create": "12 дек 2020 12:17:32", "date_update": "12 дек 2020 12:17:32"
            }]
        }),
        "proxy/list",
    );
    assert_eq!(proxies["meta"]["sort"], "desc");
    let (_, reply) = server
        .post(
            &key,
            "/api/proxy/active",
            json!({"id": [proxy_id], "active": true}),
        )
        .await;
    assert_eq!(reply, json!({"result": "ok"}));
    let (_, reply) = server
        .post(&key, "/api/proxy/del", json!({"id": [proxy_id]}))
        .await;
    assert_eq!(reply, json!({"result": "ok"}));
    let (_, reply) = server
        .post(&key, "/api/proxy/auth/del", json!({"id": [login_id]}))
        .await;
    assert_eq!(reply, json!({"result": "ok"}));
    let (status, _) = server
        .post(&key, "/api/proxy/ip/del", json!({"id": [1, 2, 3, 4]}))
        .await;
    assert_eq!(status, 404, "the sample's ids do not exist here");

    // Panel users.
    let (_, user) = server
        .post(&key, "/api/users/add", parse(USER_SAMPLE))
        .await;
    assert_shape(&user, &parse(USER_REPLY), "users/add");
    assert_eq!(
        user["userprofile"]["phone"],
        Value::Null,
        "empty phone reads back null"
    );
    let user_id = user["id"].as_i64().expect("user id");
    let mut edit = parse(USER_SAMPLE);
    edit["password"] = json!("");
    edit["per_password"] = json!("");
    let (_, user) = server
        .post(&key, &format!("/api/users/edit/{user_id}"), edit)
        .await;
    assert_shape(&user, &parse(USER_REPLY), "users/edit");
    server.login("kraken", "1256252kraken").await;
    let (_, users) = server
        .post(
            &key,
            "/api/users/list",
            json!({"pagination": {"perpage": 10, "page": 1}}),
        )
        .await;
    assert_shape(
        &users,
        &json!({"meta": parse(PAGE_META), "data": [parse(USER_REPLY)]}),
        "users/list",
    );
    let (_, reply) = server
        .post(
            &key,
            "/api/users/active",
            json!({"id": [user_id], "active": true}),
        )
        .await;
    assert_eq!(reply, json!({"result": "ok"}));
    let (_, reply) = server
        .post(&key, "/api/users/del", json!({"id": [user_id]}))
        .await;
    assert_eq!(reply, json!({"result": "ok"}));
}
