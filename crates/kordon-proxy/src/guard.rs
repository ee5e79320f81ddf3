//! Which addresses a profile may reach. A proxy must never be a door into the farm: no
//! loopback, link-local or other special addresses, nothing on a network the host itself is
//! attached to (kordon's own listeners, the farm's LAN, the modems' LANs) — except the
//! profile's own modem web interface when the profile says `is_local`, and networks the
//! operator permits explicitly in the settings.
//!
//! Checked on the address actually connected to (after name resolution), so a name that
//! resolves to 127.0.0.1 is refused like the literal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::egress::HostView;

/// Why a target address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    #[error("loopback address")]
    Loopback,
    #[error("link-local address")]
    LinkLocal,
    #[error("unspecified, broadcast, multicast or reserved address")]
    Special,
    #[error("the modem's own web interface (is_local is off)")]
    ModemInterface,
    #[error("an address on a network of this host")]
    HostNetwork,
}

/// The operator's explicit permits (checked first).
#[derive(Debug, Clone, Default)]
pub struct TargetGuard {
    permitted: Vec<IpNet>,
}

impl TargetGuard {
    pub fn new(permitted: Vec<IpNet>) -> TargetGuard {
        TargetGuard { permitted }
    }

    /// Whether a profile egressing through `modem` (the port's modem LAN address) with
    /// `is_local` may connect to `ip`.
    pub fn check(
        &self,
        ip: IpAddr,
        modem: Option<Ipv4Addr>,
        is_local: bool,
        host: &HostView,
    ) -> Result<(), Forbidden> {
        let ip = canonical(ip);
        if self.permitted.iter().any(|network| network.contains(&ip)) {
            return Ok(());
        }
        special(ip)?;
        if modem.is_some_and(|modem| IpAddr::V4(modem) == ip) {
            return if is_local {
                Ok(())
            } else {
                Err(Forbidden::ModemInterface)
            };
        }
        if host.is_attached(ip) {
            return Err(Forbidden::HostNetwork);
        }
        Ok(())
    }
}

/// IPv4-mapped and IPv4-compatible IPv6 addresses are the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => match v6.segments() {
                [0, 0, 0, 0, 0, 0, high, low] if high != 0 => {
                    IpAddr::V4(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)))
                }
                _ => IpAddr::V6(v6),
            },
        },
        v4 => v4,
    }
}

fn special(ip: IpAddr) -> Result<(), Forbidden> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Result<(), Forbidden> {
    if ip.is_loopback() {
        return Err(Forbidden::Loopback);
    }
    if ip.is_link_local() {
        return Err(Forbidden::LinkLocal);
    }
    // 0.0.0.0/8 ("this network", which Linux routes to the host itself), multicast,
    // 240.0.0.0/4 and the limited broadcast.
    if ip.octets()[0] == 0 || ip.is_multicast() || ip.octets()[0] >= 240 {
        return Err(Forbidden::Special);
    }
    Ok(())
}

fn special_v6(ip: Ipv6Addr) -> Result<(), Forbidden> {
    if ip.is_loopback() {
        return Err(Forbidden::Loopback);
    }
    let first = ip.segments()[0];
    if first & 0xffc0 == 0xfe80 {
        return Err(Forbidden::LinkLocal);
    }
    // Site-local (deprecated, still routed locally by some hosts) is refused with the rest.
    if ip.is_unspecified() || ip.is_multicast() || first & 0xffc0 == 0xfec0 {
        return Err(Forbidden::Special);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::egress::Link;

    fn host() -> HostView {
        let links = HashMap::from([(
            "usb0".to_string(),
            Link {
                up: true,
                ipv4: Some(Ipv4Addr::new(192, 168, 8, 100)),
                gateway: Some(Ipv4Addr::new(192, 168, 8, 1)),
            },
        )]);
        let networks = [
            "127.0.0.1/8",
            "10.1.0.5/24",
            "192.168.8.100/24",
            "2001:db8::5/64",
        ]
        .iter()
        .map(|n| n.parse().unwrap())
        .collect();
        HostView::new(links, networks)
    }

    fn check(guard: &TargetGuard, ip: &str, is_local: bool) -> Result<(), Forbidden> {
        guard.check(
            ip.parse().unwrap(),
            Some(Ipv4Addr::new(192, 168, 8, 1)),
            is_local,
            &host(),
        )
    }

    #[test]
    fn public_addresses_pass() {
        let guard = TargetGuard::default();
        assert_eq!(check(&guard, "203.0.113.10", false), Ok(()));
        assert_eq!(check(&guard, "2001:db9::1", false), Ok(()));
    }

    #[test]
    fn special_addresses_are_refused_in_every_spelling() {
        let guard = TargetGuard::default();
        for (ip, reason) in [
            ("127.0.0.1", Forbidden::Loopback),
            ("127.255.0.9", Forbidden::Loopback),
            ("::1", Forbidden::Loopback),
            ("::ffff:127.0.0.1", Forbidden::Loopback),
            ("::127.0.0.1", Forbidden::Loopback),
            ("169.254.169.254", Forbidden::LinkLocal),
            ("fe80::1", Forbidden::LinkLocal),
            ("0.0.0.0", Forbidden::Special),
            ("0.1.2.3", Forbidden::Special),
            ("::", Forbidden::Special),
            ("255.255.255.255", Forbidden::Special),
            ("224.0.0.1", Forbidden::Special),
            ("ff02::1", Forbidden::Special),
        ] {
            assert_eq!(check(&guard, ip, true), Err(reason), "{ip}");
        }
    }

    #[test]
    fn host_networks_are_refused() {
        let guard = TargetGuard::default();
        assert_eq!(
            check(&guard, "10.1.0.5", false),
            Err(Forbidden::HostNetwork)
        );
        assert_eq!(
            check(&guard, "10.1.0.77", false),
            Err(Forbidden::HostNetwork)
        );
        assert_eq!(
            check(&guard, "192.168.8.100", true),
            Err(Forbidden::HostNetwork)
        );
        assert_eq!(
            check(&guard, "2001:db8::99", false),
            Err(Forbidden::HostNetwork)
        );
        assert_eq!(
            check(&guard, "::ffff:10.1.0.9", false),
            Err(Forbidden::HostNetwork)
        );
    }

    #[test]
    fn modem_interface_needs_is_local() {
        let guard = TargetGuard::default();
        assert_eq!(
            check(&guard, "192.168.8.1", false),
            Err(Forbidden::ModemInterface)
        );
        assert_eq!(check(&guard, "192.168.8.1", true), Ok(()));
        // Only the profile's own modem: another address of that LAN stays refused.
        assert_eq!(
            check(&guard, "192.168.8.2", true),
            Err(Forbidden::HostNetwork)
        );
    }

    #[test]
    fn explicit_permits_win() {
        let guard = TargetGuard::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert_eq!(check(&guard, "127.0.0.1", false), Ok(()));
        assert_eq!(check(&guard, "::1", false), Err(Forbidden::Loopback));
    }
}
