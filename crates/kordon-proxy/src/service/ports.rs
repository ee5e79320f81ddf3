//! Which ports carry traffic now. A port whose modem starts rotating gets its connections cut
//! at once: they would die anyway when the modem drops its data link, and a clean close tells
//! the client now instead of after a TCP timeout. New connections wait for the rotation to
//! end (see `session::open`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::egress::PortActivity;
use crate::table::ProxyTable;

/// How often rotation state is read. A rotation takes seconds; this bounds how long a
/// connection through a rotating modem lingers.
const POLL: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct PortGate {
    activity: Arc<dyn PortActivity>,
    /// Cancelled when the port starts rotating; replaced by a fresh token right after.
    cuts: Arc<Mutex<HashMap<i64, CancellationToken>>>,
    /// Rotations seen starting per port, the `rotations` of its DNS answers' `LinkEpoch`.
    /// Never pruned: one number per port the table ever had, and a port that leaves and comes
    /// back must not start again from a count its old answers were kept under.
    rotations: Arc<Mutex<HashMap<i64, u64>>>,
}

impl PortGate {
    pub fn new(activity: Arc<dyn PortActivity>) -> PortGate {
        PortGate {
            activity,
            cuts: Arc::default(),
            rotations: Arc::default(),
        }
    }

    pub fn is_rotating(&self, port_id: i64) -> bool {
        self.activity.is_rotating(port_id)
    }

    /// How many rotations of the port this gate has seen start.
    pub fn rotations(&self, port_id: i64) -> u64 {
        self.rotation_counts().get(&port_id).copied().unwrap_or(0)
    }

    /// The token that ends the port's connections at its next rotation.
    pub fn cut_token(&self, port_id: i64) -> CancellationToken {
        self.lock().entry(port_id).or_default().clone()
    }

    /// Cuts the connections of ports as they start rotating, until `shutdown`.
    pub async fn watch(self, table: watch::Receiver<Arc<ProxyTable>>, shutdown: CancellationToken) {
        let mut rotating: HashSet<i64> = HashSet::new();
        loop {
            let ports: HashSet<i64> = table
                .borrow()
                .profiles()
                .map(|profile| profile.egress.port_id)
                .collect();
            for port in &ports {
                let now = self.activity.is_rotating(*port);
                if now && rotating.insert(*port) {
                    // Counted at the start, so a lookup still in flight from before the
                    // rotation stores its answer under the old count, where nothing after the
                    // rotation looks (new connections wait for the rotation to end).
                    *self.rotation_counts().entry(*port).or_default() += 1;
                    if let Some(token) = self.lock().remove(port) {
                        token.cancel();
                    }
                    tracing::debug!(port, "port rotating: its proxied connections closed");
                } else if !now {
                    rotating.remove(port);
                }
            }
            self.lock().retain(|port, _| ports.contains(port));
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, CancellationToken>> {
        // A map of tokens has no invariant a panic could break.
        self.cuts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rotation_counts(&self) -> std::sync::MutexGuard<'_, HashMap<i64, u64>> {
        // Nor has a map of counters.
        self.rotations.lock().unwrap_or_else(|p| p.into_inner())
    }
}
