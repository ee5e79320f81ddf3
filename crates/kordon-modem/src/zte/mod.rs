//! ZTE goform driver (MF833R, MF920RU, MF823D): reads with
//! `GET /goform/goform_get_cmd_process?multi_data=1&cmd=a,b,…`, commands with form posts to
//! `/goform/goform_set_cmd_process` (`goformId=…`). The firmware answers only requests whose
//! `Referer` is its own web UI, so every request carries one.

pub mod fields;
pub mod reply;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kordon_model::enums::NetMode;
use reqwest::header::{CONTENT_TYPE, REFERER};
use reqwest::Url;

use crate::error::DriverError;
use crate::http::ModemHttp;
use crate::status::ModemStatus;
use reply::ReplyError;

const GET_ENDPOINT: &str = "goform/goform_get_cmd_process";
const SET_ENDPOINT: &str = "goform/goform_set_cmd_process";

/// How long `reconnect` waits for the session to go down before dialling again.
const DEFAULT_DISCONNECT_WAIT: Duration = Duration::from_secs(10);
const DISCONNECT_POLL: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct ZteDriver {
    base: Url,
    referer: String,
    http: ModemHttp,
    disconnect_wait: Duration,
}

impl ZteDriver {
    /// A driver for the modem whose web UI is at `base` (e.g. `http://192.168.0.1/`).
    pub fn new(base: Url, http: ModemHttp) -> ZteDriver {
        let referer = base
            .join("index.html")
            .map(String::from)
            .unwrap_or_else(|_| base.to_string());
        ZteDriver {
            base,
            referer,
            http,
            disconnect_wait: DEFAULT_DISCONNECT_WAIT,
        }
    }

    /// Bounds how long `reconnect` waits for the old session to close.
    pub fn with_disconnect_wait(mut self, wait: Duration) -> ZteDriver {
        self.disconnect_wait = wait;
        self
    }

    fn url(&self, endpoint: &str) -> Result<Url, DriverError> {
        self.base
            .join(endpoint)
            .map_err(|err| DriverError::BadReply {
                endpoint: endpoint.to_owned(),
                reason: format!("cannot form the URL: {err}"),
            })
    }

    /// Reads `names` in one `multi_data` request.
    pub async fn read_fields(
        &self,
        names: &[&str],
    ) -> Result<HashMap<String, String>, DriverError> {
        let mut url = self.url(GET_ENDPOINT)?;
        // The web UI appends a timestamp so no cache between it and the modem serves a stale
        // reading; the firmware ignores it.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis())
            .unwrap_or_default();
        url.query_pairs_mut()
            .append_pair("isTest", "false")
            .append_pair("cmd", &names.join(","))
            .append_pair("multi_data", "1")
            .append_pair("_", &now.to_string());
        let request = self
            .http
            .client()
            .get(url.clone())
            .header(REFERER, &self.referer)
            .header("X-Requested-With", "XMLHttpRequest");
        let reply = self.http.send(request, &url, GET_ENDPOINT).await?;
        reply::parse_fields(&reply.body).map_err(|err| reply_error(GET_ENDPOINT, err))
    }

    /// Sends the command `goform_id` with `params`.
    pub async fn command(
        &self,
        goform_id: &str,
        params: &[(&str, &str)],
    ) -> Result<(), DriverError> {
        let url = self.url(SET_ENDPOINT)?;
        let mut form: Vec<(&str, &str)> = vec![("isTest", "false"), ("goformId", goform_id)];
        form.extend_from_slice(params);
        let body = serde_urlencoded::to_string(&form).map_err(|err| DriverError::BadReply {
            endpoint: goform_id.to_owned(),
            reason: format!("cannot encode the form: {err}"),
        })?;
        let request = self
            .http
            .client()
            .post(url.clone())
            .header(REFERER, &self.referer)
            .header("X-Requested-With", "XMLHttpRequest")
            .header(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
            .body(body);
        let endpoint = format!("{SET_ENDPOINT} {goform_id}");
        let reply = self.http.send(request, &url, &endpoint).await?;
        reply::parse_set_result(&reply.body).map_err(|err| reply_error(&endpoint, err))
    }

    pub async fn status(&self) -> Result<ModemStatus, DriverError> {
        let fields = self.read_fields(&fields::STATUS_FIELDS).await?;
        Ok(fields::status_from_fields(&fields))
    }

    pub async fn set_data(&self, on: bool) -> Result<(), DriverError> {
        let goform_id = if on {
            "CONNECT_NETWORK"
        } else {
            "DISCONNECT_NETWORK"
        };
        self.command(goform_id, &[]).await
    }

    /// Drops the data session, waits (bounded) until the modem reports it down, and dials
    /// again: the firmware ignores `CONNECT_NETWORK` while a session is still closing.
    /// Returns once the modem accepted the dial; the session comes up later.
    pub async fn reconnect(&self) -> Result<(), DriverError> {
        self.command("DISCONNECT_NETWORK", &[]).await?;
        let deadline = tokio::time::Instant::now() + self.disconnect_wait;
        loop {
            let fields = self.read_fields(&["ppp_status"]).await?;
            let ppp_status = fields
                .get("ppp_status")
                .map(String::as_str)
                .unwrap_or_default();
            if fields::is_disconnected(ppp_status) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    ppp_status,
                    "ZTE modem still not disconnected; dialling anyway"
                );
                break;
            }
            tokio::time::sleep(DISCONNECT_POLL).await;
        }
        self.command("CONNECT_NETWORK", &[]).await
    }

    pub async fn set_net_mode(&self, mode: NetMode) -> Result<(), DriverError> {
        self.command(
            "SET_BEARER_PREFERENCE",
            &[("BearerPreference", fields::bearer_preference(mode))],
        )
        .await
    }

    pub async fn reboot(&self) -> Result<(), DriverError> {
        self.command("REBOOT_DEVICE", &[]).await
    }
}

fn reply_error(endpoint: &str, err: ReplyError) -> DriverError {
    match err {
        ReplyError::Refused { result } => DriverError::Protocol {
            endpoint: endpoint.to_owned(),
            code: result,
            message: String::new(),
        },
        ReplyError::Malformed(reason) => DriverError::BadReply {
            endpoint: endpoint.to_owned(),
            reason,
        },
    }
}
