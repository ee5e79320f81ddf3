//! The benchmark's rule set: a million rules, mostly single IPv4 hosts as blocklists are, with
//! wider IPv4 networks, some IPv6 networks, all three types; as the CSV the import takes.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One generated rule.
pub struct Rule {
    pub ip: String,
    pub prefix: u8,
    pub kind: u8,
    pub v6: bool,
}

/// `total` rules: 90% /32 hosts in 10.0.0.0/8 (every other address), 9% networks (/24s
/// from 11.0.0.0, every tenth a /16 from 100.0.0.0 instead), all disjoint, 1% IPv6 /64s in 2001:db8::/32. Types: 70% permanent blocks,
/// 25% time-limited blocks, 5% permits.
pub fn rules(total: usize) -> Vec<Rule> {
    let hosts = total * 90 / 100;
    let networks = total * 9 / 100;
    let v6 = total - hosts - networks;
    let mut rules = Vec::with_capacity(total);
    for i in 0..hosts {
        let address = Ipv4Addr::from((10u32 << 24) + (i as u32) * 2);
        rules.push(Rule {
            ip: address.to_string(),
            prefix: 32,
            kind: kind(i),
            v6: false,
        });
    }
    for i in 0..networks {
        let (address, prefix) = if i % 10 == 0 {
            (Ipv4Addr::from((100u32 << 24) + ((i as u32 / 10) << 16)), 16)
        } else {
            (Ipv4Addr::from((11u32 << 24) + ((i as u32) << 8)), 24)
        };
        rules.push(Rule {
            ip: address.to_string(),
            prefix,
            kind: kind(i),
            v6: false,
        });
    }
    for i in 0..v6 {
        let address = Ipv6Addr::from((0x2001_0db8u128 << 96) + ((i as u128) << 64));
        rules.push(Rule {
            ip: address.to_string(),
            prefix: 64,
            kind: kind(i),
            v6: true,
        });
    }
    rules
}

fn kind(i: usize) -> u8 {
    match i % 20 {
        0 => 2,
        1..=5 => 1,
        _ => 0,
    }
}

/// The rules as the import's CSV (`ip/prefix,mask,type,expires_time,description`).
pub fn csv(rules: &[Rule]) -> String {
    let mut text = String::with_capacity(rules.len() * 48);
    text.push_str("ip,mask,type,expires_time,description\n");
    for rule in rules {
        let expires = if rule.kind == 0 {
            ""
        } else {
            "2064-05-15 16:00"
        };
        let _ = writeln!(
            text,
            "{},{},{},{expires},bench",
            rule.ip, rule.prefix, rule.kind
        );
    }
    text
}

/// The elements the kernel must hold for `rules` (one per network and action).
pub fn element_count(rules: &[Rule]) -> usize {
    // Generated networks never repeat within one action.
    rules.len()
}
