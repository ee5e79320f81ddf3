//! Network interfaces from `/sys/class/net` and `getifaddrs(3)`, gateways from the kernel's
//! IPv4 routing table (`/proc/net/route`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub ipv4: Option<Ipv4Addr>,
    pub prefix_len: Option<u8>,
    /// The gateway routed through this interface, or — for a modem's point-to-point LAN with no
    /// route yet — the subnet's first host, where USB modems sit (192.168.8.1, 192.168.0.1).
    pub gateway: Option<Ipv4Addr>,
    pub is_loopback: bool,
    pub is_up: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: &'static str,
        source: std::io::Error,
    },
    #[error("getifaddrs failed: {0}")]
    Ifaddrs(#[from] nix::Error),
}

/// Gateways per interface from `/proc/net/route` text (hex little-endian addresses).
pub fn parse_route_gateways(text: &str) -> BTreeMap<String, Ipv4Addr> {
    let mut gateways = BTreeMap::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            continue;
        }
        let Ok(raw) = u32::from_str_radix(fields[2], 16) else {
            continue;
        };
        let flags = u32::from_str_radix(fields[3], 16).unwrap_or(0);
        const RTF_GATEWAY: u32 = 0x2;
        if raw == 0 || flags & RTF_GATEWAY == 0 {
            continue;
        }
        let gateway = Ipv4Addr::from(raw.to_le_bytes());
        // The default route (destination 0) wins over more specific ones for display.
        let is_default = fields[1] == "00000000";
        if is_default || !gateways.contains_key(fields[0]) {
            gateways.insert(fields[0].to_string(), gateway);
        }
    }
    gateways
}

fn first_host(ip: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    if prefix_len >= 31 {
        return None;
    }
    let mask = u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0);
    let host = (u32::from(ip) & mask) + 1;
    let host = Ipv4Addr::from(host);
    (host != ip).then_some(host)
}

/// One address assigned to an interface, with its network's prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceAddress {
    pub ip: IpAddr,
    pub prefix_len: u8,
}

/// Every IPv4 and IPv6 address of every interface (an interface may have several), keyed by
/// interface name.
pub fn addresses() -> Result<BTreeMap<String, Vec<InterfaceAddress>>, HostError> {
    let mut by_name: BTreeMap<String, Vec<InterfaceAddress>> = BTreeMap::new();
    for entry in nix::ifaddrs::getifaddrs()? {
        let (Some(address), Some(netmask)) = (entry.address.as_ref(), entry.netmask.as_ref())
        else {
            continue;
        };
        let found =
            if let (Some(ip), Some(mask)) = (address.as_sockaddr_in(), netmask.as_sockaddr_in()) {
                Some(InterfaceAddress {
                    ip: IpAddr::V4(ip.ip()),
                    prefix_len: u32::from(mask.ip()).count_ones() as u8,
                })
            } else if let (Some(ip), Some(mask)) =
                (address.as_sockaddr_in6(), netmask.as_sockaddr_in6())
            {
                Some(InterfaceAddress {
                    ip: IpAddr::V6(ip.ip()),
                    prefix_len: u128::from(mask.ip()).count_ones() as u8,
                })
            } else {
                None
            };
        if let Some(found) = found {
            by_name
                .entry(entry.interface_name.clone())
                .or_default()
                .push(found);
        }
    }
    Ok(by_name)
}

/// Every interface of the machine, sorted by name.
pub fn interfaces() -> Result<Vec<Interface>, HostError> {
    let mut by_name: BTreeMap<String, Interface> = BTreeMap::new();
    let entries = std::fs::read_dir("/sys/class/net").map_err(|source| HostError::Read {
        path: "/sys/class/net",
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let operstate = std::fs::read_to_string(entry.path().join("operstate")).unwrap_or_default();
        let flags = std::fs::read_to_string(entry.path().join("flags")).unwrap_or_default();
        let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap_or(0);
        const IFF_UP: u32 = 0x1;
        const IFF_LOOPBACK: u32 = 0x8;
        by_name.insert(
            name.clone(),
            Interface {
                name,
                ipv4: None,
                prefix_len: None,
                gateway: None,
                is_loopback: flags & IFF_LOOPBACK != 0,
                is_up: flags & IFF_UP != 0 || operstate.trim() == "up",
            },
        );
    }
    for address in nix::ifaddrs::getifaddrs()? {
        let Some(interface) = by_name.get_mut(&address.interface_name) else {
            continue;
        };
        if interface.ipv4.is_some() {
            continue;
        }
        let Some(ip) = address.address.as_ref().and_then(|a| a.as_sockaddr_in()) else {
            continue;
        };
        interface.ipv4 = Some(ip.ip());
        interface.prefix_len = address
            .netmask
            .as_ref()
            .and_then(|m| m.as_sockaddr_in())
            .map(|m| u32::from(m.ip()).count_ones() as u8);
    }
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let gateways = parse_route_gateways(&routes);
    for interface in by_name.values_mut() {
        interface.gateway = gateways.get(&interface.name).copied().or_else(|| {
            match (interface.ipv4, interface.prefix_len, interface.is_loopback) {
                (Some(ip), Some(prefix), false) => first_host(ip, prefix),
                _ => None,
            }
        });
    }
    Ok(by_name.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_route_table() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let gateways = parse_route_gateways(text);
        assert_eq!(gateways.get("eth0"), Some(&Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(gateways.len(), 1);
    }

    #[test]
    fn first_hosts() {
        assert_eq!(
            first_host(Ipv4Addr::new(192, 168, 8, 100), 24),
            Some(Ipv4Addr::new(192, 168, 8, 1))
        );
        assert_eq!(first_host(Ipv4Addr::new(10, 0, 0, 1), 24), None);
        assert_eq!(first_host(Ipv4Addr::new(10, 0, 0, 1), 32), None);
    }

    #[test]
    fn loopback_addresses_have_their_prefix() {
        let all = addresses().unwrap();
        let lo = all.get("lo").expect("lo has addresses");
        assert!(lo.contains(&InterfaceAddress {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            prefix_len: 8
        }));
    }

    #[test]
    fn lists_loopback() {
        let all = interfaces().unwrap();
        let lo = all.iter().find(|i| i.name == "lo").expect("lo exists");
        assert!(lo.is_loopback);
        assert_eq!(lo.ipv4, Some(Ipv4Addr::LOCALHOST));
    }
}
