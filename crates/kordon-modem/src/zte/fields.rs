//! What the goform fields mean: which ones a status reading asks for and how they become a
//! [`ModemStatus`].

use std::collections::HashMap;

use kordon_model::enums::NetMode;

use crate::status::{self, ModemStatus, NetworkGeneration};

/// The `cmd` list of a status reading.
pub const STATUS_FIELDS: [&str; 12] = [
    "signalbar",
    "network_type",
    "network_provider",
    "ppp_status",
    "wan_ipaddr",
    "lte_rsrp",
    "lte_rsrq",
    "lte_rssi",
    "lte_snr",
    "rssi",
    "rscp",
    "ecio",
];

/// `ppp_status` values of an established data session (IPv4, IPv6 or both).
pub fn is_connected(ppp_status: &str) -> bool {
    matches!(
        ppp_status.trim(),
        "ppp_connected" | "ipv6_connected" | "ipv4_ipv6_connected"
    )
}

/// `ppp_status` values after which `CONNECT_NETWORK` is accepted.
pub fn is_disconnected(ppp_status: &str) -> bool {
    matches!(ppp_status.trim(), "ppp_disconnected" | "")
}

/// `network_type` as goform spells it: "LTE", "LTE_CA", "WCDMA", "HSPA+", "DC-HSPA+",
/// "TD_SCDMA", "GSM", "EDGE", … and "NO_SERVICE" / "LIMITED_SERVICE" without a network.
pub fn generation(network_type: &str) -> Option<NetworkGeneration> {
    let normalized = network_type.trim().to_ascii_uppercase().replace('-', "_");
    match normalized.as_str() {
        "LTE" | "LTE_CA" | "LTE_A" | "LTE+" | "4G" | "4G+" | "E_UTRAN" => {
            Some(NetworkGeneration::Lte)
        }
        "WCDMA" | "UMTS" | "HSDPA" | "HSUPA" | "HSPA" | "HSPA+" | "DC_HSPA" | "DC_HSPA+"
        | "TD_SCDMA" | "TDSCDMA" | "3G" => Some(NetworkGeneration::Umts),
        "GSM" | "GPRS" | "EDGE" | "2G" => Some(NetworkGeneration::Gsm),
        _ => None,
    }
}

/// The farm API's network type name; a type kordon does not know is shown as the firmware
/// spells it (so a new one still appears in the network list), no network as `None`.
pub fn network_type_name(raw: &str) -> Option<String> {
    if let Some(generation) = generation(raw) {
        return Some(generation.display_name().to_owned());
    }
    let text = status::non_empty(Some(raw))?;
    match text.to_ascii_uppercase().as_str() {
        "NO_SERVICE" | "LIMITED_SERVICE" | "LIMITED SERVICE" | "NO SERVICE" => None,
        _ => Some(text),
    }
}

/// `SET_BEARER_PREFERENCE`'s `BearerPreference` value locking the radio to `mode`.
pub fn bearer_preference(mode: NetMode) -> &'static str {
    match mode {
        NetMode::Lte => "Only_LTE",
        NetMode::Umts => "Only_WCDMA",
    }
}

/// A status reading from the fields of [`STATUS_FIELDS`].
pub fn status_from_fields(fields: &HashMap<String, String>) -> ModemStatus {
    let field = |name: &str| fields.get(name).map(String::as_str);
    let lte = generation(field("network_type").unwrap_or_default()) == Some(NetworkGeneration::Lte);
    let rssi = if lte {
        field("lte_rssi").filter(|text| !text.trim().is_empty())
    } else {
        None
    }
    .or(field("rssi"));
    ModemStatus {
        connected: is_connected(field("ppp_status").unwrap_or_default()),
        signal_bars: status::signal_bars(field("signalbar")),
        rsrp: status::with_unit(field("lte_rsrp"), "dBm"),
        rsrq: status::with_unit(field("lte_rsrq"), "dB"),
        rssi: status::rssi_with_unit(rssi),
        sinr: status::with_unit(field("lte_snr"), "dB"),
        operator: status::non_empty(field("network_provider")),
        network_type: network_type_name(field("network_type").unwrap_or_default()),
        wan_ip: status::wan_address(field("wan_ipaddr")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zte::reply::parse_fields;

    #[test]
    fn an_lte_reading() {
        let fields = parse_fields(
            r#"{"signalbar":"4","network_type":"LTE","network_provider":"MTS RUS","ppp_status":"ppp_connected","wan_ipaddr":"10.176.4.21","lte_rsrp":"-95","lte_rsrq":"-9","lte_rssi":"-67","lte_snr":"10.4","rssi":"","rscp":"","ecio":""}"#,
        )
        .unwrap();
        let status = status_from_fields(&fields);
        assert_eq!(
            status,
            ModemStatus {
                connected: true,
                signal_bars: 4,
                rsrp: Some("-95dBm".to_owned()),
                rsrq: Some("-9dB".to_owned()),
                rssi: Some("-67dBm".to_owned()),
                sinr: Some("10.4dB".to_owned()),
                operator: Some("MTS RUS".to_owned()),
                network_type: Some("LTE (4G)".to_owned()),
                wan_ip: Some("10.176.4.21".parse().unwrap()),
            }
        );
    }

    #[test]
    fn a_3g_reading_while_reconnecting() {
        let fields = parse_fields(
            r#"{"signalbar":"2","network_type":"HSPA+","network_provider":"Beeline","ppp_status":"ppp_connecting","wan_ipaddr":"0.0.0.0","lte_rsrp":"","lte_rsrq":"","lte_rssi":"","lte_snr":"","rssi":"-49","rscp":"-80","ecio":"-6"}"#,
        )
        .unwrap();
        let status = status_from_fields(&fields);
        assert!(!status.connected);
        assert_eq!(status.network_type.as_deref(), Some("UMTS (3G)"));
        assert_eq!(status.rssi.as_deref(), Some(">=-51dBm"));
        assert_eq!(status.rsrp, None);
        assert_eq!(status.wan_ip, None);
    }

    #[test]
    fn network_type_names() {
        assert_eq!(network_type_name("NO_SERVICE"), None);
        assert_eq!(network_type_name(""), None);
        assert_eq!(network_type_name("DC-HSPA+").as_deref(), Some("UMTS (3G)"));
        assert_eq!(network_type_name("EDGE").as_deref(), Some("GSM (2G)"));
        assert_eq!(network_type_name("NR5G").as_deref(), Some("NR5G"));
        assert!(is_disconnected("ppp_disconnected"));
        assert!(!is_disconnected("ppp_disconnecting"));
        assert!(is_connected("ipv4_ipv6_connected"));
    }
}
