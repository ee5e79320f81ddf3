//! Huawei HiLink driver (E3372h-153, E3372h-320): XML under `/api/…`. Every request carries
//! the `SessionID` cookie from `SesTokInfo`; every write also carries a single-use
//! `__RequestVerificationToken`. When the firmware rejects either (125002 / 125003: token
//! used, expired, or the session restarted) the driver takes a new session and retries once.

pub mod codes;
pub mod session;
pub mod xml;

use kordon_model::enums::NetMode;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::error::DriverError;
use crate::http::{ModemHttp, Reply};
use crate::status::{self, ModemStatus};
use session::Session;
use xml::ReplyError;

const SES_TOK_INFO: &str = "webserver/SesTokInfo";

/// The session and how many times it was renewed, so concurrent requests that all saw the
/// same rejection renew it once.
#[derive(Debug, Default)]
struct SessionState {
    session: Session,
    generation: u64,
}

#[derive(Debug)]
pub struct HuaweiDriver {
    base: Url,
    http: ModemHttp,
    state: Mutex<SessionState>,
    /// Writes go one at a time: each consumes the token the previous one's reply brought.
    writes: Mutex<()>,
}

impl HuaweiDriver {
    /// A driver for the modem whose web UI is at `base` (e.g. `http://192.168.8.1/`).
    pub fn new(base: Url, http: ModemHttp) -> HuaweiDriver {
        HuaweiDriver {
            base,
            http,
            state: Mutex::new(SessionState::default()),
            writes: Mutex::new(()),
        }
    }

    /// How many sessions (`SesTokInfo` exchanges) the driver has opened: one per renewal
    /// after the firmware rejected a token, so a climbing count means a modem that keeps
    /// dropping sessions.
    pub async fn sessions_opened(&self) -> u64 {
        self.state.lock().await.generation
    }

    fn url(&self, endpoint: &str) -> Result<Url, DriverError> {
        self.base
            .join(&format!("api/{endpoint}"))
            .map_err(|err| DriverError::BadReply {
                endpoint: endpoint.to_owned(),
                reason: format!("cannot form the URL: {err}"),
            })
    }

    /// Opens a session (`SesTokInfo`) unless one is open; returns its cookie and generation.
    async fn current_session(&self) -> Result<(Option<String>, u64), DriverError> {
        let mut state = self.state.lock().await;
        if !state.session.is_established() {
            self.open_session(&mut state).await?;
        }
        Ok((state.session.cookie.clone(), state.generation))
    }

    /// Replaces the session after the firmware rejected one of `generation`, unless another
    /// request has replaced it already.
    async fn renew_session(&self, generation: u64) -> Result<(), DriverError> {
        let mut state = self.state.lock().await;
        if state.generation == generation {
            self.open_session(&mut state).await?;
        }
        Ok(())
    }

    async fn open_session(&self, state: &mut SessionState) -> Result<(), DriverError> {
        let url = self.url(SES_TOK_INFO)?;
        let request = self.http.client().get(url.clone());
        let reply = self.http.send(request, &url, SES_TOK_INFO).await?;
        let info: xml::SesTokInfo =
            xml::parse_response(&reply.body).map_err(|err| reply_error(SES_TOK_INFO, err))?;
        let mut session =
            Session::from_ses_tok_info(info.ses_info.as_deref(), info.tok_info.as_deref());
        session.absorb_reply_headers(&reply.headers);
        state.session = session;
        state.generation += 1;
        Ok(())
    }

    async fn exchange(
        &self,
        method: Method,
        endpoint: &str,
        cookie: Option<String>,
        token: Option<String>,
        body: Option<String>,
    ) -> Result<Reply, DriverError> {
        let url = self.url(endpoint)?;
        let mut request = self
            .http
            .client()
            .request(method, url.clone())
            .header("X-Requested-With", "XMLHttpRequest");
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        if let Some(token) = token {
            request = request.header("__RequestVerificationToken", token);
        }
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/xml").body(body);
        }
        let reply = self.http.send(request, &url, endpoint).await?;
        self.state
            .lock()
            .await
            .session
            .absorb_reply_headers(&reply.headers);
        Ok(reply)
    }

    /// Reads `endpoint`, renewing the session once if the firmware rejects it.
    async fn get<T: DeserializeOwned>(&self, endpoint: &str) -> Result<T, DriverError> {
        let mut renewed = false;
        loop {
            let (cookie, generation) = self.current_session().await?;
            let reply = self
                .exchange(Method::GET, endpoint, cookie, None, None)
                .await?;
            match xml::parse_response(&reply.body) {
                Ok(value) => return Ok(value),
                Err(ReplyError::Firmware { code, .. })
                    if codes::is_session_error(&code) && !renewed =>
                {
                    tracing::debug!(endpoint, code, "HiLink session rejected; renewing");
                    self.renew_session(generation).await?;
                    renewed = true;
                }
                Err(err) => return Err(reply_error(endpoint, err)),
            }
        }
    }

    /// Writes `fields` to `endpoint` with a fresh token, renewing the session once if the
    /// firmware rejects the token.
    async fn post(&self, endpoint: &str, fields: &[(&str, &str)]) -> Result<(), DriverError> {
        let _one_write_at_a_time = self.writes.lock().await;
        let body = xml::request_body(fields);
        let mut renewed = false;
        loop {
            let (cookie, token, generation) = self.session_with_token().await?;
            let reply = self
                .exchange(Method::POST, endpoint, cookie, token, Some(body.clone()))
                .await?;
            match xml::parse_ok(&reply.body) {
                Ok(()) => return Ok(()),
                Err(ReplyError::Firmware { code, .. })
                    if codes::is_session_error(&code) && !renewed =>
                {
                    tracing::debug!(endpoint, code, "HiLink token rejected; renewing");
                    self.renew_session(generation).await?;
                    renewed = true;
                }
                Err(err) => return Err(reply_error(endpoint, err)),
            }
        }
    }

    /// The session's cookie and the next token, opening a new session when the last reply
    /// brought no token to use.
    async fn session_with_token(
        &self,
    ) -> Result<(Option<String>, Option<String>, u64), DriverError> {
        let mut state = self.state.lock().await;
        if !state.session.is_established() {
            self.open_session(&mut state).await?;
        }
        let mut token = state.session.take_token();
        if token.is_none() {
            self.open_session(&mut state).await?;
            token = state.session.take_token();
        }
        Ok((state.session.cookie.clone(), token, state.generation))
    }

    /// Reads the modem's state: connection and WAN address from `monitoring/status`, signal
    /// from `device/signal`, operator from `net/current-plmn`, read in parallel. A firmware
    /// refusing one of the last two leaves its fields empty; a modem that cannot be reached
    /// fails the whole reading.
    pub async fn status(&self) -> Result<ModemStatus, DriverError> {
        // One session for the three parallel reads (and one timeout, not three in a row,
        // when the API hangs).
        self.current_session().await?;
        let (monitoring, signal, plmn) = tokio::try_join!(
            self.get::<xml::MonitoringStatus>("monitoring/status"),
            optional(self.get::<xml::Signal>("device/signal")),
            optional(self.get::<xml::CurrentPlmn>("net/current-plmn")),
        )?;
        let signal = signal.unwrap_or_default();
        let plmn = plmn.unwrap_or_default();
        let mut wan_ip = status::wan_address(monitoring.wan_ip_address.as_deref());
        if monitoring.wan_ip_address.is_none() {
            let information =
                optional(self.get::<xml::DeviceInformation>("device/information")).await?;
            wan_ip =
                information.and_then(|info| status::wan_address(info.wan_ip_address.as_deref()));
        }
        let connected = monitoring.connection_status.as_deref().map(str::trim)
            == Some(codes::CONNECTION_CONNECTED);
        let generation = monitoring
            .current_network_type_ex
            .as_deref()
            .and_then(codes::generation_from_type_ex)
            .or_else(|| {
                monitoring
                    .current_network_type
                    .as_deref()
                    .and_then(codes::generation_from_type)
            })
            .or_else(|| signal.mode.as_deref().and_then(codes::generation_from_rat))
            .or_else(|| plmn.rat.as_deref().and_then(codes::generation_from_rat));
        let operator = status::non_empty(plmn.full_name.as_deref())
            .or_else(|| status::non_empty(plmn.short_name.as_deref()))
            .or_else(|| status::non_empty(plmn.numeric.as_deref()));
        Ok(ModemStatus {
            connected,
            signal_bars: status::signal_bars(monitoring.signal_icon.as_deref()),
            rsrp: status::with_unit(signal.rsrp.as_deref(), "dBm"),
            rsrq: status::with_unit(signal.rsrq.as_deref(), "dB"),
            // In 3G the firmware reports RSCP/EcIo and an RSSI; RSSI is what the API shows.
            rssi: status::rssi_with_unit(signal.rssi.as_deref()),
            sinr: status::with_unit(signal.sinr.as_deref(), "dB"),
            operator,
            network_type: generation.map(|g| g.display_name().to_owned()),
            wan_ip,
        })
    }

    /// Turns the mobile data session on or off (`dialup/mobile-dataswitch`).
    pub async fn set_data(&self, on: bool) -> Result<(), DriverError> {
        let value = if on { "1" } else { "0" };
        self.post("dialup/mobile-dataswitch", &[("dataswitch", value)])
            .await
    }

    /// Asks the modem to drop and redial its data session (`net/reconnect`). Returns once the
    /// modem accepted; the new session comes up later (watch [`HuaweiDriver::status`]).
    pub async fn reconnect(&self) -> Result<(), DriverError> {
        self.post("net/reconnect", &[("ReconnectAction", "1")])
            .await
    }

    /// Locks the radio to LTE or WCDMA (`net/net-mode`), keeping the modem's band masks.
    pub async fn set_net_mode(&self, mode: NetMode) -> Result<(), DriverError> {
        let current = optional(self.get::<xml::NetModeSettings>("net/net-mode"))
            .await?
            .unwrap_or_default();
        let network_band = status::non_empty(current.network_band.as_deref())
            .unwrap_or_else(|| codes::ALL_NETWORK_BANDS.to_owned());
        let lte_band = status::non_empty(current.lte_band.as_deref())
            .unwrap_or_else(|| codes::ALL_LTE_BANDS.to_owned());
        self.post(
            "net/net-mode",
            &[
                ("NetworkMode", codes::network_mode_code(mode)),
                ("NetworkBand", &network_band),
                ("LTEBand", &lte_band),
            ],
        )
        .await
    }

    /// Restarts the modem (`device/control`); its interface disappears for a while.
    pub async fn reboot(&self) -> Result<(), DriverError> {
        self.post("device/control", &[("Control", codes::CONTROL_REBOOT)])
            .await
    }
}

/// A read whose refusal by the firmware is not fatal to the caller: `Ok(None)` for a firmware
/// or parse error, the error itself when the modem could not be talked to.
async fn optional<T>(
    read: impl std::future::Future<Output = Result<T, DriverError>>,
) -> Result<Option<T>, DriverError> {
    match read.await {
        Ok(value) => Ok(Some(value)),
        Err(err @ (DriverError::Protocol { .. } | DriverError::BadReply { .. })) => {
            tracing::debug!(error = %err, "optional HiLink read failed");
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

fn reply_error(endpoint: &str, err: ReplyError) -> DriverError {
    match err {
        ReplyError::Firmware { code, message } => DriverError::Protocol {
            endpoint: endpoint.to_owned(),
            code,
            message,
        },
        ReplyError::Malformed(reason) => DriverError::BadReply {
            endpoint: endpoint.to_owned(),
            reason,
        },
    }
}
