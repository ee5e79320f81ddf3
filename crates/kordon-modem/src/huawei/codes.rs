//! HiLink's numeric codes: connection states and network types.

use crate::status::NetworkGeneration;

/// `ConnectionStatus` 901: the data session is up (900 connecting, 902 disconnected,
/// 903 disconnecting, 904 failed).
pub const CONNECTION_CONNECTED: &str = "901";

/// Firmware errors a fresh `SesTokInfo` cures: 125002 (session/CSRF token rejected) and
/// 125003 (wrong session token).
pub fn is_session_error(code: &str) -> bool {
    matches!(code, "125002" | "125003")
}

/// `CurrentNetworkTypeEx` (newer firmware): 1–3 GSM/GPRS/EDGE, 41–46 WCDMA…DC-HSPA+,
/// 61–65 TD-SCDMA family, 101 LTE, 1011 LTE-CA.
pub fn generation_from_type_ex(code: &str) -> Option<NetworkGeneration> {
    match code.trim().parse::<u32>().ok()? {
        1..=3 => Some(NetworkGeneration::Gsm),
        41..=46 | 61..=65 => Some(NetworkGeneration::Umts),
        101 | 1011 => Some(NetworkGeneration::Lte),
        _ => None,
    }
}

/// `CurrentNetworkType` (every firmware): 1–3 GSM/GPRS/EDGE, 4–9 and 17–18 WCDMA family
/// and TD-SCDMA, 19 LTE, 41–46 WCDMA family, 101 LTE.
pub fn generation_from_type(code: &str) -> Option<NetworkGeneration> {
    match code.trim().parse::<u32>().ok()? {
        1..=3 => Some(NetworkGeneration::Gsm),
        4..=9 | 17 | 18 | 41..=46 => Some(NetworkGeneration::Umts),
        19 | 101 | 1011 => Some(NetworkGeneration::Lte),
        _ => None,
    }
}

/// `Rat` of `current-plmn` and `mode` of `device/signal`: 0 GSM, 2 UTRAN, 7 E-UTRAN.
pub fn generation_from_rat(code: &str) -> Option<NetworkGeneration> {
    match code.trim() {
        "0" => Some(NetworkGeneration::Gsm),
        "2" => Some(NetworkGeneration::Umts),
        "7" => Some(NetworkGeneration::Lte),
        _ => None,
    }
}

/// `NetworkMode` codes of `net/net-mode`: "03" LTE only, "02" WCDMA only.
pub fn network_mode_code(mode: kordon_model::enums::NetMode) -> &'static str {
    match mode {
        kordon_model::enums::NetMode::Lte => "03",
        kordon_model::enums::NetMode::Umts => "02",
    }
}

/// Band masks meaning "every band", sent when the modem's own could not be read.
pub const ALL_NETWORK_BANDS: &str = "3FFFFFFF";
pub const ALL_LTE_BANDS: &str = "7FFFFFFFFFFFFFFF";

/// `device/control` code that restarts the modem.
pub const CONTROL_REBOOT: &str = "1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_codes_map_to_generations() {
        assert_eq!(generation_from_type_ex("101"), Some(NetworkGeneration::Lte));
        assert_eq!(
            generation_from_type_ex("1011"),
            Some(NetworkGeneration::Lte)
        );
        assert_eq!(generation_from_type_ex("45"), Some(NetworkGeneration::Umts));
        assert_eq!(generation_from_type_ex("0"), None);
        assert_eq!(generation_from_type_ex(""), None);
        assert_eq!(generation_from_type("19"), Some(NetworkGeneration::Lte));
        assert_eq!(generation_from_type("9"), Some(NetworkGeneration::Umts));
        assert_eq!(generation_from_type("3"), Some(NetworkGeneration::Gsm));
        assert_eq!(generation_from_rat("2"), Some(NetworkGeneration::Umts));
    }

    #[test]
    fn only_token_errors_are_cured_by_a_new_session() {
        assert!(is_session_error("125002"));
        assert!(is_session_error("125003"));
        assert!(!is_session_error("100003"));
    }
}
