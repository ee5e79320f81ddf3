//! Huawei HiLink (E3372h-153, E3372h-320): the XML web API under `/api/…`.
//!
//! Reads are open; every state-changing POST needs the `SessionID` cookie and a single-use
//! `__RequestVerificationToken` header. Tokens come from `GET /api/webserver/SesTokInfo` (one)
//! or the home page's `<meta name="csrf_token">` tags (two); each successful or refused POST of
//! a known session carries the next token in its `__RequestVerificationToken` reply header.
//! Errors are `<error><code>…</code>` replies with HTTP 200, as the firmware sends them.

mod render;
pub mod session;
pub mod xml;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub use render::{CONNECTED, CONNECTING, DISCONNECTED};
pub use session::{ERROR_CSRF, ERROR_WRONG_SESSION};

use crate::emulator::modem::EmulatedModem;
use crate::emulator::state::ModemState;
use session::TokenBook;

/// Unknown or unsupported API.
pub const ERROR_NO_SUPPORT: u32 = 100_002;
/// Malformed request body.
pub const ERROR_FORMAT: u32 = 100_005;

/// The header that carries tokens both ways.
pub const TOKEN_HEADER: &str = "__RequestVerificationToken";

#[derive(Clone)]
struct HiLink {
    modem: EmulatedModem,
    book: Arc<Mutex<TokenBook>>,
}

impl HiLink {
    fn book(&self) -> MutexGuard<'_, TokenBook> {
        // The book holds only strings; a poisoned one is still usable.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) fn router(modem: EmulatedModem) -> Router {
    let state = HiLink {
        modem,
        book: Arc::new(Mutex::new(TokenBook::default())),
    };
    Router::new()
        .route("/", get(to_home))
        .route("/html/home.html", get(home))
        .route("/html/index.html", get(home))
        .route("/api/webserver/SesTokInfo", get(ses_tok_info))
        .route("/api/device/signal", get(|s| read(s, render::signal)))
        .route("/api/monitoring/status", get(|s| read(s, render::status)))
        .route(
            "/api/net/current-plmn",
            get(|s| read(s, render::current_plmn)),
        )
        .route(
            "/api/dialup/mobile-dataswitch",
            get(|s| read(s, render::data_switch)).post(set_data_switch),
        )
        .route(
            "/api/net/net-mode",
            get(|s| read(s, render::net_mode)).post(set_net_mode),
        )
        .route("/api/net/reconnect", post(reconnect))
        .route("/api/device/control", post(control))
        .route(
            "/api/dhcp/settings",
            get(|s| read(s, render::dhcp_settings)),
        )
        .fallback(unsupported)
        .with_state(state)
}

fn xml_reply(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html")], body).into_response()
}

async fn read(
    State(hl): State<HiLink>,
    fields: fn(&ModemState) -> Vec<(&'static str, String)>,
) -> Response {
    xml_reply(xml::response(&fields(&hl.modem.state())))
}

async fn unsupported(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        xml_reply(xml::error(ERROR_NO_SUPPORT))
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn to_home() -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, "/html/home.html")],
    )
        .into_response()
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("SessionID="))
}

fn set_cookie(session: &str) -> (HeaderName, String) {
    (
        header::SET_COOKIE,
        format!("SessionID={session}; path=/; HttpOnly"),
    )
}

/// The web UI's page: a session cookie and two tokens in `csrf_token` meta tags.
async fn home(State(hl): State<HiLink>, headers: HeaderMap) -> Response {
    let epoch = hl.modem.token_epoch();
    let (session, first, second) = {
        let mut book = hl.book();
        let session = book.session(session_cookie(&headers));
        let first = book.issue(&session, epoch);
        let second = book.issue(&session, epoch);
        (session, first, second)
    };
    let page = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"/>\n\
         <meta name=\"csrf_token\" content=\"{first}\"/>\n\
         <meta name=\"csrf_token\" content=\"{second}\"/>\n\
         <title>HUAWEI</title>\n</head>\n<body></body>\n</html>\n"
    );
    (
        [
            set_cookie(&session),
            (header::CONTENT_TYPE, "text/html".to_string()),
        ],
        page,
    )
        .into_response()
}

async fn ses_tok_info(State(hl): State<HiLink>, headers: HeaderMap) -> Response {
    let epoch = hl.modem.token_epoch();
    let (session, token) = {
        let mut book = hl.book();
        let session = book.session(session_cookie(&headers));
        let token = book.issue(&session, epoch);
        (session, token)
    };
    let body = xml::response(&[
        ("SesInfo", format!("SessionID={session}")),
        ("TokInfo", token),
    ]);
    (
        [
            set_cookie(&session),
            (header::CONTENT_TYPE, "text/html".to_string()),
        ],
        body,
    )
        .into_response()
}

/// A state-changing request: session and token checked, then `act`, then the reply with the
/// session's next token.
fn guarded(hl: &HiLink, headers: &HeaderMap, act: impl FnOnce() -> Result<(), u32>) -> Response {
    let session = session_cookie(headers);
    let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
    let epoch = hl.modem.token_epoch();
    let checked = hl.book().consume(session, token, epoch);
    let outcome = checked.and_then(|()| act());
    let mut reply = match outcome {
        Ok(()) => xml_reply(xml::ok()),
        Err(code) => xml_reply(xml::error(code)),
    };
    if checked != Err(ERROR_WRONG_SESSION) {
        if let Some(session) = session {
            let next = hl.book().issue(session, epoch);
            if let Ok(value) = HeaderValue::from_str(&next) {
                reply
                    .headers_mut()
                    .insert(HeaderName::from_static("__requestverificationtoken"), value);
            }
        }
    }
    reply
}

#[derive(Deserialize)]
struct DataSwitchRequest {
    dataswitch: u8,
}

async fn set_data_switch(State(hl): State<HiLink>, headers: HeaderMap, body: String) -> Response {
    guarded(&hl, &headers, || {
        let req: DataSwitchRequest = xml::request(&body).map_err(|_| ERROR_FORMAT)?;
        match req.dataswitch {
            0 | 1 => {
                hl.modem.spawn_data_switch(req.dataswitch == 1);
                Ok(())
            }
            _ => Err(ERROR_FORMAT),
        }
    })
}

#[derive(Deserialize)]
struct NetModeRequest {
    #[serde(rename = "NetworkMode")]
    network_mode: String,
}

async fn set_net_mode(State(hl): State<HiLink>, headers: HeaderMap, body: String) -> Response {
    guarded(&hl, &headers, || {
        let req: NetModeRequest = xml::request(&body).map_err(|_| ERROR_FORMAT)?;
        let mode = render::parse_net_mode(req.network_mode.trim()).ok_or(ERROR_FORMAT)?;
        hl.modem.spawn_net_mode(mode);
        Ok(())
    })
}

#[derive(Deserialize)]
struct ReconnectRequest {
    #[serde(rename = "ReconnectAction")]
    action: u8,
}

async fn reconnect(State(hl): State<HiLink>, headers: HeaderMap, body: String) -> Response {
    guarded(&hl, &headers, || {
        let req: ReconnectRequest = xml::request(&body).map_err(|_| ERROR_FORMAT)?;
        if req.action != 1 {
            return Err(ERROR_FORMAT);
        }
        hl.modem.spawn_reconnect();
        Ok(())
    })
}

#[derive(Deserialize)]
struct ControlRequest {
    #[serde(rename = "Control")]
    control: u8,
}

async fn control(State(hl): State<HiLink>, headers: HeaderMap, body: String) -> Response {
    guarded(&hl, &headers, || {
        let req: ControlRequest = xml::request(&body).map_err(|_| ERROR_FORMAT)?;
        // 1 = reboot; reset, backup and power-off are not emulated.
        if req.control != 1 {
            return Err(ERROR_NO_SUPPORT);
        }
        hl.modem.spawn_reboot();
        Ok(())
    })
}
