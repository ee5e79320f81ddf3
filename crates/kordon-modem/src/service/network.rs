//! How the services reach a port: the state of its interface, the modem's web API and the echo
//! services that tell its public address. [`HostNetwork`] is the real machine: USB interfaces,
//! the factory LAN address of the model's family, HTTP bound to the port's interface.

use std::net::Ipv4Addr;

use kordon_model::catalog::ModemFamily;
use reqwest::Url;

use super::snapshot::PortSettings;
use crate::driver::{factory_base_url, model_by_id};
use crate::error::DriverError;
use crate::http::HttpConfig;

/// The port's interface as the host sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFacts {
    /// The interface exists and is administratively and operationally up.
    pub up: bool,
    pub ipv4: Option<Ipv4Addr>,
    /// The modem's address on the interface's LAN.
    pub gateway: Option<Ipv4Addr>,
}

/// Where a port's modem answers and how to talk through the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPath {
    pub modem_url: Url,
    pub http: HttpConfig,
    /// Services that answer with the caller's address, tried in order.
    pub echo_urls: Vec<Url>,
}

pub trait PortNetwork: Send + Sync + 'static {
    /// The interface's state right now.
    fn link(&self, ifname: &str) -> LinkFacts;
    /// How to reach the port's modem and echo services.
    fn path(&self, port: &PortSettings) -> Result<PortPath, DriverError>;
}

/// The machine kordon runs on.
#[derive(Debug, Clone)]
pub struct HostNetwork {
    pub echo_urls: Vec<Url>,
}

impl PortNetwork for HostNetwork {
    fn link(&self, ifname: &str) -> LinkFacts {
        let interfaces = match kordon_host::net::interfaces() {
            Ok(interfaces) => interfaces,
            Err(error) => {
                tracing::warn!(%error, "cannot read the host's interfaces");
                return LinkFacts::default();
            }
        };
        interfaces
            .into_iter()
            .find(|interface| interface.name == ifname)
            .map(|interface| LinkFacts {
                up: interface.is_up,
                ipv4: interface.ipv4,
                gateway: interface.gateway,
            })
            .unwrap_or_default()
    }

    fn path(&self, port: &PortSettings) -> Result<PortPath, DriverError> {
        let family = model_by_id(port.model_id)
            .map(|model| model.family)
            .ok_or_else(|| DriverError::UnknownModel(port.model_id.to_string()))?;
        Ok(PortPath {
            modem_url: factory_base_url(family),
            http: HttpConfig::through_interface(&port.ifname),
            echo_urls: self.echo_urls.clone(),
        })
    }
}

/// The family of a port's model, if kordon knows the model.
pub fn family_of(port: &PortSettings) -> Option<ModemFamily> {
    model_by_id(port.model_id).map(|model| model.family)
}
