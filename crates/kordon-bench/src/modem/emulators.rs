//! Emulated modems on loopback addresses: each one is the lab's web-API emulator of its model
//! plus an echo service that answers with the modem's current public address (what the
//! internet would see through it), since on loopback no NAT stands between them.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use kordon_lab::emulator::{spawn, EmulatedModem, EmulatorServer, LoopbackControl, ModemConfig};
use kordon_lab::operators::{WanPools, OPERATORS};
use kordon_model::catalog::{ModemModel, MODEM_MODELS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Echo requests answered by this process, i.e. public-address checks made by the monitor.
pub static ECHO_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Where one loopback modem answers.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub model: ModemModel,
    pub address: Ipv4Addr,
    /// `http://addr:port/` of the modem's web API.
    pub modem_url: String,
    /// `http://addr:port/` of its echo service.
    pub echo_url: String,
}

pub struct LoopbackModem {
    pub endpoint: Endpoint,
    pub emulator: EmulatedModem,
    server: EmulatorServer,
    echo: JoinHandle<()>,
}

impl LoopbackModem {
    pub async fn shutdown(self) {
        self.echo.abort();
        self.server.shutdown().await;
    }
}

/// The i-th modem's model: the five models in turn.
pub fn model_of(index: usize) -> ModemModel {
    MODEM_MODELS[index % MODEM_MODELS.len()]
}

/// Starts `count` modems on `127.<net>.<i / 250>.<1 + i % 250>`, models and operators in turn,
/// each reconnecting in `reconnect_delay`.
pub async fn start(count: usize, net: u8, reconnect_delay: Duration) -> Result<Vec<LoopbackModem>> {
    let pools = WanPools::new();
    let mut modems = Vec::with_capacity(count);
    for index in 0..count {
        let address = Ipv4Addr::new(127, net, (index / 250) as u8, 1 + (index % 250) as u8);
        let model = model_of(index);
        let config = ModemConfig::new(model, OPERATORS[index % OPERATORS.len()])
            .with_reconnect_delay(reconnect_delay);
        let emulator = EmulatedModem::new(config, pools.clone(), Arc::new(LoopbackControl))
            .context("the operator's pool is empty")?;
        let listener = TcpListener::bind((address, 0))
            .await
            .with_context(|| format!("bind the emulator on {address}"))?;
        let server = spawn(listener, emulator.clone())?;
        let echo_listener = TcpListener::bind((address, 0))
            .await
            .with_context(|| format!("bind the echo on {address}"))?;
        let echo_url = format!("http://{}/", echo_listener.local_addr()?);
        let echo = tokio::spawn(echo_service(echo_listener, emulator.clone()));
        modems.push(LoopbackModem {
            endpoint: Endpoint {
                model,
                address,
                modem_url: format!("http://{}/", server.local_addr()),
                echo_url,
            },
            emulator,
            server,
            echo,
        });
    }
    Ok(modems)
}

/// Answers every request with the modem's public address while its data link is up, 503
/// while it is down (as an echo behind a dead link would not answer at all, only faster).
async fn echo_service(listener: TcpListener, modem: EmulatedModem) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let modem = modem.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            ECHO_REQUESTS.fetch_add(1, Ordering::Relaxed);
            let reply = match modem.state().wan_ip() {
                Some(ip) => {
                    let body = format!("{ip}\n");
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                }
                None => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_owned(),
            };
            let _ = stream.write_all(reply.as_bytes()).await;
        });
    }
}

/// One line of the emulator process's report: `model_id address modem_url echo_url`.
pub fn endpoint_line(endpoint: &Endpoint) -> String {
    format!(
        "{} {} {} {}",
        endpoint.model.id, endpoint.address, endpoint.modem_url, endpoint.echo_url
    )
}

pub fn parse_endpoint_line(line: &str) -> Result<Endpoint> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [model_id, address, modem_url, echo_url] = words[..] else {
        anyhow::bail!("bad endpoint line {line:?}");
    };
    let model_id: i64 = model_id.parse()?;
    let model = *MODEM_MODELS
        .iter()
        .find(|model| model.id == model_id)
        .with_context(|| format!("unknown model {model_id}"))?;
    Ok(Endpoint {
        model,
        address: address.parse()?,
        modem_url: modem_url.to_owned(),
        echo_url: echo_url.to_owned(),
    })
}
