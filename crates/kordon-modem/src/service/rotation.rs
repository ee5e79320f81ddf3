//! The `reconnect` service: IP rotation on request. [`Rotator::request`] answers at once, per
//! port, whether a rotation was started or why not; rotations of different ports run in
//! parallel, one at a time per port. A rotation marks the port (`reconnect`,
//! `reconnect_start`), climbs the [`escalation`](super::escalation) ladder within
//! [`ServiceConfig::rotation_timeout`], records the new public address in the port's history
//! and its operator's pool, and ends (`reconnect_end`) whether it succeeded or not; a failure
//! is logged and leaves the old external IP in place.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::escalation::{self, Rotated};
use super::monitor::PlaneContext;
use super::snapshot::PortSettings;
use super::unix_now;

/// Why a port's rotation was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such port")]
    Unknown,
    #[error("the port is inactive")]
    Inactive,
    #[error("a rotation of this port is already running")]
    AlreadyRotating,
    #[error("reconnect_min is {min} s and the last rotation ended {ago} s ago: retry in {wait} s")]
    TooSoon { min: i64, ago: i64, wait: i64 },
}

/// The `reconnect` service is stopped: nothing can rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("IP rotation is not available: the 'reconnect' service is not running.")]
pub struct NotRunning;

/// Requests rotations; clones share the service.
#[derive(Clone)]
pub struct Rotator {
    inner: Arc<Inner>,
}

struct Inner {
    context: PlaneContext,
    /// Ports whose rotation was accepted and has not ended.
    busy: Mutex<HashSet<i64>>,
    /// The running service's queue; `None` while it is stopped.
    queue: Mutex<Option<mpsc::UnboundedSender<i64>>>,
}

impl Rotator {
    pub fn new(context: PlaneContext) -> Rotator {
        Rotator {
            inner: Arc::new(Inner {
                context,
                busy: Mutex::default(),
                queue: Mutex::default(),
            }),
        }
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.inner.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedSender<i64>>> {
        self.inner.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn context(&self) -> &PlaneContext {
        &self.inner.context
    }

    pub fn is_running(&self) -> bool {
        self.queue().is_some()
    }

    /// Whether a rotation of the port is under way.
    pub fn is_rotating(&self, id: i64) -> bool {
        self.busy().contains(&id)
    }

    /// Starts a rotation of every port that may rotate now; per id (in request order,
    /// repeats answered once) the start or the refusal.
    pub async fn request(
        &self,
        ids: &[i64],
    ) -> Result<Vec<(i64, Result<(), Refusal>)>, NotRunning> {
        let Some(queue) = self.queue().clone() else {
            return Err(NotRunning);
        };
        let now = unix_now();
        let mut answers: Vec<(i64, Result<(), Refusal>)> = Vec::new();
        for &id in ids {
            if answers.iter().any(|(seen, _)| *seen == id) {
                continue;
            }
            let verdict = self.admit(id, now).await;
            if verdict.is_ok() && queue.send(id).is_err() {
                self.busy().remove(&id);
                return Err(NotRunning);
            }
            answers.push((id, verdict));
        }
        Ok(answers)
    }

    /// Checks and, when allowed, marks the port busy.
    async fn admit(&self, id: i64, now: i64) -> Result<(), Refusal> {
        let port = self
            .inner
            .context
            .directory
            .port(id)
            .ok_or(Refusal::Unknown)?;
        if !port.active {
            return Err(Refusal::Inactive);
        }
        if self.is_rotating(id) {
            return Err(Refusal::AlreadyRotating);
        }
        let state = self.inner.context.book.read(&port).await;
        if let Some(end) = state.reconnect_end {
            let ago = now - end;
            if port.reconnect_min > 0 && ago < port.reconnect_min {
                return Err(Refusal::TooSoon {
                    min: port.reconnect_min,
                    ago: ago.max(0),
                    wait: port.reconnect_min - ago,
                });
            }
        }
        if !self.busy().insert(id) {
            return Err(Refusal::AlreadyRotating);
        }
        Ok(())
    }

    /// Runs the service until `token` is cancelled; rotations still running then are cut
    /// short and their ports marked as ended.
    pub async fn run(&self, token: CancellationToken) {
        self.clear_interrupted().await;
        let (sender, mut receiver) = mpsc::unbounded_channel();
        *self.queue() = Some(sender);
        let mut running = JoinSet::new();
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                Some(id) = receiver.recv() => {
                    let rotator = self.clone();
                    running.spawn(async move { rotator.rotate(id).await });
                }
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        *self.queue() = None;
        running.shutdown().await;
        let cut_short: Vec<i64> = self.busy().drain().collect();
        for id in cut_short {
            if let Some(port) = self.inner.context.directory.port(id) {
                tracing::warn!(
                    port = id,
                    "rotation cut short: the reconnect service stopped"
                );
                self.end(&port, None).await;
            }
        }
    }

    /// A port still marked as rotating when the service starts was interrupted (kordon
    /// stopped or crashed mid-rotation): clear the mark so the port does not look busy forever.
    async fn clear_interrupted(&self) {
        let snapshot = self.inner.context.directory.current();
        for port in snapshot.values() {
            if self.is_rotating(port.id) {
                continue;
            }
            let result = self
                .inner
                .context
                .book
                .update(port, |state| state.reconnecting = false)
                .await;
            if let Err(error) = result {
                tracing::warn!(port = port.id, %error, "cannot clear an interrupted rotation");
            }
        }
    }

    async fn rotate(&self, id: i64) {
        let Some(port) = self.inner.context.directory.port(id) else {
            self.busy().remove(&id);
            return;
        };
        let context = &self.inner.context;
        let started = unix_now();
        let before = match context
            .book
            .update(&port, |state| {
                state.reconnecting = true;
                state.reconnect_start = Some(started);
            })
            .await
        {
            Ok(state) => state.external_ip.and_then(|ip| ip.parse::<IpAddr>().ok()),
            Err(error) => {
                tracing::warn!(port = id, %error, "cannot mark the rotation");
                None
            }
        };
        let outcome = match context.drivers.get(&port) {
            Ok(driver) => {
                let climb = escalation::rotate(&driver, &port, before, &context.config);
                match tokio::time::timeout(context.config.rotation_timeout, climb).await {
                    Ok(Ok(rotated)) => Ok(rotated),
                    Ok(Err(failure)) => Err(failure.to_string()),
                    Err(_) => Err(format!(
                        "no new public address within {:?}",
                        context.config.rotation_timeout
                    )),
                }
            }
            Err(error) => Err(error.to_string()),
        };
        match outcome {
            Ok(rotated) => {
                tracing::info!(
                    port = id,
                    ip = %rotated.external_ip,
                    step = rotated.step.name(),
                    seconds = unix_now() - started,
                    "rotation done"
                );
                self.end(&port, Some(rotated)).await;
            }
            Err(reason) => {
                tracing::warn!(port = id, %reason, "rotation failed");
                self.end(&port, None).await;
            }
        }
        self.busy().remove(&id);
    }

    /// Ends a rotation: records the new address (if any) and clears the mark.
    async fn end(&self, port: &PortSettings, rotated: Option<Rotated>) {
        let context = &self.inner.context;
        let now = unix_now();
        let mut ids = (None, None);
        if let Some(rotated) = &rotated {
            let operator = match &rotated.status.operator {
                Some(name) => context.catalog.operator(name).await.ok(),
                None => None,
            };
            let network_type = match &rotated.status.network_type {
                Some(name) => context.catalog.network_type(name).await.ok(),
                None => None,
            };
            ids = (operator, network_type);
            if let Err(error) = context
                .book
                .store()
                .record_port_ip(
                    port.id,
                    &rotated.external_ip.to_string(),
                    operator,
                    network_type,
                    port.osfp_id,
                    now,
                )
                .await
            {
                tracing::warn!(port = port.id, %error, "cannot record the new address");
            }
        }
        let result = context
            .book
            .update(port, |state| {
                state.reconnecting = false;
                state.reconnect_end = Some(now);
                if port.is_timed() {
                    state.next_reconnect_at = Some(now + port.reconnect_interval);
                }
                if let Some(rotated) = &rotated {
                    state.external_ip = Some(rotated.external_ip.to_string());
                    state.conn_net = true;
                    state.conn_inet = true;
                    if ids.0.is_some() {
                        state.operator_id = ids.0;
                    }
                    if ids.1.is_some() {
                        state.network_type_id = ids.1;
                    }
                }
            })
            .await;
        if let Err(error) = result {
            tracing::warn!(port = port.id, %error, "cannot store the rotation's end");
        }
    }
}
