//! The values `goform_get_cmd_process` reports, by key, as MF833R / MF920RU / MF823D firmware
//! prints them (every value a string; unknown keys are empty strings).

use crate::emulator::state::{Connection, ModemState, NetMode, Rat};

/// `ppp_status` values.
pub const PPP_CONNECTED: &str = "ppp_connected";
pub const PPP_CONNECTING: &str = "ppp_connecting";
pub const PPP_DISCONNECTED: &str = "ppp_disconnected";

/// `net_select` / `BearerPreference` spelling of a mode.
pub fn bearer(mode: NetMode) -> &'static str {
    match mode {
        NetMode::Auto => "NETWORK_auto",
        NetMode::LteOnly => "Only_LTE",
        NetMode::WcdmaOnly => "Only_WCDMA",
    }
}

pub fn parse_bearer(text: &str) -> Option<NetMode> {
    match text {
        "NETWORK_auto" => Some(NetMode::Auto),
        "Only_LTE" => Some(NetMode::LteOnly),
        "Only_WCDMA" => Some(NetMode::WcdmaOnly),
        _ => None,
    }
}

/// The value of one `cmd` key.
pub fn value(st: &ModemState, key: &str) -> String {
    let lte = st.rat() == Rat::Lte;
    let sig = st.signal;
    let lte_only = |v: String| if lte { v } else { String::new() };
    match key {
        "signalbar" => sig.bars.min(5).to_string(),
        "network_provider" => st.operator.short_name.to_string(),
        "network_provider_fullname" => st.operator.full_name.to_string(),
        "network_type" => (if lte { "LTE" } else { "WCDMA" }).to_string(),
        "sub_network_type" => (if lte { "FDD_LTE" } else { "HSPA+" }).to_string(),
        "ppp_status" => match st.connection {
            Connection::Connected => PPP_CONNECTED,
            Connection::Connecting => PPP_CONNECTING,
            Connection::Disconnected => PPP_DISCONNECTED,
        }
        .to_string(),
        "wan_ipaddr" => st.wan_ip().map(|a| a.to_string()).unwrap_or_default(),
        "lte_rsrp" => lte_only(sig.rsrp.to_string()),
        "lte_rsrq" => lte_only(format!("{:.0}", sig.rsrq)),
        "lte_rssi" => lte_only(sig.rssi.to_string()),
        "lte_snr" => lte_only(format!("{:.1}", sig.sinr)),
        "rssi" => sig.rssi.to_string(),
        "rscp" => {
            if lte {
                String::new()
            } else {
                (sig.rsrp + 8).to_string()
            }
        }
        "ecio" => {
            if lte {
                String::new()
            } else {
                "-7".to_string()
            }
        }
        "net_select" => bearer(st.net_mode).to_string(),
        "modem_main_state" => "modem_init_complete".to_string(),
        "sim_status" => "modem_init_complete".to_string(),
        "simcard_roam" => "Home".to_string(),
        "roam_setting_option" => "off".to_string(),
        "dial_mode" => (if st.data_switch {
            "auto_dial"
        } else {
            "manual_dial"
        })
        .to_string(),
        "lan_ipaddr" => st.lan.modem.to_string(),
        "cell_id" => "2A0F10B".to_string(),
        "lte_pci" => lte_only("11B".to_string()),
        "wa_inner_version" => firmware(st.model.code).to_string(),
        "hardware_version" => st.model.name.to_string(),
        _ => String::new(),
    }
}

fn firmware(code: &str) -> &'static str {
    match code {
        "Zte_mf_833_r" => "BD_RUMTSMF833RV1.0.0B05",
        "Zte_mf_920_ru" => "BD_MF920RUV1.0.0B04",
        _ => "BD_MF823DV1.0.0B09",
    }
}
