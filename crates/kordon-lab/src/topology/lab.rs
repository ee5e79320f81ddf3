//! Building and removing a lab: the internet namespace with its services, and one namespace
//! per emulated modem with NAT, a data link to the internet, and the web API and the DNS
//! forwarder on its LAN.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kordon_model::catalog::{ModemModel, MODEM_MODELS};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::emulator::{
    self, Connection, DnsForwarder, EmulatedModem, EmulatorServer, Lan, ModemConfig,
};
use crate::operators::{WanPools, OPERATORS};

use super::command::{ip, ip_blocking, nft, run};
use super::control::{NamespaceControl, UsbLink};
use super::dns_server::spawn_dns_server;
use super::dns_zone::{DNS_ADDR, DNS_PORT, DNS_ZONE};
use super::echo::{self, ECHO_ADDR, ECHO_PORT, SINK_PORT, SOURCE_PORT};
use super::error::TopologyError;
use super::names::{LabNames, MAX_MODEMS, MODEM_WAN_IF};
use super::netns;
use super::udp_echo::{spawn_udp_echo, UDP_ECHO_PORT};

/// What to build.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// 1–8 characters of `a-z0-9`; prefixes every namespace and interface of the lab.
    pub name: String,
    /// One model per modem.
    pub models: Vec<ModemModel>,
    /// Where the modems' USB interfaces appear; `None` is this process's namespace.
    pub host_netns: Option<String>,
    pub reconnect_delay: Duration,
    pub reboot_delay: Duration,
}

impl LabSpec {
    /// `modems` modems cycling through the five models, 2 s reconnects, 4 s reboots.
    pub fn new(name: &str, modems: usize) -> Self {
        LabSpec {
            name: name.to_string(),
            models: (0..modems)
                .map(|i| MODEM_MODELS[i % MODEM_MODELS.len()])
                .collect(),
            host_netns: None,
            reconnect_delay: Duration::from_secs(2),
            reboot_delay: Duration::from_secs(4),
        }
    }
}

/// One modem of a running lab.
pub struct LabModem {
    pub index: usize,
    pub namespace: String,
    /// The USB interface in the farm's namespace.
    pub host_if: String,
    pub emulator: EmulatedModem,
    server: EmulatorServer,
    dns: DnsForwarder,
}

impl LabModem {
    /// Where the modem's web API answers (its LAN address, port 80).
    pub fn api_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Where the modem's DNS forwarder answers (its LAN address, port 53, UDP and TCP).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.local_addr()
    }
}

/// What `kordon lab status` prints, and what the lab's state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabStatus {
    pub name: String,
    pub host_namespace: Option<String>,
    pub echo_url: String,
    /// TCP sink (`addr:port`): discards what it reads.
    pub sink: String,
    /// TCP source (`addr:port`): sends zeros until closed.
    pub source: String,
    /// UDP echo (`addr:port`): answers `<source ip>:<source port>\n` and the datagram.
    #[serde(default)]
    pub udp_echo: String,
    /// The authoritative DNS server of [`Self::dns_zone`] (`addr:port`, UDP and TCP).
    #[serde(default)]
    pub dns: String,
    #[serde(default)]
    pub dns_zone: String,
    pub modems: Vec<ModemStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModemStatus {
    pub index: usize,
    pub namespace: String,
    pub host_interface: String,
    pub host_address: String,
    pub model_id: i64,
    pub model_code: String,
    pub lan_address: String,
    /// The modem's DNS forwarder (`lan:53`, UDP and TCP).
    #[serde(default)]
    pub dns: String,
    pub wan_address: Option<String>,
    pub operator: String,
    pub connection: String,
}

/// A running lab. [`Lab::down`] removes it; dropping it removes it too (blocking), so a test
/// that fails half-way leaves nothing behind.
pub struct Lab {
    names: LabNames,
    host_netns: Option<String>,
    modems: Vec<LabModem>,
    services: JoinSet<()>,
    removed: bool,
}

impl Lab {
    /// Builds the lab, first removing any leftovers of a lab of the same name.
    pub async fn up(spec: LabSpec) -> Result<Lab, TopologyError> {
        let names = LabNames::new(&spec.name)
            .ok_or_else(|| TopologyError::InvalidName(spec.name.clone()))?;
        if spec.models.is_empty() || spec.models.len() > MAX_MODEMS {
            return Err(TopologyError::ModemCount {
                got: spec.models.len(),
            });
        }
        remove(&spec.name, spec.host_netns.as_deref()).await?;
        let mut lab = Lab {
            names,
            host_netns: spec.host_netns.clone(),
            modems: Vec::new(),
            services: JoinSet::new(),
            removed: false,
        };
        lab.build_internet().await?;
        let pools = WanPools::new();
        for (index, model) in spec.models.iter().enumerate() {
            let modem = lab.build_modem(&spec, index, *model, &pools).await?;
            lab.modems.push(modem);
        }
        Ok(lab)
    }

    pub fn name(&self) -> &str {
        self.names.lab()
    }

    pub fn modems(&self) -> &[LabModem] {
        &self.modems
    }

    pub fn echo_url() -> String {
        format!("http://{ECHO_ADDR}:{ECHO_PORT}/")
    }

    pub fn status(&self) -> LabStatus {
        LabStatus {
            name: self.names.lab().to_string(),
            host_namespace: self.host_netns.clone(),
            echo_url: Self::echo_url(),
            sink: format!("{ECHO_ADDR}:{SINK_PORT}"),
            source: format!("{ECHO_ADDR}:{SOURCE_PORT}"),
            udp_echo: format!("{ECHO_ADDR}:{UDP_ECHO_PORT}"),
            dns: format!("{DNS_ADDR}:{DNS_PORT}"),
            dns_zone: DNS_ZONE.to_string(),
            modems: self.modems.iter().map(modem_status).collect(),
        }
    }

    /// Stops the emulators and services and removes every namespace and interface.
    pub async fn down(mut self) -> Result<(), TopologyError> {
        self.removed = true;
        self.services.shutdown().await;
        for modem in std::mem::take(&mut self.modems) {
            modem.server.shutdown().await;
            modem.dns.shutdown().await;
        }
        remove(self.names.lab(), self.host_netns.as_deref()).await
    }

    async fn build_internet(&mut self) -> Result<(), TopologyError> {
        let inet = self.names.internet();
        ip(None, &["netns", "add", &inet]).await?;
        let n = Some(inet.as_str());
        ip(n, &["link", "set", "lo", "up"]).await?;
        for host in [ECHO_ADDR, DNS_ADDR] {
            ip(n, &["addr", "add", &format!("{host}/32"), "dev", "lo"]).await?;
        }
        relax_ip_checks(&inet)?;
        let at = |port| SocketAddr::from((ECHO_ADDR, port));
        echo::spawn_echo(netns::listen(n, at(ECHO_PORT))?, &mut self.services);
        echo::spawn_sink(netns::listen(n, at(SINK_PORT))?, &mut self.services);
        echo::spawn_source(netns::listen(n, at(SOURCE_PORT))?, &mut self.services);
        spawn_udp_echo(netns::bind_udp(n, at(UDP_ECHO_PORT))?, &mut self.services);
        let dns = SocketAddr::from((DNS_ADDR, DNS_PORT));
        let (udp, tcp) = (netns::bind_udp(n, dns)?, netns::listen(n, dns)?);
        spawn_dns_server(udp, tcp, &mut self.services);
        Ok(())
    }

    async fn build_modem(
        &self,
        spec: &LabSpec,
        index: usize,
        model: ModemModel,
        pools: &WanPools,
    ) -> Result<LabModem, TopologyError> {
        let ns = self.names.modem(index);
        let inet = self.names.internet();
        let inet_if = LabNames::internet_if(index);
        ip(None, &["netns", "add", &ns]).await?;
        let m = Some(ns.as_str());
        ip(m, &["link", "set", "lo", "up"]).await?;
        relax_ip_checks(&ns)?;
        netns::sysctl(&ns, "net.ipv4.ip_forward", "1")?;
        // The modem's NAT: everything from the LAN leaves with the current public address.
        let ruleset = format!(
            "table ip kordon_lab {{\n  chain postrouting {{\n    \
             type nat hook postrouting priority srcnat; policy accept;\n    \
             oifname \"{MODEM_WAN_IF}\" masquerade\n  }}\n}}\n"
        );
        nft(&ns, &ruleset).await?;

        let lan = Lan::factory(model.family);
        let usb = UsbLink {
            host_ns: self.host_netns.clone(),
            host_if: self.names.host_if(index),
            modem_ns: ns.clone(),
            lan,
        };
        let control = NamespaceControl {
            usb: usb.clone(),
            internet_ns: inet.clone(),
            internet_if: inet_if.clone(),
        };
        let config = ModemConfig::new(model, OPERATORS[index % OPERATORS.len()])
            .with_lan(lan)
            .with_reconnect_delay(spec.reconnect_delay)
            .with_reboot_delay(spec.reboot_delay);
        let emulator = EmulatedModem::new(config, pools.clone(), Arc::new(control))?;
        usb.plug().await?;

        // The mobile data link: a point-to-point veth to the internet.
        let wan = format!("{}/32", emulator.state().wan_addr);
        ip(
            m,
            &[
                "link",
                "add",
                MODEM_WAN_IF,
                "type",
                "veth",
                "peer",
                "name",
                &inet_if,
                "netns",
                &inet,
            ],
        )
        .await?;
        ip(m, &["addr", "add", &wan, "dev", MODEM_WAN_IF]).await?;
        ip(m, &["link", "set", MODEM_WAN_IF, "up"]).await?;
        ip(m, &["route", "add", "default", "dev", MODEM_WAN_IF]).await?;
        let i = Some(inet.as_str());
        ip(i, &["link", "set", &inet_if, "up"]).await?;
        ip(i, &["route", "add", &wan, "dev", &inet_if]).await?;

        let listener = netns::listen(m, SocketAddr::from((lan.modem, 80)))?;
        let server = emulator::spawn(listener, emulator.clone())?;
        let dns_at = SocketAddr::from((lan.modem, DNS_PORT));
        let (udp, tcp) = (netns::bind_udp(m, dns_at)?, netns::listen(m, dns_at)?);
        let upstream = SocketAddr::from((DNS_ADDR, DNS_PORT));
        let dns = emulator::spawn_dns_forwarder(udp, tcp, upstream, emulator.clone())?;
        Ok(LabModem {
            index,
            namespace: ns,
            host_if: usb.host_if,
            emulator,
            server,
            dns,
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.removed {
            self.services.abort_all();
            self.modems.clear();
            remove_blocking(&self.names, self.host_netns.as_deref());
        }
    }
}

/// Lab namespaces answer whatever reaches them: no reverse-path filter, ARP for any local
/// address (the values a host may have set are inherited by new namespaces).
fn relax_ip_checks(ns: &str) -> Result<(), TopologyError> {
    for key in [
        "net.ipv4.conf.all.rp_filter",
        "net.ipv4.conf.default.rp_filter",
        "net.ipv4.conf.all.arp_ignore",
        "net.ipv4.conf.default.arp_ignore",
    ] {
        netns::sysctl(ns, key, "0")?;
    }
    Ok(())
}

fn modem_status(m: &LabModem) -> ModemStatus {
    let st = m.emulator.state();
    ModemStatus {
        index: m.index,
        namespace: m.namespace.clone(),
        host_interface: m.host_if.clone(),
        host_address: st.lan.host.to_string(),
        model_id: st.model.id,
        model_code: st.model.code.to_string(),
        lan_address: st.lan.modem.to_string(),
        dns: m.dns_addr().to_string(),
        wan_address: st.wan_ip().map(|a| a.to_string()),
        operator: st.operator.full_name.to_string(),
        connection: match st.connection {
            Connection::Connected => "connected",
            Connection::Connecting => "connecting",
            Connection::Disconnected => "disconnected",
        }
        .to_string(),
    }
}

/// Removes every namespace and host interface of lab `name` (also those a crashed run left).
/// Removing a lab that does not exist succeeds.
pub async fn remove(name: &str, host_netns: Option<&str>) -> Result<(), TopologyError> {
    let names = LabNames::new(name).ok_or_else(|| TopologyError::InvalidName(name.to_string()))?;
    // Host ends first: deleting them removes their peers at once, while a deleted namespace
    // lingers as long as a socket in it is open.
    let mut list_args = Vec::new();
    if let Some(ns) = host_netns {
        list_args.extend(["-n", ns]);
    }
    list_args.extend(["-o", "link", "show"]);
    let links = match run("ip", &list_args, None).await {
        Ok(text) => text,
        // The farm's namespace is gone: so are the host ends.
        Err(_) if host_netns.is_some() => String::new(),
        Err(e) => return Err(e),
    };
    for link in link_names(&links).filter(|l| names.owns_host_if(l)) {
        ip(host_netns, &["link", "del", link]).await?;
    }
    let namespaces = run("ip", &["netns", "list"], None).await?;
    for ns in namespace_names(&namespaces).filter(|n| names.owns_namespace(n)) {
        ip(None, &["netns", "del", ns]).await?;
    }
    Ok(())
}

fn remove_blocking(names: &LabNames, host_netns: Option<&str>) {
    let mut list_args = Vec::new();
    if let Some(ns) = host_netns {
        list_args.extend(["-n", ns]);
    }
    list_args.extend(["-o", "link", "show"]);
    let links = ip_blocking(&list_args).unwrap_or_default();
    for link in link_names(&links).filter(|l| names.owns_host_if(l)) {
        let mut args = Vec::new();
        if let Some(ns) = host_netns {
            args.extend(["-n", ns]);
        }
        args.extend(["link", "del", link]);
        ip_blocking(&args);
    }
    let namespaces = ip_blocking(&["netns", "list"]).unwrap_or_default();
    for ns in namespace_names(&namespaces).filter(|n| names.owns_namespace(n)) {
        ip_blocking(&["netns", "del", ns]);
    }
}

/// Interface names of `ip -o link show` ("3: name@peer: <…>").
fn link_names(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let name = line.split(": ").nth(1)?;
        Some(name.split('@').next().unwrap_or(name))
    })
}

/// Names of `ip netns list` ("name (id: 3)").
fn namespace_names(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_parse() {
        let links = "1: lo: <LOOPBACK,UP> mtu 65536\n7: kl1u0@if2: <BROADCAST> mtu 1500\n";
        assert_eq!(link_names(links).collect::<Vec<_>>(), ["lo", "kl1u0"]);
        let ns = "kl1-m0 (id: 3)\nkl1-inet\n";
        assert_eq!(
            namespace_names(ns).collect::<Vec<_>>(),
            ["kl1-m0", "kl1-inet"]
        );
    }
}
