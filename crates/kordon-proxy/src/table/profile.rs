//! One profile's rules as the data plane enforces them.

use std::collections::HashSet;
use std::net::IpAddr;

use kordon_model::enums::ProxyType;

use super::DomainSet;

/// What `maxconn = 0` means in the farm API.
pub const DEFAULT_MAXCONN: usize = 250;

/// A login's bitrate caps in bits per second, as the API states them (0 = unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginRates {
    /// Traffic received from the internet (towards the client).
    pub bitrate_in: u64,
    /// Traffic sent to the internet (from the client).
    pub bitrate_out: u64,
}

/// The login/password a `strong` profile accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub login_id: i64,
    pub login: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    // The password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("login_id", &self.login_id)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(login_id: i64, login: String, password: String) -> Credentials {
        Credentials {
            login_id,
            login,
            password,
        }
    }

    /// Whether a client's login and password are these. Compares in time independent of
    /// where the first difference is, so timing tells a client nothing about the password.
    pub fn accepts(&self, login: &[u8], password: &[u8]) -> bool {
        let login_ok = constant_time_eq(self.login.as_bytes(), login);
        let password_ok = constant_time_eq(self.password.as_bytes(), password);
        login_ok & password_ok
    }
}

fn constant_time_eq(expected: &[u8], given: &[u8]) -> bool {
    let mut difference = u8::from(expected.len() != given.len());
    for (index, byte) in expected.iter().enumerate() {
        difference |= byte ^ given.get(index).copied().unwrap_or(!byte);
    }
    difference == 0
}

/// How clients prove they may use the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Strong(Credentials),
    /// Client source addresses let in without a login.
    IpOnly(HashSet<IpAddr>),
}

impl Auth {
    /// Whether `client` is one of an `iponly` profile's addresses (an IPv4 client seen
    /// through an IPv6 socket as `::ffff:a.b.c.d` counts as its IPv4 address). Always false
    /// for `strong` profiles.
    pub fn admits_address(&self, client: IpAddr) -> bool {
        match self {
            Auth::Strong(_) => false,
            Auth::IpOnly(addresses) => addresses.contains(&canonical(client)),
        }
    }

    /// Whether a client at `address` may use the profile once authenticated: any address
    /// for `strong` profiles, a listed one for `iponly`.
    pub fn admits_client(&self, address: IpAddr) -> bool {
        match self {
            Auth::Strong(_) => true,
            Auth::IpOnly(_) => self.admits_address(address),
        }
    }

    /// The login whose bitrate caps apply, for `strong` profiles.
    pub fn login_id(&self) -> Option<i64> {
        match self {
            Auth::Strong(credentials) => Some(credentials.login_id),
            Auth::IpOnly(_) => None,
        }
    }
}

/// An address with IPv4-mapped IPv6 folded to IPv4.
pub(crate) fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Where the profile's traffic leaves: its port (modem) and that port's interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Egress {
    pub port_id: i64,
    pub ifname: String,
    /// The port's `active` setting; an inactive port carries no traffic.
    pub active: bool,
}

/// The `allow` site lists with `is_allow`: only these sites (allow) or all but these (deny).
/// No domains at all means no rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRule {
    pub is_allow: bool,
    pub domains: DomainSet,
}

impl SiteRule {
    /// Whether a target given by name may be reached.
    pub fn permits_domain(&self, host: &str) -> bool {
        if self.domains.is_empty() {
            return true;
        }
        self.domains.matches(host) == self.is_allow
    }

    /// Whether a target given as an address may be reached. An allow-only list names sites,
    /// so an address passes only if the list names it as written; otherwise allow-only lists
    /// would be bypassed by connecting to the address directly.
    pub fn permits_address(&self, ip: IpAddr) -> bool {
        self.permits_domain(&ip.to_string())
    }
}

/// `targetport` with `is_ports`: only these ports (allow) or all but these (deny). An empty
/// list means no rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    pub is_ports: bool,
    pub ports: HashSet<u16>,
}

impl PortRule {
    pub fn permits(&self, port: u16) -> bool {
        if self.ports.is_empty() {
            return true;
        }
        self.ports.contains(&port) == self.is_ports
    }
}

/// One active profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: i64,
    pub listen_port: u16,
    pub proxy_type: ProxyType,
    pub auth: Auth,
    pub egress: Egress,
    /// Whether the modem's own web interface may be reached.
    pub is_local: bool,
    /// Connections at once (`maxconn`, 0 already replaced by [`DEFAULT_MAXCONN`]).
    pub maxconn: usize,
    pub sites: SiteRule,
    pub target_ports: PortRule,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_compare_whole_values() {
        let credentials = Credentials::new(1, "kraken".into(), "secret".into());
        assert!(credentials.accepts(b"kraken", b"secret"));
        assert!(!credentials.accepts(b"kraken", b"secre"));
        assert!(!credentials.accepts(b"kraken", b"secret1"));
        assert!(!credentials.accepts(b"krakeN", b"secret"));
        assert!(!credentials.accepts(b"", b""));
        assert!(!format!("{credentials:?}").contains("secret"));
    }

    #[test]
    fn mapped_ipv6_clients_count_as_ipv4() {
        let auth = Auth::IpOnly(["10.0.0.5".parse().unwrap()].into_iter().collect());
        assert!(auth.admits_address("::ffff:10.0.0.5".parse().unwrap()));
        assert!(!auth.admits_address("10.0.0.6".parse().unwrap()));
    }

    #[test]
    fn empty_lists_are_no_rule() {
        let ports = PortRule {
            is_ports: true,
            ports: HashSet::new(),
        };
        assert!(ports.permits(25));
        let only_web = PortRule {
            is_ports: true,
            ports: [80, 443].into_iter().collect(),
        };
        assert!(only_web.permits(443) && !only_web.permits(25));
        let no_smtp = PortRule {
            is_ports: false,
            ports: [25].into_iter().collect(),
        };
        assert!(!no_smtp.permits(25) && no_smtp.permits(443));
    }
}
