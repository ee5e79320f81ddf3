//! Policy routing per port. Every Huawei modem is 192.168.8.1 and every ZTE one 192.168.0.1,
//! so the main routing table cannot say which modem a packet to the internet should take.
//! Sockets of a port are bound to its interface (`SO_BINDTODEVICE`), and for each port kordon
//! installs a rule `oif <ifname> lookup <table>` whose table holds one default route via the
//! modem on that interface: a bound socket's route lookup carries the interface, matches the
//! rule and leaves through its own modem, whatever the other ports' addresses.
//!
//! Table and rule priority are derived from the port id, so they survive restarts and two
//! ports never share them; installing is idempotent (`ip route replace`, the rule deleted
//! before it is added).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use tokio::process::Command;

/// First routing table (and rule priority) used for ports; port `id` uses `BASE + id`.
pub const TABLE_BASE: i64 = 10_000;

/// The routes kordon installed, so unchanged ports cost no command per tick.
#[derive(Clone, Default)]
pub struct PolicyRouting {
    installed: Arc<Mutex<HashMap<i64, (String, Ipv4Addr)>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("ip {args}: {reason}")]
pub struct RoutingError {
    args: String,
    reason: String,
}

fn table_of(id: i64) -> String {
    (TABLE_BASE + id).to_string()
}

async fn ip(args: &[&str]) -> Result<(), RoutingError> {
    let failure = |reason: String| RoutingError {
        args: args.join(" "),
        reason,
    };
    let output = Command::new("ip")
        .args(args)
        .output()
        .await
        .map_err(|err| failure(err.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(failure(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ))
    }
}

impl PolicyRouting {
    pub fn new() -> PolicyRouting {
        PolicyRouting::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (String, Ipv4Addr)>> {
        self.installed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes traffic bound to `ifname` leave via `gateway`.
    pub async fn ensure(&self, id: i64, ifname: &str, gateway: Ipv4Addr) {
        let wanted = (ifname.to_owned(), gateway);
        if self.lock().get(&id) == Some(&wanted) {
            return;
        }
        match install(id, ifname, gateway).await {
            Ok(()) => {
                tracing::info!(port = id, ifname, %gateway, "policy route installed");
                self.lock().insert(id, wanted);
            }
            Err(error) => tracing::warn!(port = id, %error, "cannot install the port's route"),
        }
    }

    /// Removes the port's rule and table (port gone, deactivated or unplugged).
    pub async fn remove(&self, id: i64) {
        if self.lock().remove(&id).is_none() {
            return;
        }
        uninstall(id).await;
        tracing::info!(port = id, "policy route removed");
    }
}

/// Brings a port's interface up or down (`modem/active`). An interface that is not there
/// (unplugged) is left alone: it comes back up by itself, and the next pass acts on it.
pub async fn set_link(ifname: &str, up: bool) -> Result<(), RoutingError> {
    let state = if up { "up" } else { "down" };
    ip(&["link", "set", "dev", ifname, state]).await
}

async fn install(id: i64, ifname: &str, gateway: Ipv4Addr) -> Result<(), RoutingError> {
    let table = table_of(id);
    let gateway = gateway.to_string();
    ip(&[
        "-4", "route", "replace", "default", "via", &gateway, "dev", ifname, "table", &table,
    ])
    .await?;
    // A rule of an earlier interface of this port may exist: replace it.
    let _ = ip(&["-4", "rule", "del", "priority", &table]).await;
    ip(&[
        "-4", "rule", "add", "priority", &table, "oif", ifname, "lookup", &table,
    ])
    .await
}

async fn uninstall(id: i64) {
    let table = table_of(id);
    let _ = ip(&["-4", "rule", "del", "priority", &table]).await;
    let _ = ip(&["-4", "route", "flush", "table", &table]).await;
}
