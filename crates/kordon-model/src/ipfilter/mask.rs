//! Netmasks: the dialect sends a dotted mask (`255.255.255.0`). kordon also takes a prefix
//! length (`24` or `/24`) and, for IPv6 rules, an IPv6 mask (`ffff:ffff:ffff:ffff::`).
//! A mask must be contiguous: ones, then zeros.

use std::net::IpAddr;

use ipnet::IpNet;

/// The prefix length `mask` gives an address of `address`'s family.
pub fn prefix_len(address: IpAddr, mask: &str) -> Result<u8, String> {
    let text = mask.trim();
    let width: u8 = if address.is_ipv4() { 32 } else { 128 };
    if let Some(length) = text
        .strip_prefix('/')
        .or(Some(text))
        .and_then(|t| (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then_some(t))
    {
        return match length.parse::<u8>() {
            Ok(len) if len <= width => Ok(len),
            _ => Err(format!(
                "prefix length \"{text}\" is out of range: 0 to {width} for this address."
            )),
        };
    }
    match (address, text.parse::<IpAddr>()) {
        (IpAddr::V4(_), Ok(IpAddr::V4(mask))) => contiguous(u128::from(u32::from(mask)) << 96)
            .ok_or_else(|| format!("\"{text}\" is not a contiguous netmask (ones, then zeros).")),
        (IpAddr::V6(_), Ok(IpAddr::V6(mask))) => contiguous(u128::from(mask))
            .ok_or_else(|| format!("\"{text}\" is not a contiguous netmask (ones, then zeros).")),
        (IpAddr::V4(_), Ok(IpAddr::V6(_))) => Err(format!(
            "\"{text}\" is an IPv6 mask; an IPv4 address takes a dotted mask such as 255.255.255.0."
        )),
        (IpAddr::V6(_), Ok(IpAddr::V4(_))) => Err(format!(
            "\"{text}\" is an IPv4 mask; an IPv6 address takes a prefix length (e.g. 64) or an IPv6 mask."
        )),
        (_, Err(_)) => Err(format!(
            "\"{text}\" is not a netmask; send a dotted mask such as 255.255.255.0 or a prefix length."
        )),
    }
}

/// The number of leading ones when `bits` is ones followed by zeros only.
fn contiguous(bits: u128) -> Option<u8> {
    let ones = bits.leading_ones();
    let rest = bits.checked_shl(ones).unwrap_or(0);
    (rest == 0).then_some(ones as u8)
}

/// The mask of `network` as the dialect shows it: dotted for IPv4, IPv6 form for IPv6.
pub fn mask_text(network: &IpNet) -> String {
    match network {
        IpNet::V4(net) => net.netmask().to_string(),
        IpNet::V6(net) => net.netmask().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4() -> IpAddr {
        "192.0.2.1".parse().unwrap()
    }

    fn v6() -> IpAddr {
        "2001:db8::1".parse().unwrap()
    }

    #[test]
    fn reads_every_form() {
        assert_eq!(prefix_len(v4(), "255.255.255.255"), Ok(32));
        assert_eq!(prefix_len(v4(), "255.255.255.0"), Ok(24));
        assert_eq!(prefix_len(v4(), "0.0.0.0"), Ok(0));
        assert_eq!(prefix_len(v4(), "255.254.0.0"), Ok(15));
        assert_eq!(prefix_len(v4(), "24"), Ok(24));
        assert_eq!(prefix_len(v4(), "/8"), Ok(8));
        assert_eq!(prefix_len(v6(), "64"), Ok(64));
        assert_eq!(prefix_len(v6(), "ffff:ffff::"), Ok(32));
    }

    #[test]
    fn refuses_bad_masks() {
        assert!(prefix_len(v4(), "255.0.255.0")
            .unwrap_err()
            .contains("contiguous"));
        assert!(prefix_len(v4(), "0.255.255.255").is_err());
        assert!(prefix_len(v4(), "33").unwrap_err().contains("0 to 32"));
        assert!(prefix_len(v4(), "255.255.255").is_err());
        assert!(prefix_len(v4(), "ffff::")
            .unwrap_err()
            .contains("IPv6 mask"));
        assert!(prefix_len(v6(), "255.255.255.0")
            .unwrap_err()
            .contains("IPv4 mask"));
        assert!(prefix_len(v6(), "129").is_err());
        assert!(prefix_len(v4(), "").is_err());
    }

    #[test]
    fn shows_masks_the_dialect_way() {
        assert_eq!(mask_text(&"10.0.0.0/8".parse().unwrap()), "255.0.0.0");
        assert_eq!(mask_text(&"1.2.3.4/32".parse().unwrap()), "255.255.255.255");
        assert_eq!(
            mask_text(&"2001:db8::/48".parse().unwrap()),
            "ffff:ffff:ffff::"
        );
    }
}
