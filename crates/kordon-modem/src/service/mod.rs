//! The modem plane's services: monitoring (`normal`), rotation (`reconnect`) and timed
//! rotation (`scheduler`).
//!
//! - [`snapshot`]: the ports' settings, rebuilt from the store on change events (never a query
//!   per tick), shared by every service.
//! - [`book`]: each port's live state in memory, written through to the store whole; the one
//!   place monitoring and rotation meet, so neither overwrites the other's fields.
//! - [`network`]: how a port's modem and its echo services are reached (the host's interfaces
//!   in production, loopback emulators in tests).
//! - [`drivers`]: one driver per port, kept across ticks (HiLink sessions live in it).
//! - [`echo`]: the public address seen through a port.
//! - [`operator_name`]: one operator for the names two firmware families report.
//! - [`monitor`], [`rotation`] (with [`escalation`]), [`scheduler`]: the services.
//! - [`routing`]: policy routing that lets traffic bound to a port's interface leave through
//!   its modem, although every modem of a family has the same address.

pub mod book;
pub mod drivers;
pub mod echo;
pub mod escalation;
pub mod monitor;
pub mod network;
pub mod operator_name;
pub mod rotation;
pub mod routing;
pub mod scheduler;
pub mod snapshot;

use std::time::Duration;

/// Bounds and pacing of the services.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Bound on one whole modem reading (a HiLink reading is several requests).
    pub status_timeout: Duration,
    /// Bound on one echo request through a port.
    pub echo_timeout: Duration,
    /// Pause between readings while a rotation waits for the new session.
    pub poll_interval: Duration,
    /// Bound on each step of a rotation (the redial, each escalation) coming back with a
    /// session and a public address.
    pub step_timeout: Duration,
    /// Bound on a whole rotation, escalations included; past it the rotation is reported
    /// failed.
    pub rotation_timeout: Duration,
    /// Gap between overdue timed rotations at start-up, so a restart does not fire them all
    /// at once.
    pub overdue_spacing: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            status_timeout: Duration::from_secs(8),
            echo_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(200),
            step_timeout: Duration::from_secs(45),
            rotation_timeout: Duration::from_secs(180),
            overdue_spacing: Duration::from_secs(5),
        }
    }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    kordon_store::now()
}
