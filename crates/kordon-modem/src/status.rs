//! What a modem reports, in the farm API's vocabulary: signal strings with units as the API
//! shows them ("-74dBm", "-7dB", ">=-51dBm", "12dB"), bars 0–5, human network type names.

use std::net::IpAddr;

/// One reading of a modem's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModemStatus {
    /// The data session is up (the modem has a WAN address and routes traffic).
    pub connected: bool,
    /// Signal strength in bars, 0–5.
    pub signal_bars: u8,
    pub rsrp: Option<String>,
    pub rsrq: Option<String>,
    pub rssi: Option<String>,
    pub sinr: Option<String>,
    /// Registered network's name ("MegaFon RUS").
    pub operator: Option<String>,
    /// Radio access technology, human-named ("LTE (4G)", "UMTS (3G)").
    pub network_type: Option<String>,
    /// The address the operator gave the modem's data session (usually behind carrier NAT,
    /// so not the external IP).
    pub wan_ip: Option<IpAddr>,
}

/// Highest bar count the farm API shows.
pub const MAX_SIGNAL_BARS: u8 = 5;

/// Radio generation, the level at which the farm API names network types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkGeneration {
    Gsm,
    Umts,
    Lte,
}

impl NetworkGeneration {
    /// The name the farm API shows (`network_type` of a port).
    pub fn display_name(self) -> &'static str {
        match self {
            NetworkGeneration::Gsm => "GSM (2G)",
            NetworkGeneration::Umts => "UMTS (3G)",
            NetworkGeneration::Lte => "LTE (4G)",
        }
    }
}

/// Bars from a firmware's count, which may be out of range or missing.
pub fn signal_bars(raw: Option<&str>) -> u8 {
    raw.and_then(|text| text.trim().parse::<i64>().ok())
        .map(|bars| bars.clamp(0, i64::from(MAX_SIGNAL_BARS)) as u8)
        .unwrap_or(0)
}

/// A firmware field that is absent, empty or a placeholder means "not known".
pub fn non_empty(raw: Option<&str>) -> Option<String> {
    let text = raw?.trim();
    if text.is_empty() || text == "--" || text.eq_ignore_ascii_case("unknown") {
        None
    } else {
        Some(text.to_owned())
    }
}

/// A WAN address as firmwares report it; "0.0.0.0" and empty mean no session.
pub fn wan_address(raw: Option<&str>) -> Option<IpAddr> {
    let address: IpAddr = raw?.trim().parse().ok()?;
    if address.is_unspecified() {
        None
    } else {
        Some(address)
    }
}

/// A measurement with its unit appended, unless the firmware already wrote one.
/// Returns `None` when `raw` is not a measurement at all.
pub fn with_unit(raw: Option<&str>, unit: &str) -> Option<String> {
    let text = non_empty(raw)?;
    if text.ends_with("dB") || text.ends_with("dBm") {
        return Some(text);
    }
    text.parse::<f64>().ok()?;
    Some(format!("{text}{unit}"))
}

/// RSSI in the 3GPP reporting scale (TS 27.007 `+CSQ`), whose top step is "-51 dBm or
/// greater": written ">=-51dBm" as HiLink firmware and the farm API show it.
pub fn rssi_with_unit(raw: Option<&str>) -> Option<String> {
    let text = with_unit(raw, "dBm")?;
    let value = text.trim_end_matches("dBm").parse::<f64>().ok();
    match value {
        Some(dbm) if dbm >= -51.0 => Some(">=-51dBm".to_owned()),
        _ => Some(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_clamped_to_the_api_range() {
        assert_eq!(signal_bars(Some("4")), 4);
        assert_eq!(signal_bars(Some("7")), 5);
        assert_eq!(signal_bars(Some("-1")), 0);
        assert_eq!(signal_bars(Some("")), 0);
        assert_eq!(signal_bars(None), 0);
    }

    #[test]
    fn units_are_added_once() {
        assert_eq!(with_unit(Some("-95"), "dBm").as_deref(), Some("-95dBm"));
        assert_eq!(with_unit(Some("10.4"), "dB").as_deref(), Some("10.4dB"));
        assert_eq!(with_unit(Some("-7dB"), "dB").as_deref(), Some("-7dB"));
        assert_eq!(with_unit(Some(""), "dB"), None);
        assert_eq!(with_unit(Some("n/a"), "dB"), None);
        assert_eq!(rssi_with_unit(Some("-45")).as_deref(), Some(">=-51dBm"));
        assert_eq!(rssi_with_unit(Some("-67")).as_deref(), Some("-67dBm"));
        assert_eq!(
            rssi_with_unit(Some(">=-51dBm")).as_deref(),
            Some(">=-51dBm")
        );
    }

    #[test]
    fn unspecified_wan_address_means_no_session() {
        assert_eq!(wan_address(Some("0.0.0.0")), None);
        assert_eq!(wan_address(Some("")), None);
        assert_eq!(
            wan_address(Some("10.64.12.7")),
            Some("10.64.12.7".parse().unwrap())
        );
    }
}
