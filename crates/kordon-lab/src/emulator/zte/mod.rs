//! ZTE goform (MF833R, MF920RU, MF823D): `/goform/goform_get_cmd_process` answers JSON of the
//! requested keys, `/goform/goform_set_cmd_process` takes a form with a `goformId`.
//!
//! Like the firmware, both refuse a request whose `Referer` is not a page of the modem's own
//! web UI (`http://<address it is reached at>/…`, e.g. `http://192.168.0.1/index.html`): the
//! get answers an empty body, the set `{"result":"failure"}`.

pub mod fields;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

use crate::emulator::modem::EmulatedModem;

#[derive(Clone)]
struct Goform {
    modem: EmulatedModem,
    /// The web UI's origin, `http://192.168.0.1` (port added when not 80).
    origin: String,
}

pub(crate) fn router(modem: EmulatedModem, addr: SocketAddr) -> Router {
    let state = Goform {
        modem,
        origin: origin(addr),
    };
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/goform/goform_get_cmd_process", get(get_cmd))
        .route(
            "/goform/goform_set_cmd_process",
            axum::routing::post(set_cmd),
        )
        .with_state(state)
}

/// The origin a client must name in `Referer` for an emulator listening on `addr`.
pub fn origin(addr: SocketAddr) -> String {
    match addr.port() {
        80 => format!("http://{}", addr.ip()),
        port => format!("http://{}:{port}", addr.ip()),
    }
}

fn json_reply(value: &Value) -> Response {
    ([(header::CONTENT_TYPE, "text/html")], value.to_string()).into_response()
}

fn referer_ok(goform: &Goform, headers: &HeaderMap) -> bool {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix(goform.origin.as_str()))
        .is_some_and(|rest| rest.starts_with('/'))
}

async fn index() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html")],
        "<!DOCTYPE html>\n<html><head><title>4G USB Modem</title></head><body></body></html>\n",
    )
        .into_response()
}

async fn get_cmd(
    State(goform): State<Goform>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !referer_ok(&goform, &headers) {
        return (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], "").into_response();
    }
    let state = goform.modem.state();
    let cmd = query.get("cmd").map(String::as_str).unwrap_or_default();
    let multi = query.get("multi_data").is_some_and(|v| v == "1");
    let keys: Vec<&str> = if multi {
        cmd.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect()
    } else {
        vec![cmd.trim()]
    };
    let mut reply = Map::new();
    for key in keys.into_iter().filter(|k| !k.is_empty()) {
        reply.insert(key.to_string(), Value::String(fields::value(&state, key)));
    }
    json_reply(&Value::Object(reply))
}

fn result(ok: bool) -> Response {
    let word = if ok { "success" } else { "failure" };
    json_reply(&serde_json::json!({ "result": word }))
}

async fn set_cmd(State(goform): State<Goform>, headers: HeaderMap, body: String) -> Response {
    if !referer_ok(&goform, &headers) {
        return result(false);
    }
    let Ok(form) = serde_urlencoded::from_str::<HashMap<String, String>>(&body) else {
        return result(false);
    };
    let modem = &goform.modem;
    match form.get("goformId").map(String::as_str) {
        Some("DISCONNECT_NETWORK") => modem.spawn_data_switch(false),
        Some("CONNECT_NETWORK") => modem.spawn_data_switch(true),
        Some("SET_BEARER_PREFERENCE") => {
            match form
                .get("BearerPreference")
                .and_then(|b| fields::parse_bearer(b))
            {
                Some(mode) => modem.spawn_net_mode(mode),
                None => return result(false),
            }
        }
        Some("REBOOT_DEVICE") => modem.spawn_reboot(),
        _ => return result(false),
    }
    result(true)
}
