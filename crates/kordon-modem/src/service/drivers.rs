//! One driver per port, shared by monitoring and rotation and kept until the port's model or
//! path changes: a HiLink driver holds the modem's session, and each driver holds the HTTP
//! client bound to the port's interface.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::echo::echo_client;
use super::network::{PortNetwork, PortPath};
use super::snapshot::PortSettings;
use crate::driver::{driver_for_model_id, Driver};
use crate::error::DriverError;

/// A port's driver with the path it talks through.
pub struct PortDriver {
    pub driver: Driver,
    /// Echo requests leave through the same interface as the driver's.
    pub echo: reqwest::Client,
    pub path: PortPath,
    model_id: i64,
}

/// The drivers of all ports; clones share them.
#[derive(Clone)]
pub struct DriverPool {
    network: Arc<dyn PortNetwork>,
    echo_timeout: Duration,
    drivers: Arc<Mutex<HashMap<i64, Arc<PortDriver>>>>,
}

impl DriverPool {
    pub fn new(network: Arc<dyn PortNetwork>, echo_timeout: Duration) -> DriverPool {
        DriverPool {
            network,
            echo_timeout,
            drivers: Arc::default(),
        }
    }

    pub fn network(&self) -> &dyn PortNetwork {
        self.network.as_ref()
    }

    /// The port's driver, built on first use or when the port's model or path changed.
    pub fn get(&self, port: &PortSettings) -> Result<Arc<PortDriver>, DriverError> {
        let path = self.network.path(port)?;
        let mut drivers = self.drivers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = drivers.get(&port.id) {
            if existing.model_id == port.model_id && existing.path == path {
                return Ok(existing.clone());
            }
        }
        let http = path.http.build()?;
        let driver = driver_for_model_id(port.model_id, path.modem_url.clone(), http)?;
        let echo = echo_client(&path.http, self.echo_timeout)?;
        let built = Arc::new(PortDriver {
            driver,
            echo,
            path,
            model_id: port.model_id,
        });
        drivers.insert(port.id, built.clone());
        Ok(built)
    }

    /// Drops a port's driver (the port went away or was deactivated).
    pub fn remove(&self, id: i64) {
        self.drivers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}
