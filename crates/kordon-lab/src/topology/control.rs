//! The emulator's environment in the namespace lab: the data link is the modem namespace's
//! `wan0`, the public address lives on it (and is routed to it in the internet namespace),
//! and the USB device is the veth pair between the farm's namespace and the modem's.

use std::net::Ipv4Addr;

use socket2::{Domain, Socket, Type};

use crate::emulator::{ControlError, ControlFuture, Lan, ModemControl};

use super::command::ip;
use super::error::TopologyError;
use super::names::{MODEM_LAN_IF, MODEM_WAN_IF};
use super::netns;

/// The veth pair that plays the USB cable: host end in the farm's namespace, modem end
/// (`lan0`) in the modem's.
#[derive(Debug, Clone)]
pub struct UsbLink {
    /// The farm's namespace; `None` is the namespace this process runs in.
    pub host_ns: Option<String>,
    pub host_if: String,
    pub modem_ns: String,
    pub lan: Lan,
}

impl UsbLink {
    pub async fn plug(&self) -> Result<(), TopologyError> {
        let host = self.host_ns.as_deref();
        let m = Some(self.modem_ns.as_str());
        let host_if = self.host_if.as_str();
        ip(
            host,
            &[
                "link",
                "add",
                host_if,
                "type",
                "veth",
                "peer",
                "name",
                MODEM_LAN_IF,
                "netns",
                &self.modem_ns,
            ],
        )
        .await?;
        let modem_cidr = format!("{}/{}", self.lan.modem, self.lan.prefix_len);
        ip(m, &["addr", "add", &modem_cidr, "dev", MODEM_LAN_IF]).await?;
        ip(m, &["link", "set", MODEM_LAN_IF, "up"]).await?;
        // The address the modem's DHCP server would hand out.
        let host_cidr = format!("{}/{}", self.lan.host, self.lan.prefix_len);
        ip(host, &["addr", "add", &host_cidr, "dev", host_if]).await?;
        ip(host, &["link", "set", host_if, "up"]).await
    }

    pub async fn unplug(&self) -> Result<(), TopologyError> {
        ip(self.host_ns.as_deref(), &["link", "del", &self.host_if]).await
    }
}

/// [`ModemControl`] acting on one modem's namespaces.
#[derive(Debug, Clone)]
pub struct NamespaceControl {
    pub usb: UsbLink,
    pub internet_ns: String,
    /// The internet's end of the data link.
    pub internet_if: String,
}

fn control_err(e: TopologyError) -> ControlError {
    ControlError(e.to_string())
}

impl NamespaceControl {
    async fn data_link(&self, up: bool) -> Result<(), TopologyError> {
        let m = Some(self.usb.modem_ns.as_str());
        let state = if up { "up" } else { "down" };
        ip(m, &["link", "set", MODEM_WAN_IF, state]).await?;
        if up {
            // Taking the link down flushed the routes through it.
            ip(m, &["route", "replace", "default", "dev", MODEM_WAN_IF]).await?;
        }
        Ok(())
    }

    async fn move_addr(&self, old: Ipv4Addr, new: Ipv4Addr) -> Result<(), TopologyError> {
        let m = Some(self.usb.modem_ns.as_str());
        let inet = Some(self.internet_ns.as_str());
        let (old, new) = (format!("{old}/32"), format!("{new}/32"));
        ip(m, &["addr", "add", &new, "dev", MODEM_WAN_IF]).await?;
        ip(m, &["addr", "del", &old, "dev", MODEM_WAN_IF]).await?;
        ip(inet, &["route", "replace", &new, "dev", &self.internet_if]).await?;
        ip(inet, &["route", "del", &old, "dev", &self.internet_if]).await
    }
}

impl ModemControl for NamespaceControl {
    fn set_data_link(&self, up: bool) -> ControlFuture<'_> {
        Box::pin(async move { self.data_link(up).await.map_err(control_err) })
    }

    fn move_wan_addr(&self, old: Ipv4Addr, new: Ipv4Addr) -> ControlFuture<'_> {
        Box::pin(async move { self.move_addr(old, new).await.map_err(control_err) })
    }

    fn unplug(&self) -> ControlFuture<'_> {
        Box::pin(async move { self.usb.unplug().await.map_err(control_err) })
    }

    fn replug(&self) -> ControlFuture<'_> {
        Box::pin(async move { self.usb.plug().await.map_err(control_err) })
    }

    /// Opened inside the modem's namespace, so it routes out of `wan0` and through the NAT.
    fn data_socket(&self, kind: Type) -> std::io::Result<Socket> {
        netns::run_in(&self.usb.modem_ns, move || {
            Socket::new(Domain::IPV4, kind, None)
        })
        .map_err(std::io::Error::other)
    }
}
