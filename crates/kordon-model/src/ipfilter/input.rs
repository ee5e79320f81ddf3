//! One rule as a request sends it (`ip`, `mask`, `type`, `expires_time`, `description`), read
//! and checked field by field; every problem is recorded under its field.

use chrono_tz::Tz;
use ipnet::IpNet;

use super::{mask, time, RuleKind, RuleSpec};
use crate::coerce::Input;

/// The longest description kept.
pub const DESCRIPTION_MAX: usize = 255;

pub const MSG_TYPE: &str =
    "Unknown type; 0 is a permanent block, 1 a block until expires_time, 2 a permit until expires_time.";

/// Reads the rule fields of `input`, checking expiry against `now` (unix seconds) in `tz`.
/// Returns the rule when every field is good; otherwise the errors are in `input`.
///
/// Extensions: `ip` may carry a prefix (`10.0.0.0/8`) and then `mask` may be left out;
/// `mask` may be a prefix length; host bits are cleared (`10.1.2.3`/`255.0.0.0` is
/// `10.0.0.0/8`); `description` may be absent (empty); a permanent block needs no
/// `expires_time` and ignores one that is well formed.
pub fn read_rule(input: &mut Input, tz: Tz, now: i64) -> Option<RuleSpec> {
    let network = read_network(input);
    let kind = read_kind(input);
    let expires_at = kind.and_then(|kind| read_expiry(input, kind, tz, now));
    let description = read_description(input);
    let network = network?;
    let kind = kind?;
    if kind.expires() && expires_at.is_none() {
        return None;
    }
    if !input.errors().is_empty() {
        return None;
    }
    Some(RuleSpec {
        network,
        kind,
        expires_at,
        description: description?,
    })
}

fn read_network(input: &mut Input) -> Option<IpNet> {
    let ip = input.req_str("ip")?;
    let mask_given = input.opt_str("mask").filter(|m| !m.trim().is_empty());
    let (address_text, prefix_text) = match ip.trim().split_once('/') {
        Some((address, prefix)) => (address.trim(), Some(prefix.trim())),
        None => (ip.trim(), None),
    };
    let address = match crate::rules::ip_address(address_text) {
        Ok(address) => address,
        Err(message) => {
            input.error("ip", message);
            return None;
        }
    };
    let len = match (prefix_text, mask_given) {
        (_, Some(mask_text)) => match mask::prefix_len(address, &mask_text) {
            Ok(len) => {
                if let Some(prefix) = prefix_text {
                    if mask::prefix_len(address, prefix) != Ok(len) {
                        input.error(
                            "mask",
                            format!("\"{mask_text}\" disagrees with the prefix in ip \"{ip}\"."),
                        );
                        return None;
                    }
                }
                len
            }
            Err(message) => {
                input.error("mask", message);
                return None;
            }
        },
        (Some(prefix), None) => match mask::prefix_len(address, prefix) {
            Ok(len) => len,
            Err(message) => {
                input.error("ip", message);
                return None;
            }
        },
        (None, None) => {
            input.error("mask", crate::coerce::MSG_REQUIRED);
            return None;
        }
    };
    // The prefix length was checked against the family just above.
    IpNet::new(address, len).ok().map(|net| net.trunc())
}

fn read_kind(input: &mut Input) -> Option<RuleKind> {
    let code = input.req_int("type")?;
    let kind = RuleKind::from_code(code);
    if kind.is_none() {
        input.error("type", MSG_TYPE);
    }
    kind
}

fn read_expiry(input: &mut Input, kind: RuleKind, tz: Tz, now: i64) -> Option<i64> {
    let text = input
        .opt_str("expires_time")
        .filter(|t| !t.trim().is_empty());
    let Some(text) = text else {
        if kind.expires() {
            input.error(
                "expires_time",
                "This field is required for type 1 and 2 rules (YYYY-MM-DD HH:mm).",
            );
        }
        return None;
    };
    let at = match time::parse(&text, tz) {
        Ok(at) => at,
        Err(message) => {
            input.error("expires_time", message);
            return None;
        }
    };
    if !kind.expires() {
        return None;
    }
    if at <= now {
        input.error(
            "expires_time",
            format!(
                "\"{}\" is not in the future (server time is {}, zone {tz}).",
                text.trim(),
                time::format(now, tz)
            ),
        );
        return None;
    }
    if at > time::LATEST {
        input.error("expires_time", "Must be before the year 10000.");
        return None;
    }
    Some(at)
}

fn read_description(input: &mut Input) -> Option<String> {
    let text = input.opt_str("description").unwrap_or_default();
    if text.chars().count() > DESCRIPTION_MAX {
        input.error(
            "description",
            format!("Ensure this field has no more than {DESCRIPTION_MAX} characters."),
        );
        return None;
    }
    if text.chars().any(char::is_control) {
        input.error("description", "May not contain control characters.");
        return None;
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const NOW: i64 = 2_000_000_000; // 2033-05-18

    fn read(value: Value) -> Result<RuleSpec, crate::FieldErrors> {
        let mut input = Input::from_value(value);
        match read_rule(&mut input, chrono_tz::UTC, NOW) {
            Some(rule) => Ok(rule),
            None => Err(input.into_errors()),
        }
    }

    #[test]
    fn reads_the_sample() {
        let rule = read(json!({
            "ip": "192.168.1.46", "mask": "255.255.255.255",
            "expires_time": "2064-05-15 16:00", "type": 1, "description": "xxxx"
        }))
        .unwrap();
        assert_eq!(rule.network, "192.168.1.46/32".parse::<IpNet>().unwrap());
        assert_eq!(rule.kind, RuleKind::TimedBlock);
        assert_eq!(
            rule.expires_at,
            Some(time::parse("2064-05-15 16:00", chrono_tz::UTC).unwrap())
        );
        assert_eq!(rule.description, "xxxx");
    }

    #[test]
    fn lenient_forms() {
        let rule = read(json!({"ip": "10.1.2.3", "mask": "255.0.0.0", "type": "0"})).unwrap();
        assert_eq!(rule.network, "10.0.0.0/8".parse::<IpNet>().unwrap());
        assert_eq!(rule.expires_at, None);
        let rule = read(json!({"ip": "2001:db8::/32", "type": 2,
                               "expires_time": "2064-05-15 16:00"}))
        .unwrap();
        assert_eq!(rule.network, "2001:db8::/32".parse::<IpNet>().unwrap());
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = read(json!({
            "ip": "300.1.1.1", "mask": "255.255.255.255", "type": 5,
            "description": "a\u{0}b"
        }))
        .unwrap_err();
        assert!(errors.has("ip") && errors.has("type") && errors.has("description"));
        let errors = read(json!({"ip": "1.2.3.4", "mask": "255.0.255.0", "type": 0})).unwrap_err();
        assert!(errors.has("mask"));
        let errors = read(
            json!({"ip": "1.2.3.4", "mask": "255.255.255.255", "type": 1,
                                 "expires_time": "2020-01-01 00:00"}),
        )
        .unwrap_err();
        assert!(errors.has("expires_time"));
        let errors = read(json!({"ip": "1.2.3.4", "mask": "32", "type": 2})).unwrap_err();
        assert!(errors.has("expires_time"));
        let errors = read(json!({"ip": "1.2.3.4", "mask": "32", "type": 2,
                                 "expires_time": "soon"}))
        .unwrap_err();
        assert!(errors.has("expires_time"));
        let errors = read(json!({"type": "x"})).unwrap_err();
        assert!(errors.has("ip") && errors.has("type"));
        let errors = read(json!({"ip": "1.2.3.4", "type": 0})).unwrap_err();
        assert!(errors.has("mask"));
    }
}
