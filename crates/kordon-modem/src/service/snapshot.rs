//! The ports' settings as the services need them, rebuilt from the store when a
//! [`Change::Ports`] event arrives (several events in a row cause one rebuild) and published
//! through a `watch` channel. Services read it every tick; they never query the store for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kordon_model::enums::{NetMode, ReconnectType};
use kordon_store::ports::{Port, PortState};
use kordon_store::{Change, Scope, Store, StoreError};
use tokio::sync::{broadcast, watch};

/// One port's settings, and its live state as the store had it when the snapshot was built
/// (the services' memory of a port starts from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSettings {
    pub id: i64,
    pub active: bool,
    pub model_id: i64,
    pub net_mode: NetMode,
    pub ifname: String,
    pub monitoring_interval: i64,
    pub reconnect_type: ReconnectType,
    pub reconnect_interval: i64,
    pub reconnect_min: i64,
    /// The fingerprint recorded with a new IP (only while spoofing is on).
    pub osfp_id: Option<i64>,
    pub stored_state: PortState,
}

impl PortSettings {
    pub fn from_port(port: &Port) -> PortSettings {
        PortSettings {
            id: port.id,
            active: port.active,
            model_id: port.model_id,
            net_mode: NetMode::parse(&port.net_mode).unwrap_or(NetMode::Lte),
            ifname: port.ifname.clone(),
            monitoring_interval: port.monitoring_interval,
            reconnect_type: ReconnectType::parse(&port.reconnect_type)
                .unwrap_or(ReconnectType::Link),
            reconnect_interval: port.reconnect_interval,
            reconnect_min: port.reconnect_min,
            osfp_id: if port.is_osfp { port.osfp_id } else { None },
            stored_state: port.state(),
        }
    }

    /// Whether the timer rotates this port.
    pub fn is_timed(&self) -> bool {
        self.active && self.reconnect_type.is_timed() && self.reconnect_interval > 0
    }

    /// What a monitoring loop depends on: a change restarts the port's loop.
    pub fn monitoring_key(&self) -> (bool, i64, &str, i64) {
        (
            self.active,
            self.model_id,
            &self.ifname,
            self.monitoring_interval,
        )
    }
}

/// Every port by id.
pub type PortSnapshot = Arc<BTreeMap<i64, PortSettings>>;

/// A live view of the ports' settings.
#[derive(Clone)]
pub struct PortDirectory {
    receiver: watch::Receiver<PortSnapshot>,
}

async fn load(store: &Store) -> Result<PortSnapshot, StoreError> {
    let ports = store.list_ports(Scope::All, &[]).await?;
    Ok(Arc::new(
        ports
            .iter()
            .map(|port| (port.id, PortSettings::from_port(port)))
            .collect(),
    ))
}

impl PortDirectory {
    /// Loads the ports and keeps the view current until every clone is dropped.
    pub async fn start(store: Store) -> Result<PortDirectory, StoreError> {
        let mut events = store.subscribe();
        let (sender, receiver) = watch::channel(load(&store).await?);
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(Change::Ports) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
                // Coalesce a burst of events into one rebuild.
                while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = events.try_recv()
                {
                }
                match load(&store).await {
                    Ok(snapshot) => {
                        if sender.send(snapshot).is_err() {
                            return;
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot reload the ports"),
                }
            }
        });
        Ok(PortDirectory { receiver })
    }

    /// The current snapshot.
    pub fn current(&self) -> PortSnapshot {
        self.receiver.borrow().clone()
    }

    pub fn port(&self, id: i64) -> Option<PortSettings> {
        self.receiver.borrow().get(&id).cloned()
    }

    /// Waits for the next rebuild; `false` when the view can no longer change.
    pub async fn changed(&mut self) -> bool {
        self.receiver.changed().await.is_ok()
    }
}
