//! Field rules of the farm dialect. Each returns the message a client sees under the field's
//! name when the value breaks the rule.

use std::net::IpAddr;

pub type Rule = Result<(), String>;

fn fail(message: impl Into<String>) -> Rule {
    Err(message.into())
}

/// Free-form names (ports, site lists): not blank, at most 128 characters.
pub fn name(value: &str) -> Rule {
    if value.trim().is_empty() {
        return fail("This field may not be blank.");
    }
    if value.chars().count() > 128 {
        return fail("Ensure this field has no more than 128 characters.");
    }
    Ok(())
}

/// A Linux interface name (IFNAMSIZ is 16 with the terminating NUL).
pub fn ifname(value: &str) -> Rule {
    if value.is_empty() || value.len() > 15 {
        return fail("Interface name must be 1 to 15 characters.");
    }
    if value == "." || value == ".." || value.chars().any(|c| c == '/' || c.is_whitespace()) {
        return fail("Interface name may not contain '/', spaces, or be '.' or '..'.");
    }
    if !value.is_ascii() {
        return fail("Interface name must be ASCII.");
    }
    Ok(())
}

fn is_login_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// Proxy logins: `[a-z0-9_]`, 1 to 64 characters.
pub fn proxy_login(value: &str) -> Rule {
    if value.is_empty() || value.len() > 64 {
        return fail("Login must be 1 to 64 characters.");
    }
    if !value.chars().all(is_login_char) {
        return fail("Login may contain only a-z, 0-9 and _.");
    }
    Ok(())
}

/// Proxy passwords travel in HTTP Basic and RFC 1929, where they are at most 255 bytes and
/// a colon would break Basic's `login:password` split only on the login side.
pub fn proxy_password(value: &str) -> Rule {
    if value.is_empty() {
        return fail("This field may not be blank.");
    }
    if value.len() > 255 {
        return fail("Password must be at most 255 bytes.");
    }
    if value.chars().any(|c| c.is_control()) {
        return fail("Password may not contain control characters.");
    }
    Ok(())
}

/// Panel user names: `[a-z0-9_]`, longer than 4 characters, at most 150.
pub fn username(value: &str) -> Rule {
    if value.len() <= 4 {
        return fail("Username must be longer than 4 characters.");
    }
    if value.len() > 150 {
        return fail("Username must be at most 150 characters.");
    }
    if !value.chars().all(is_login_char) {
        return fail("Username may contain only a-z, 0-9 and _.");
    }
    Ok(())
}

/// Panel user passwords: at least 6 characters, with letters and digits.
pub fn user_password(value: &str) -> Rule {
    if value.chars().count() < 6 {
        return fail("Password must be at least 6 characters.");
    }
    if value.chars().count() > 128 {
        return fail("Password must be at most 128 characters.");
    }
    if !value.chars().any(|c| c.is_alphabetic()) || !value.chars().any(|c| c.is_ascii_digit()) {
        return fail("Password must contain letters and digits.");
    }
    Ok(())
}

/// A plain e-mail address check: one `@`, a local part, a dotted domain, no spaces.
pub fn email(value: &str) -> Rule {
    let message = "Enter a valid email address.";
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail(message);
    }
    let Some((local, domain)) = value.split_once('@') else {
        return fail(message);
    };
    if local.is_empty() || domain.contains('@') || !domain.contains('.') {
        return fail(message);
    }
    if domain
        .split('.')
        .any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
    {
        return fail(message);
    }
    Ok(())
}

/// An IANA time zone name known to the tz database.
pub fn timezone(value: &str) -> Rule {
    value
        .parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| format!("\"{value}\" is not a valid IANA time zone (e.g. \"Europe/Moscow\")."))
}

/// A TCP or UDP port number.
pub fn tcp_port(value: i64) -> Rule {
    if !(1..=65535).contains(&value) {
        return fail("Port must be between 1 and 65535.");
    }
    Ok(())
}

pub const MONITORING_INTERVAL_MIN: i64 = 3;

pub fn monitoring_interval(value: i64) -> Rule {
    if value < MONITORING_INTERVAL_MIN {
        return fail(format!(
            "Ensure this value is greater than or equal to {MONITORING_INTERVAL_MIN}."
        ));
    }
    if value > 86_400 {
        return fail("Ensure this value is less than or equal to 86400.");
    }
    Ok(())
}

/// MTU: 0 keeps the interface's default, otherwise the IPv4 minimum to jumbo frames.
pub fn mtu(value: i64) -> Rule {
    if value == 0 || (576..=9216).contains(&value) {
        Ok(())
    } else {
        fail("MTU must be 0 (interface default) or between 576 and 9216.")
    }
}

/// Seconds fields that must not be negative (intervals, floors), at most 30 days.
pub fn seconds(value: i64) -> Rule {
    if value < 0 {
        return fail("Ensure this value is greater than or equal to 0.");
    }
    if value > 30 * 86_400 {
        return fail("Ensure this value is less than or equal to 2592000.");
    }
    Ok(())
}

/// Bits per second; 0 means unlimited.
pub fn bitrate(value: i64) -> Rule {
    if value < 0 {
        return fail("Ensure this value is greater than or equal to 0 (0 means unlimited).");
    }
    if value > 100_000_000_000 {
        return fail("Ensure this value is less than or equal to 100000000000.");
    }
    Ok(())
}

pub const MAXCONN_DEFAULT: i64 = 250;

/// Connection cap of a proxy profile; 0 means the default of 250.
pub fn maxconn(value: i64) -> Rule {
    if !(0..=100_000).contains(&value) {
        return fail("Ensure this value is between 0 and 100000 (0 means 250).");
    }
    Ok(())
}

/// An IPv4 or IPv6 address.
pub fn ip_address(value: &str) -> Result<IpAddr, String> {
    value
        .trim()
        .parse::<IpAddr>()
        .map_err(|_| format!("\"{value}\" is not a valid IPv4 or IPv6 address."))
}

/// A DNS name for site lists: letters, digits, hyphens and dots, labels of 1-63, at most 253.
/// A leading `*.` or `.` is accepted and dropped (subdomains always match).
pub fn domain(value: &str) -> Result<String, String> {
    let trimmed = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = trimmed
        .strip_prefix("*.")
        .or_else(|| trimmed.strip_prefix('.'))
        .unwrap_or(&trimmed);
    let message = || format!("\"{value}\" is not a valid domain name.");
    if bare.is_empty() || bare.len() > 253 {
        return Err(message());
    }
    for label in bare.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(message());
        }
    }
    Ok(bare.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(username("kraken").is_ok());
        assert!(username("krak").is_err());
        assert!(username("Kraken").is_err());
        assert!(username("kra-ken").is_err());
    }

    #[test]
    fn passwords() {
        assert!(user_password("1256252kraken").is_ok());
        assert!(user_password("abcdef").is_err());
        assert!(user_password("123456").is_err());
        assert!(user_password("ab1").is_err());
    }

    #[test]
    fn emails() {
        assert!(email("info@kraken-proxy.ru").is_ok());
        assert!(email("info@localhost").is_err());
        assert!(email("a b@c.d").is_err());
        assert!(email("@c.d").is_err());
    }

    #[test]
    fn timezones_and_numbers() {
        assert!(timezone("Europe/Moscow").is_ok());
        assert!(timezone("Mars/Olympus").is_err());
        assert!(monitoring_interval(2).is_err());
        assert!(monitoring_interval(3).is_ok());
        assert!(tcp_port(0).is_err() && tcp_port(65536).is_err() && tcp_port(1088).is_ok());
        assert!(mtu(0).is_ok() && mtu(100).is_err() && mtu(1500).is_ok());
    }

    #[test]
    fn domains() {
        assert_eq!(domain("*.Example.COM.").unwrap(), "example.com");
        assert!(domain("exa mple.com").is_err());
        assert!(domain("-bad.com").is_err());
        assert!(ifname("enp6s0u1u1u2u3").is_ok());
        assert!(ifname("a/b").is_err());
    }
}
