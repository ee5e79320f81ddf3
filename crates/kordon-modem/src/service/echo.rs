//! The public address a port shows the internet: asked of echo services (a plain-text reply
//! holding the caller's address, as `ifconfig.me`-style services and the lab's echo give it)
//! through the port's own HTTP client, trying each URL in turn.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

use crate::error::DriverError;
use crate::http::HttpConfig;

/// The first address-shaped word of an echo reply.
pub fn parse_echo_reply(body: &str) -> Option<IpAddr> {
    body.split(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .find_map(|word| word.parse::<IpAddr>().ok())
}

/// A client for echo requests through the port described by `http` (same interface and
/// source address as the driver's), bounded by `timeout` per request.
pub fn echo_client(http: &HttpConfig, timeout: Duration) -> Result<reqwest::Client, DriverError> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(timeout.min(http.connect_timeout))
        .timeout(timeout)
        .pool_max_idle_per_host(1)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(ifname) = &http.interface {
        builder = builder.interface(ifname);
    }
    if let Some(address) = http.local_address {
        builder = builder.local_address(address);
    }
    builder
        .build()
        .map_err(|err| DriverError::Client(err.to_string()))
}

/// The address the first answering echo service reports, or `None` when none answered.
pub async fn external_ip(client: &reqwest::Client, urls: &[Url]) -> Option<IpAddr> {
    for url in urls {
        let reply = match client.get(url.clone()).send().await {
            Ok(reply) if reply.status().is_success() => reply,
            Ok(reply) => {
                tracing::debug!(%url, status = %reply.status(), "echo refused");
                continue;
            }
            Err(error) => {
                tracing::debug!(%url, %error, "echo unreachable");
                continue;
            }
        };
        match reply.text().await {
            Ok(body) => {
                if let Some(address) = parse_echo_reply(&body) {
                    return Some(address);
                }
                tracing::debug!(%url, "echo reply holds no address");
            }
            Err(error) => tracing::debug!(%url, %error, "echo reply unreadable"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_json_echo_replies() {
        assert_eq!(
            parse_echo_reply("198.18.0.7\n"),
            Some("198.18.0.7".parse().unwrap())
        );
        assert_eq!(
            parse_echo_reply("{\"ip\":\"198.18.1.9\"}"),
            Some("198.18.1.9".parse().unwrap())
        );
        assert_eq!(
            parse_echo_reply("{\"ip\": \"198.18.1.9\"}"),
            Some("198.18.1.9".parse().unwrap())
        );
        assert_eq!(parse_echo_reply("<html>error</html>"), None);
    }
}
