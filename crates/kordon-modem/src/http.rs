//! The HTTP client a driver talks through: bound to the port's interface (every modem of a
//! family has the same LAN address, so the route alone cannot tell them apart) and with short
//! timeouts, so a modem whose API hangs never stalls monitoring.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Url};

use crate::error::DriverError;

/// How to reach one port's modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Leave through this interface only (`SO_BINDTODEVICE`; needs `CAP_NET_RAW`).
    pub interface: Option<String>,
    /// Use this source address (the farm side of the modem's LAN, or a per-port address).
    pub local_address: Option<IpAddr>,
    /// Bound on establishing the TCP connection.
    pub connect_timeout: Duration,
    /// Bound on one whole request, from sending to the last byte of the reply.
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            interface: None,
            local_address: None,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl HttpConfig {
    /// A configuration that leaves through `ifname`, with the default timeouts.
    pub fn through_interface(ifname: &str) -> Self {
        HttpConfig {
            interface: Some(ifname.to_owned()),
            ..HttpConfig::default()
        }
    }

    /// Builds the client. Build one per port: connections are pooled per client and host,
    /// and all modems of a family share one host address.
    pub fn build(&self) -> Result<ModemHttp, DriverError> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(ifname) = &self.interface {
            builder = builder.interface(ifname);
        }
        if let Some(address) = self.local_address {
            builder = builder.local_address(address);
        }
        let client = builder
            .build()
            .map_err(|err| DriverError::Client(err.to_string()))?;
        Ok(ModemHttp {
            client,
            request_timeout: self.request_timeout,
        })
    }
}

/// A built client with the bound its errors report.
#[derive(Debug, Clone)]
pub struct ModemHttp {
    client: reqwest::Client,
    request_timeout: Duration,
}

/// A modem's answer, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub headers: HeaderMap,
    pub body: String,
}

impl ModemHttp {
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` to `url` and reads the reply whole; any HTTP status other than 2xx is a
    /// bad reply (both firmwares report their own errors inside a 200).
    pub(crate) async fn send(
        &self,
        request: RequestBuilder,
        url: &Url,
        endpoint: &str,
    ) -> Result<Reply, DriverError> {
        let response = request
            .send()
            .await
            .map_err(|err| self.transport_error(err, url))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|err| self.transport_error(err, url))?;
        if !status.is_success() {
            return Err(DriverError::BadReply {
                endpoint: endpoint.to_owned(),
                reason: format!("HTTP status {status}"),
            });
        }
        Ok(Reply { headers, body })
    }

    /// A failed connection is "unreachable" even when it failed by timing out (no ARP answer,
    /// interface gone); a request that got connected but no answer is a "timeout".
    fn transport_error(&self, err: reqwest::Error, url: &Url) -> DriverError {
        let url = url.to_string();
        if err.is_connect() {
            DriverError::Unreachable {
                url,
                reason: error_chain(&err),
            }
        } else if err.is_timeout() {
            DriverError::Timeout {
                url,
                after: self.request_timeout,
            }
        } else {
            DriverError::Unreachable {
                url,
                reason: error_chain(&err),
            }
        }
    }
}

/// reqwest's top-level message is generic ("error sending request"); the cause says why.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
