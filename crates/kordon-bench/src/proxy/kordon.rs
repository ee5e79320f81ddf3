//! kordon as the peer under test: the real `kordon serve` with its own data directory,
//! configured through the farm API the way an operator does it. One port on `lo` (the
//! loopback interface stands in for a modem's), one proxy login, the client address
//! 127.0.0.1 as a proxy IP, and three profiles on that port: SOCKS5 and HTTP with the login
//! (`strong`), and SOCKS5 by client address (`iponly`). Each profile allows only the bench's
//! target ports, as the dante and squid rules do.
//!
//! kordon refuses loopback targets unless told otherwise, so it is started with
//! `KORDON_PROXY_PERMIT_NETWORKS=127.0.0.0/8`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::client::{Credentials, Route};
use super::farm::{created_id, FarmApi};
use super::lanes::{free_port, free_ports, probe};
use super::process::ProxyProcess;

const ADMIN: &str = "admin";
const ADMIN_PASSWORD: &str = "bench12345";
const PROXY_LOGIN: &str = "bench_proxy";
const PROXY_PASSWORD: &str = "bench-proxy-pw1";
const PERMIT_NETWORKS: &str = "127.0.0.0/8";

/// kordon's three proxy profiles.
pub struct KordonProfiles {
    pub socks: Route,
    pub connect: Route,
    pub socks_iponly: Route,
}

/// kordon running with its profiles, or why its lanes cannot be measured yet.
pub enum KordonPeer {
    Running {
        process: ProxyProcess,
        profiles: Box<KordonProfiles>,
    },
    /// The binary has no proxy plane yet: its lanes are reported as pending.
    Pending { reason: String },
}

/// Starts kordon in `dir`, configures the profiles through the farm API and, when the build
/// has a proxy plane, checks that each profile carries an echo exchange to `echo`.
pub async fn start(
    program: &Path,
    dir: &Path,
    targets: &[SocketAddr],
    echo: SocketAddr,
    maxconn: usize,
) -> Result<KordonPeer> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let api = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let mut command = Command::new(program);
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(&data)
        .env("KORDON_LISTEN", api.to_string())
        .env("KORDON_ADMIN_USERNAME", ADMIN)
        .env("KORDON_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("KORDON_PROXY_PERMIT_NETWORKS", PERMIT_NETWORKS)
        .env("KORDON_LOG", "warn");
    let mut process = ProxyProcess::spawn("kordon", command, &dir.join("kordon.out"))?;
    process.wait_accepting(api, Duration::from_secs(30)).await?;
    let farm = FarmApi::login(
        &format!("http://{api}"),
        ADMIN,
        ADMIN_PASSWORD,
        Duration::from_secs(30),
    )
    .await?;

    // Configured first, so the farm API calls are checked even by a build without the plane.
    let profiles = configure(&farm, targets, maxconn).await?;
    if let Some(reason) = proxy_service_missing(&farm).await? {
        return Ok(KordonPeer::Pending { reason });
    }
    for (name, route) in [
        ("SOCKS5 (login)", &profiles.socks),
        ("CONNECT (login)", &profiles.connect),
        ("SOCKS5 (iponly)", &profiles.socks_iponly),
    ] {
        probe(route, echo, Duration::from_secs(15))
            .await
            .with_context(|| {
                format!(
                    "kordon's {name} profile carries no traffic (started with \
                     KORDON_PROXY_PERMIT_NETWORKS={PERMIT_NETWORKS}); kordon's output: {}",
                    process.log_tail()
                )
            })?;
    }
    Ok(KordonPeer::Running {
        process,
        profiles: Box::new(profiles),
    })
}

/// `Some(reason)` when this kordon build has no proxy service; starts it when it is merely
/// stopped.
async fn proxy_service_missing(farm: &FarmApi) -> Result<Option<String>> {
    let status = farm.get("/api/devices/services/status").await?;
    if status["proxy"] == true {
        return Ok(None);
    }
    let (code, reply) = farm
        .post_raw("/api/devices/services/start", json!({"name": "proxy"}))
        .await?;
    match code {
        StatusCode::SERVICE_UNAVAILABLE => Ok(Some(format!(
            "this kordon build has no proxy plane (services/start proxy: {})",
            reply["detail"].as_str().unwrap_or("503")
        ))),
        code if code.is_success() && reply.get("errors").is_none() => Ok(None),
        code => bail!("services/start proxy: HTTP {code}: {reply}"),
    }
}

async fn configure(
    farm: &FarmApi,
    targets: &[SocketAddr],
    maxconn: usize,
) -> Result<KordonProfiles> {
    let port = created_id(
        &farm
            .post(
                "/api/devices/modem/add",
                json!({
                    "name": "bench-loopback",
                    "ifname": "lo",
                    "type": 1,
                    "active": true,
                    "is_osfp": false,
                    "monitoring_interval": 60,
                    "mtu": 0,
                    "net_mode": "lte",
                    "reconnect_type": "link",
                    "reconnect_min": 0,
                    "users": []
                }),
            )
            .await?,
        "modem/add",
    )?;
    let login = created_id(
        &farm
            .post(
                "/api/proxy/auth/add",
                json!({"login": PROXY_LOGIN, "password": PROXY_PASSWORD,
                       "bitrate_in": 0, "bitrate_out": 0}),
            )
            .await?,
        "proxy/auth/add",
    )?;
    let client_ip = created_id(
        &farm
            .post(
                "/api/proxy/ip/add",
                json!({"ip": "127.0.0.1", "description": "bench clients"}),
            )
            .await?,
        "proxy/ip/add",
    )?;
    let target_ports: Vec<u16> = targets.iter().map(SocketAddr::port).collect();
    let profile = |kind: &str, auth: &str, auth_params: Value, listen: u16| {
        json!({
            "modem": port,
            "type": kind,
            "auth": auth,
            "port": listen,
            "auth_params": auth_params,
            "active": true,
            "is_local": false,
            "maxconn": maxconn,
            "is_allow": true,
            "allow": [],
            "is_ports": true,
            "targetport": target_ports,
        })
    };
    let credentials = Credentials {
        login: PROXY_LOGIN.into(),
        password: PROXY_PASSWORD.into(),
    };
    let ports = free_ports(3)?;
    let mut listen = Vec::new();
    for ((kind, auth, params), port_number) in [
        ("socks", "strong", json!([login])),
        ("http", "strong", json!([login])),
        ("socks", "iponly", json!([client_ip])),
    ]
    .into_iter()
    .zip(ports)
    {
        farm.post("/api/proxy/add", profile(kind, auth, params, port_number))
            .await?;
        listen.push(SocketAddr::from(([127, 0, 0, 1], port_number)));
    }
    Ok(KordonProfiles {
        socks: Route::Socks5 {
            proxy: listen[0],
            login: Some(credentials.clone()),
        },
        connect: Route::Connect {
            proxy: listen[1],
            login: Some(credentials),
        },
        socks_iponly: Route::Socks5 {
            proxy: listen[2],
            login: None,
        },
    })
}
