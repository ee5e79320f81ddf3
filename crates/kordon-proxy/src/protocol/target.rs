//! The destination a client asks for: a host (domain, IPv4 or IPv6 literal) and a port.
//!
//! Both protocols funnel their destination through here so the policy layer sees one
//! normalised form: domains lower-cased without a trailing dot, IP literals as addresses
//! (even when a SOCKS client sends them as a domain name), IPv4-mapped IPv6 as IPv4.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest domain name in presentation form, without the trailing dot (RFC 1035).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest label of a domain name (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("empty host")]
    EmptyHost,
    #[error("domain name longer than {MAX_DOMAIN_LEN} bytes")]
    DomainTooLong,
    #[error("empty label in domain name")]
    EmptyLabel,
    #[error("domain label longer than {MAX_LABEL_LEN} bytes")]
    LabelTooLong,
    #[error("byte {0:#04x} not allowed in a domain name")]
    BadDomainByte(u8),
    #[error("domain label starts or ends with a hyphen")]
    HyphenAtLabelEdge,
    #[error("numeric host that is not a dotted-quad IPv4 address")]
    NumericHost,
    #[error("invalid IPv6 literal")]
    BadIpv6,
    #[error("more than one colon outside brackets (an IPv6 address needs [brackets])")]
    ExtraColon,
    #[error("missing port")]
    MissingPort,
    #[error("invalid port")]
    BadPort,
    #[error("port 0 is not a destination")]
    PortZero,
}

/// A destination host in normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// Lower-case ASCII, no trailing dot; resolved on the egress side.
    Domain(String),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Reads a host as written in a URI authority or a SOCKS domain field: an IPv4 literal,
    /// an IPv6 literal (bare or in brackets) or a domain name.
    pub fn parse(text: &str) -> Result<Host, TargetError> {
        if text.is_empty() {
            return Err(TargetError::EmptyHost);
        }
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(TargetError::BadIpv6)?;
            return inner
                .parse::<Ipv6Addr>()
                .map(Host::from_ipv6)
                .map_err(|_| TargetError::BadIpv6);
        }
        if let Ok(v4) = text.parse::<Ipv4Addr>() {
            return Ok(Host::Ipv4(v4));
        }
        if text.contains(':') {
            return text
                .parse::<Ipv6Addr>()
                .map(Host::from_ipv6)
                .map_err(|_| TargetError::BadIpv6);
        }
        Host::domain(text.as_bytes())
    }

    /// Reads the raw bytes of a SOCKS domain field (not necessarily UTF-8).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Host, TargetError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Host::parse(text),
            Err(e) => {
                let bad = bytes.get(e.valid_up_to()).copied().unwrap_or(0);
                Err(TargetError::BadDomainByte(bad))
            }
        }
    }

    pub fn from_ip(ip: IpAddr) -> Host {
        match ip {
            IpAddr::V4(v4) => Host::Ipv4(v4),
            IpAddr::V6(v6) => Host::from_ipv6(v6),
        }
    }

    /// An IPv4-mapped IPv6 address reaches the IPv4 host, so it is checked as one.
    fn from_ipv6(v6: Ipv6Addr) -> Host {
        match v6.to_ipv4_mapped() {
            Some(v4) => Host::Ipv4(v4),
            None => Host::Ipv6(v6),
        }
    }

    /// Checks a domain name letter by letter (LDH plus `_`, which real names use), and
    /// refuses names a C resolver would read as a number: `getaddrinfo("2130706433")` or
    /// `"127.1"` reach loopback, so a numeric last label is never a domain here.
    fn domain(bytes: &[u8]) -> Result<Host, TargetError> {
        let bytes = bytes.strip_suffix(b".").unwrap_or(bytes);
        if bytes.is_empty() {
            return Err(TargetError::EmptyHost);
        }
        if bytes.len() > MAX_DOMAIN_LEN {
            return Err(TargetError::DomainTooLong);
        }
        let mut last_label: &[u8] = &[];
        for label in bytes.split(|&b| b == b'.') {
            if label.is_empty() {
                return Err(TargetError::EmptyLabel);
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(TargetError::LabelTooLong);
            }
            if let Some(&bad) = label
                .iter()
                .find(|&&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            {
                return Err(TargetError::BadDomainByte(bad));
            }
            if label.starts_with(b"-") || label.ends_with(b"-") {
                return Err(TargetError::HyphenAtLabelEdge);
            }
            last_label = label;
        }
        if looks_numeric(last_label) {
            return Err(TargetError::NumericHost);
        }
        let mut name = String::with_capacity(bytes.len());
        name.extend(bytes.iter().map(|&b| char::from(b.to_ascii_lowercase())));
        Ok(Host::Domain(name))
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(v4) => Some(IpAddr::V4(*v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(*v6)),
        }
    }
}

/// Decimal, or `0x` hexadecimal: the forms `inet_aton` accepts for a part of an address.
fn looks_numeric(label: &[u8]) -> bool {
    let hex = label
        .strip_prefix(b"0x")
        .or_else(|| label.strip_prefix(b"0X"));
    match hex {
        Some(digits) => digits.iter().all(u8::is_ascii_hexdigit),
        None => label.iter().all(u8::is_ascii_digit),
    }
}

impl fmt::Display for Host {
    /// The form a URI authority uses (IPv6 in brackets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(name) => f.write_str(name),
            Host::Ipv4(v4) => write!(f, "{v4}"),
            Host::Ipv6(v6) => write!(f, "[{v6}]"),
        }
    }
}

/// A validated destination: a host and a port in 1..=65535.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    host: Host,
    port: u16,
}

impl Target {
    pub fn new(host: Host, port: u16) -> Result<Target, TargetError> {
        if port == 0 {
            return Err(TargetError::PortZero);
        }
        Ok(Target { host, port })
    }

    /// Reads `host:port` or `[v6]:port` (an HTTP CONNECT target).
    pub fn parse_authority(text: &str) -> Result<Target, TargetError> {
        let (host, port) = split_host_port(text)?;
        let port = port.ok_or(TargetError::MissingPort)?;
        Target::new(Host::parse(host)?, parse_port(port)?)
    }

    /// Reads `host[:port]` or `[v6][:port]`, using `default_port` when none is written.
    pub fn parse_authority_or(text: &str, default_port: u16) -> Result<Target, TargetError> {
        let (host, port) = split_host_port(text)?;
        let port = match port {
            Some(p) => parse_port(p)?,
            None => default_port,
        };
        Target::new(Host::parse(host)?, port)
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Splits an authority into host text and the port text after it, if any. A bare IPv6
/// address (colons, no brackets) is refused: its last group would be mistaken for a port.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>), TargetError> {
    if text.starts_with('[') {
        let close = text.find(']').ok_or(TargetError::BadIpv6)?;
        let (host, rest) = text.split_at(close + 1);
        return match rest {
            "" => Ok((host, None)),
            _ => match rest.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(TargetError::BadIpv6),
            },
        };
    }
    match text.split_once(':') {
        Some((_, rest)) if rest.contains(':') => Err(TargetError::ExtraColon),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((text, None)),
    }
}

/// Decimal digits only (no sign, no spaces), at most five of them, in 1..=65535.
fn parse_port(text: &str) -> Result<u16, TargetError> {
    if text.is_empty() {
        return Err(TargetError::MissingPort);
    }
    if text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TargetError::BadPort);
    }
    match text.parse::<u16>() {
        Ok(0) => Err(TargetError::PortZero),
        Ok(port) => Ok(port),
        Err(_) => Err(TargetError::BadPort),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        assert_eq!(
            Host::parse("Example.COM.").unwrap(),
            Host::Domain("example.com".into())
        );
        assert_eq!(
            Host::parse("_dmarc.a-b.example").unwrap(),
            Host::Domain("_dmarc.a-b.example".into())
        );
        assert_eq!(
            Host::parse("1password.com").unwrap(),
            Host::Domain("1password.com".into())
        );
    }

    #[test]
    fn ip_literals_become_addresses() {
        assert_eq!(
            Host::parse("10.0.0.1").unwrap(),
            Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(Host::parse("::1").unwrap(), Host::Ipv6(Ipv6Addr::LOCALHOST));
        assert_eq!(
            Host::parse("[::1]").unwrap(),
            Host::Ipv6(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(
            Host::parse("::ffff:127.0.0.1").unwrap(),
            Host::Ipv4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            Host::parse_bytes(b"127.0.0.1").unwrap(),
            Host::Ipv4(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn numeric_disguises_of_addresses_are_refused() {
        for text in [
            "2130706433",
            "127.1",
            "0x7f.0.0.1",
            "0x7f000001",
            "017700000001",
            "1.2.3",
        ] {
            assert_eq!(Host::parse(text), Err(TargetError::NumericHost), "{text}");
        }
    }

    #[test]
    fn bad_domains_are_refused() {
        assert_eq!(Host::parse(""), Err(TargetError::EmptyHost));
        assert_eq!(Host::parse("."), Err(TargetError::EmptyHost));
        assert_eq!(Host::parse("a..b"), Err(TargetError::EmptyLabel));
        assert_eq!(Host::parse("-a.com"), Err(TargetError::HyphenAtLabelEdge));
        assert_eq!(
            Host::parse("a b.com"),
            Err(TargetError::BadDomainByte(b' '))
        );
        assert_eq!(Host::parse("a/b"), Err(TargetError::BadDomainByte(b'/')));
        assert_eq!(Host::parse("fe80::1%eth0"), Err(TargetError::BadIpv6));
        assert_eq!(Host::parse("[::1"), Err(TargetError::BadIpv6));
        assert_eq!(
            Host::parse_bytes(b"\xffexample"),
            Err(TargetError::BadDomainByte(0xff))
        );
        let label = "a".repeat(64);
        assert_eq!(Host::parse(&label), Err(TargetError::LabelTooLong));
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(Host::parse(&long), Err(TargetError::DomainTooLong));
        let longest = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "b".repeat(61));
        assert_eq!(longest.len(), MAX_DOMAIN_LEN);
        assert!(Host::parse(&longest).is_ok());
    }

    #[test]
    fn authorities() {
        let t = Target::parse_authority("example.com:443").unwrap();
        assert_eq!(t.host(), &Host::Domain("example.com".into()));
        assert_eq!(t.port(), 443);
        let t = Target::parse_authority("[2001:db8::1]:8443").unwrap();
        assert_eq!(t.to_string(), "[2001:db8::1]:8443");
        assert_eq!(
            Target::parse_authority_or("example.com", 80)
                .unwrap()
                .port(),
            80
        );
        assert_eq!(
            Target::parse_authority_or("[::1]", 80).unwrap().to_string(),
            "[::1]:80"
        );
        assert_eq!(
            Target::parse_authority("example.com"),
            Err(TargetError::MissingPort)
        );
        assert_eq!(
            Target::parse_authority("example.com:"),
            Err(TargetError::MissingPort)
        );
        assert_eq!(
            Target::parse_authority("a.com:0"),
            Err(TargetError::PortZero)
        );
        assert_eq!(
            Target::parse_authority("a.com:65536"),
            Err(TargetError::BadPort)
        );
        assert_eq!(
            Target::parse_authority("a.com:+80"),
            Err(TargetError::BadPort)
        );
        assert_eq!(
            Target::parse_authority("a.com:000080"),
            Err(TargetError::BadPort)
        );
        assert_eq!(
            Target::parse_authority("::1:80"),
            Err(TargetError::ExtraColon)
        );
        assert_eq!(
            Target::parse_authority("[::1]x80"),
            Err(TargetError::BadIpv6)
        );
        assert_eq!(Target::parse_authority(":80"), Err(TargetError::EmptyHost));
        assert_eq!(
            Target::parse_authority("65535.example:65535")
                .unwrap()
                .port(),
            65535
        );
    }
}
