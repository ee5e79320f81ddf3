//! Each port's live state in memory, written through to the store whole
//! ([`Store::set_port_state`]). Monitoring writes the connection and radio fields, rotation
//! the `reconnect*` fields and the external IP, the scheduler `next_reconnect_at`: each
//! changes only its own fields of the one copy, under the port's lock, so no writer undoes
//! another's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kordon_store::ports::PortState;
use kordon_store::{Store, StoreError};

use super::snapshot::PortSettings;

/// The ports' live state; clones share it.
#[derive(Clone)]
pub struct StateBook {
    store: Store,
    ports: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<PortState>>>>>,
}

impl StateBook {
    pub fn new(store: Store) -> StateBook {
        StateBook {
            store,
            ports: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The port's cell, started from the state the store had when first seen.
    fn cell(&self, port: &PortSettings) -> Arc<tokio::sync::Mutex<PortState>> {
        let mut ports = self.ports.lock().unwrap_or_else(|p| p.into_inner());
        ports
            .entry(port.id)
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(port.stored_state.clone())))
            .clone()
    }

    /// A copy of the port's state.
    pub async fn read(&self, port: &PortSettings) -> PortState {
        self.cell(port).lock().await.clone()
    }

    /// Changes the port's state with `change` and stores it, unless nothing changed. Returns
    /// the state after the change.
    pub async fn update(
        &self,
        port: &PortSettings,
        change: impl FnOnce(&mut PortState),
    ) -> Result<PortState, StoreError> {
        let cell = self.cell(port);
        let mut state = cell.lock().await;
        let mut next = state.clone();
        change(&mut next);
        if next != *state {
            self.store.set_port_state(port.id, &next).await?;
            *state = next;
        }
        Ok(state.clone())
    }

    /// Forgets a port whose interface changed: its next use starts from the store again
    /// (which cleared the old live state).
    pub fn forget(&self, id: i64) {
        self.ports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}
