//! The `normal` service: one loop per active port, every `monitoring_interval` seconds. A
//! reading is the interface's state (`conn_dev`, `ip`, `gateway`), the modem's (`conn_net`,
//! signal figures, operator, network type) and the public address through the port
//! (`conn_inet`, `external_ip`). Loops follow the port snapshot: a port added, edited or
//! reactivated gets a fresh loop, a deactivated one loses its loop.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use kordon_store::ports::PortState;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::book::StateBook;
use super::drivers::DriverPool;
use super::echo;
use super::network::LinkFacts;
use super::operator_name::CatalogIds;
use super::routing::{self, PolicyRouting};
use super::snapshot::{PortDirectory, PortSettings};
use super::ServiceConfig;
use crate::driver::ModemDriver;
use crate::status::ModemStatus;

/// What the monitoring, rotation and timer services share.
#[derive(Clone)]
pub struct PlaneContext {
    pub directory: PortDirectory,
    pub book: StateBook,
    pub drivers: DriverPool,
    pub catalog: CatalogIds,
    pub config: ServiceConfig,
    /// Policy routing per port (on a real host; `None` on loopback).
    pub routing: Option<PolicyRouting>,
}

struct PortLoop {
    settings: PortSettings,
    token: CancellationToken,
    handle: JoinHandle<()>,
}

/// Runs the monitoring loops until `token` is cancelled.
pub async fn run(context: PlaneContext, token: CancellationToken) {
    let mut directory = context.directory.clone();
    let mut loops: HashMap<i64, PortLoop> = HashMap::new();
    // Interfaces of inactive ports this service took down, by port.
    let mut downed: HashMap<i64, String> = HashMap::new();
    loop {
        let snapshot = directory.current();
        let stale: Vec<i64> = loops
            .iter()
            .filter(|(id, running)| {
                snapshot.get(id).is_none_or(|port| {
                    port.monitoring_key() != running.settings.monitoring_key()
                        || running.handle.is_finished()
                })
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            if let Some(running) = loops.remove(&id) {
                // A port moved to another interface had its live state cleared by the
                // store: start its memory again from the store.
                let moved = snapshot
                    .get(&id)
                    .is_none_or(|port| port.ifname != running.settings.ifname);
                stop_loop(running).await;
                if moved {
                    context.book.forget(id);
                }
                context.drivers.remove(id);
            }
        }
        if context.routing.is_some() {
            follow_active_flags(&snapshot, &mut downed).await;
        }
        for port in snapshot.values() {
            if !port.active {
                if let Some(routing) = &context.routing {
                    routing.remove(port.id).await;
                }
                continue;
            }
            if loops.contains_key(&port.id) {
                continue;
            }
            let child = token.child_token();
            let handle = tokio::spawn(watch_port(context.clone(), port.clone(), child.clone()));
            loops.insert(
                port.id,
                PortLoop {
                    settings: port.clone(),
                    token: child,
                    handle,
                },
            );
        }
        tokio::select! {
            _ = token.cancelled() => break,
            alive = directory.changed() => if !alive { token.cancelled().await; break; },
        }
    }
    for (_, running) in loops.drain() {
        stop_loop(running).await;
    }
}

/// `modem/active` false takes the port's interface down; true brings it up again.
async fn follow_active_flags(
    snapshot: &BTreeMap<i64, PortSettings>,
    downed: &mut HashMap<i64, String>,
) {
    for port in snapshot.values() {
        let was_down = downed.get(&port.id);
        if !port.active && was_down != Some(&port.ifname) {
            match routing::set_link(&port.ifname, false).await {
                Ok(()) => {
                    tracing::info!(port = port.id, ifname = %port.ifname, "inactive: interface down");
                    downed.insert(port.id, port.ifname.clone());
                }
                Err(error) => {
                    tracing::debug!(port = port.id, %error, "cannot take the interface down")
                }
            }
        }
    }
    let revived: Vec<(i64, String)> = downed
        .iter()
        .filter(|(id, ifname)| {
            snapshot
                .get(id)
                .is_none_or(|port| port.active || port.ifname != **ifname)
        })
        .map(|(id, ifname)| (*id, ifname.clone()))
        .collect();
    for (id, ifname) in revived {
        match routing::set_link(&ifname, true).await {
            Ok(()) => tracing::info!(port = id, %ifname, "active again: interface up"),
            Err(error) => tracing::debug!(port = id, %error, "cannot bring the interface up"),
        }
        downed.remove(&id);
    }
}

async fn stop_loop(running: PortLoop) {
    running.token.cancel();
    let _ = running.handle.await;
}

/// One port's loop: a reading, then the interval, until cancelled.
async fn watch_port(context: PlaneContext, port: PortSettings, token: CancellationToken) {
    let interval = Duration::from_secs(port.monitoring_interval.max(1) as u64);
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = read_port(&context, &port) => {}
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// One reading of a port, written to its state.
pub async fn read_port(context: &PlaneContext, port: &PortSettings) {
    let link = context.drivers.network().link(&port.ifname);
    if !link.up {
        if let Some(routing) = &context.routing {
            routing.remove(port.id).await;
        }
        write(context, port, |state| {
            without_modem(state, &link);
        })
        .await;
        return;
    }
    if let (Some(routing), Some(gateway)) = (&context.routing, link.gateway) {
        routing.ensure(port.id, &port.ifname, gateway).await;
    }
    let driver = match context.drivers.get(port) {
        Ok(driver) => driver,
        Err(error) => {
            tracing::warn!(port = port.id, %error, "no driver for the port");
            write(context, port, |state| {
                without_modem(state, &link);
            })
            .await;
            return;
        }
    };
    let status =
        match tokio::time::timeout(context.config.status_timeout, driver.driver.status()).await {
            Ok(Ok(status)) => Some(status),
            Ok(Err(error)) => {
                tracing::debug!(port = port.id, %error, "modem reading failed");
                None
            }
            Err(_) => {
                tracing::debug!(port = port.id, "modem reading timed out");
                None
            }
        };
    let Some(status) = status else {
        write(context, port, |state| {
            without_modem(state, &link);
        })
        .await;
        return;
    };
    let operator_id = match &status.operator {
        Some(name) => context.catalog.operator(name).await.ok(),
        None => None,
    };
    let network_type_id = match &status.network_type {
        Some(name) => context.catalog.network_type(name).await.ok(),
        None => None,
    };
    let external = if status.connected {
        echo::external_ip(&driver.echo, &driver.path.echo_urls).await
    } else {
        None
    };
    write(context, port, |state| {
        modem_reading(
            state,
            &link,
            &status,
            operator_id,
            network_type_id,
            external,
        );
    })
    .await;
}

async fn write(context: &PlaneContext, port: &PortSettings, change: impl FnOnce(&mut PortState)) {
    if let Err(error) = context.book.update(port, change).await {
        tracing::warn!(port = port.id, %error, "cannot store the port's state");
    }
}

fn link_fields(state: &mut PortState, link: &LinkFacts) {
    state.conn_dev = link.up;
    state.ip = link.ipv4.map(|ip| ip.to_string());
    state.gateway = link.gateway.map(|ip| ip.to_string());
}

fn clear_radio(state: &mut PortState) {
    state.conn_net = false;
    state.conn_inet = false;
    state.signal = None;
    state.rsrp = None;
    state.rsrq = None;
    state.rssi = None;
    state.sinr = None;
}

/// The interface is gone or down, or the modem did not answer: nothing behind the interface
/// is known now. The operator, network type and last external IP stay as last known facts.
fn without_modem(state: &mut PortState, link: &LinkFacts) {
    link_fields(state, link);
    clear_radio(state);
}

fn modem_reading(
    state: &mut PortState,
    link: &LinkFacts,
    status: &ModemStatus,
    operator_id: Option<i64>,
    network_type_id: Option<i64>,
    external: Option<IpAddr>,
) {
    link_fields(state, link);
    state.conn_net = status.connected;
    state.signal = Some(i64::from(status.signal_bars));
    state.rsrp = status.rsrp.clone();
    state.rsrq = status.rsrq.clone();
    state.rssi = status.rssi.clone();
    state.sinr = status.sinr.clone();
    if operator_id.is_some() {
        state.operator_id = operator_id;
    }
    if network_type_id.is_some() {
        state.network_type_id = network_type_id;
    }
    state.conn_inet = external.is_some();
    if let Some(ip) = external {
        state.external_ip = Some(ip.to_string());
    }
}
