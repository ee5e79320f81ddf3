//! The steps of a rotation, gentlest first: redial, data switch off and on, a network-mode
//! toggle (the modem re-registers), a reboot. After each, the new session must come up and
//! the echo must show a public address other than the one before; if it shows the same, the
//! next step is tried.

use std::net::IpAddr;
use std::time::Duration;

use kordon_model::enums::NetMode;
use tokio::time::Instant;

use super::drivers::PortDriver;
use super::echo;
use super::snapshot::PortSettings;
use super::ServiceConfig;
use crate::driver::ModemDriver;
use crate::status::ModemStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Redial,
    DataSwitch,
    NetModeToggle,
    Reboot,
}

pub const LADDER: [Step; 4] = [
    Step::Redial,
    Step::DataSwitch,
    Step::NetModeToggle,
    Step::Reboot,
];

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Redial => "redial",
            Step::DataSwitch => "data switch",
            Step::NetModeToggle => "network mode toggle",
            Step::Reboot => "reboot",
        }
    }
}

/// A rotation that brought a new public address.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub external_ip: IpAddr,
    pub step: Step,
    pub status: ModemStatus,
}

/// Why a step did not bring a new address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepFailure {
    #[error("the modem refused the {step}: {reason}")]
    Refused { step: &'static str, reason: String },
    #[error("no data session came back after the {0}")]
    NoSession(&'static str),
    #[error("no echo service answered through the port after the {0}")]
    NoEcho(&'static str),
    #[error("the public address stayed {ip} after the {step}")]
    SameIp { step: &'static str, ip: IpAddr },
}

/// Climbs the ladder until the public address differs from `before` (any address counts when
/// `before` is unknown). Returns the last step's failure when every step failed; the caller
/// bounds the total time.
pub async fn rotate(
    driver: &PortDriver,
    port: &PortSettings,
    before: Option<IpAddr>,
    config: &ServiceConfig,
) -> Result<Rotated, StepFailure> {
    let mut last = StepFailure::NoSession(Step::Redial.name());
    for step in LADDER {
        match try_step(driver, port, before, config, step).await {
            Ok(rotated) => return Ok(rotated),
            Err(failure) => {
                tracing::info!(port = port.id, step = step.name(), %failure, "escalating");
                last = failure;
            }
        }
    }
    Err(last)
}

async fn try_step(
    driver: &PortDriver,
    port: &PortSettings,
    before: Option<IpAddr>,
    config: &ServiceConfig,
    step: Step,
) -> Result<Rotated, StepFailure> {
    let refused = |reason: String| StepFailure::Refused {
        step: step.name(),
        reason,
    };
    let wan_before = current_wan(driver, config).await;
    let modem = &driver.driver;
    match step {
        Step::Redial => modem
            .reconnect()
            .await
            .map_err(|e| refused(e.to_string()))?,
        Step::DataSwitch => {
            modem
                .set_data(false)
                .await
                .map_err(|e| refused(e.to_string()))?;
            wait_down(driver, config).await;
            modem
                .set_data(true)
                .await
                .map_err(|e| refused(e.to_string()))?;
        }
        Step::NetModeToggle => {
            let other = match port.net_mode {
                NetMode::Lte => NetMode::Umts,
                NetMode::Umts => NetMode::Lte,
            };
            modem
                .set_net_mode(other)
                .await
                .map_err(|e| refused(e.to_string()))?;
            wait_session(driver, wan_before, config)
                .await
                .ok_or(StepFailure::NoSession(step.name()))?;
            let wan_between = current_wan(driver, config).await;
            modem
                .set_net_mode(port.net_mode)
                .await
                .map_err(|e| refused(e.to_string()))?;
            return finish(driver, before, config, step, wan_between).await;
        }
        Step::Reboot => modem.reboot().await.map_err(|e| refused(e.to_string()))?,
    }
    finish(driver, before, config, step, wan_before).await
}

/// Waits for the session, then asks the echo for the public address.
async fn finish(
    driver: &PortDriver,
    before: Option<IpAddr>,
    config: &ServiceConfig,
    step: Step,
    wan_before: Option<IpAddr>,
) -> Result<Rotated, StepFailure> {
    let status = wait_session(driver, wan_before, config)
        .await
        .ok_or(StepFailure::NoSession(step.name()))?;
    let deadline = Instant::now() + config.step_timeout;
    let external_ip = loop {
        if let Some(ip) = echo::external_ip(&driver.echo, &driver.path.echo_urls).await {
            break ip;
        }
        if Instant::now() >= deadline {
            return Err(StepFailure::NoEcho(step.name()));
        }
        tokio::time::sleep(config.poll_interval).await;
    };
    if before == Some(external_ip) {
        return Err(StepFailure::SameIp {
            step: step.name(),
            ip: external_ip,
        });
    }
    Ok(Rotated {
        external_ip,
        step,
        status,
    })
}

async fn reading(driver: &PortDriver, config: &ServiceConfig) -> Option<ModemStatus> {
    match tokio::time::timeout(config.status_timeout, driver.driver.status()).await {
        Ok(Ok(status)) => Some(status),
        _ => None,
    }
}

async fn current_wan(driver: &PortDriver, config: &ServiceConfig) -> Option<IpAddr> {
    reading(driver, config).await.and_then(|s| s.wan_ip)
}

/// Waits (within the step bound) until the modem reports no session.
async fn wait_down(driver: &PortDriver, config: &ServiceConfig) {
    let deadline = Instant::now() + config.step_timeout;
    while Instant::now() < deadline {
        match reading(driver, config).await {
            Some(status) if status.connected => {}
            _ => return,
        }
        tokio::time::sleep(config.poll_interval).await;
    }
}

/// Waits until the modem has a session again: it must have been seen without one, or have a
/// new WAN address (a redial faster than one poll). `None` when the step bound passed.
async fn wait_session(
    driver: &PortDriver,
    wan_before: Option<IpAddr>,
    config: &ServiceConfig,
) -> Option<ModemStatus> {
    let deadline = Instant::now() + config.step_timeout;
    let mut seen_down = false;
    while Instant::now() < deadline {
        match reading(driver, config).await {
            Some(status) if status.connected && status.wan_ip.is_some() => {
                if seen_down || status.wan_ip != wan_before {
                    return Some(status);
                }
            }
            _ => seen_down = true,
        }
        tokio::time::sleep(config.poll_interval.min(Duration::from_millis(500))).await;
    }
    None
}
