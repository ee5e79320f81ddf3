//! The HiLink GET replies, field for field as E3372h firmware (HiLink 22.x) sends them.

use std::net::Ipv4Addr;

use crate::emulator::state::{Connection, ModemState, NetMode, Rat};

/// `ConnectionStatus` codes.
pub const CONNECTED: &str = "901";
pub const CONNECTING: &str = "900";
pub const DISCONNECTED: &str = "902";

type Fields = Vec<(&'static str, String)>;

fn s(v: impl ToString) -> String {
    v.to_string()
}

pub fn signal(st: &ModemState) -> Fields {
    let sig = st.signal;
    let lte = st.rat() == Rat::Lte;
    let when = |on: bool, v: String| if on { v } else { String::new() };
    vec![
        ("pci", when(lte, s(287))),
        ("sc", String::new()),
        ("cell_id", s(44_023_051)),
        ("rsrq", when(lte, format!("{:.1}dB", sig.rsrq))),
        ("rsrp", when(lte, format!("{}dBm", sig.rsrp))),
        ("rssi", format!("{}dBm", sig.rssi)),
        ("sinr", when(lte, format!("{:.0}dB", sig.sinr))),
        ("rscp", when(!lte, format!("{}dBm", sig.rsrp + 8))),
        ("ecio", when(!lte, s("-7dB"))),
        ("mode", s(if lte { 7 } else { 2 })),
        ("ulbandwidth", when(lte, s("20MHz"))),
        ("dlbandwidth", when(lte, s("20MHz"))),
        (
            "txpower",
            when(lte, s("PPusch:2dBm PPucch:-9dBm PSrs:0dBm PPrach:-4dBm")),
        ),
        ("tdd", String::new()),
        ("ul_mcs", when(lte, s("mcsUpCarrier1:22"))),
        (
            "dl_mcs",
            when(lte, s("mcsDownCarrier1Code0:9 mcsDownCarrier1Code1:9")),
        ),
        ("earfcn", when(lte, s("DL:1602 UL:19602"))),
        ("rrc_status", when(lte, s(1))),
        ("rac", String::new()),
        ("lac", String::new()),
        ("tac", when(lte, s(30_217))),
        ("band", when(lte, s(3))),
        ("nei_cellid", String::new()),
        ("plmn", s(st.operator.numeric)),
        ("ims", s(0)),
        ("wdlfreq", String::new()),
        ("lteulfreq", when(lte, s(17_600))),
        ("ltedlfreq", when(lte, s(18_550))),
        ("transmode", when(lte, s("TM[3]"))),
        ("enodeb_id", when(lte, s("0171965"))),
        ("cqi0", when(lte, s(9))),
        ("cqi1", when(lte, s(9))),
        ("ulfrequency", when(lte, s("1760000kHz"))),
        ("dlfrequency", when(lte, s("1855000kHz"))),
        ("arfcn", String::new()),
        ("bsic", String::new()),
        ("rxlev", String::new()),
    ]
}

pub fn status(st: &ModemState) -> Fields {
    let status = match st.connection {
        Connection::Connected => CONNECTED,
        Connection::Connecting => CONNECTING,
        Connection::Disconnected => DISCONNECTED,
    };
    // HiLink codes: 19 = LTE, 4 = WCDMA; Ex: 101 = LTE, 41 = WCDMA.
    let (net, net_ex) = match st.rat() {
        Rat::Lte => ("19", "101"),
        Rat::Wcdma => ("4", "41"),
    };
    let wan = st.wan_ip().map(s).unwrap_or_default();
    let dns = |last: u8| {
        st.wan_ip()
            .map(|_| s(Ipv4Addr::new(83, 149, 32, last)))
            .unwrap_or_default()
    };
    vec![
        ("ConnectionStatus", s(status)),
        ("WifiConnectionStatus", String::new()),
        ("SignalStrength", String::new()),
        ("SignalIcon", s(st.signal.bars.min(5))),
        ("CurrentNetworkType", s(net)),
        ("CurrentServiceDomain", s(3)),
        ("RoamingStatus", s(0)),
        ("BatteryStatus", String::new()),
        ("BatteryLevel", String::new()),
        ("BatteryPercent", String::new()),
        ("simlockStatus", s(0)),
        ("WanIPAddress", wan),
        ("WanIPv6Address", String::new()),
        ("PrimaryDns", dns(2)),
        ("SecondaryDns", dns(3)),
        ("PrimaryIPv6Dns", String::new()),
        ("SecondaryIPv6Dns", String::new()),
        ("CurrentWifiUser", String::new()),
        ("TotalWifiUser", String::new()),
        ("currenttotalwifiuser", s(0)),
        ("ServiceStatus", s(2)),
        ("SimStatus", s(1)),
        ("WifiStatus", String::new()),
        ("CurrentNetworkTypeEx", s(net_ex)),
        ("maxsignal", s(5)),
        ("wifiindooronly", s(0)),
        ("wififrequence", s(0)),
        ("classify", s("hilink")),
        ("flymode", s(0)),
        ("cellroam", s(1)),
        ("usbup", s(0)),
    ]
}

pub fn current_plmn(st: &ModemState) -> Fields {
    let rat = match st.rat() {
        Rat::Lte => 7,
        Rat::Wcdma => 2,
    };
    vec![
        ("State", s(0)),
        ("FullName", s(st.operator.full_name)),
        ("ShortName", s(st.operator.short_name)),
        ("Numeric", s(st.operator.numeric)),
        ("Rat", s(rat)),
        ("Spn", String::new()),
    ]
}

pub fn data_switch(st: &ModemState) -> Fields {
    vec![("dataswitch", s(u8::from(st.data_switch)))]
}

/// `NetworkMode`: 00 auto, 03 LTE only, 02 3G only.
pub fn net_mode_code(mode: NetMode) -> &'static str {
    match mode {
        NetMode::Auto => "00",
        NetMode::LteOnly => "03",
        NetMode::WcdmaOnly => "02",
    }
}

pub fn parse_net_mode(code: &str) -> Option<NetMode> {
    match code {
        "00" => Some(NetMode::Auto),
        "03" => Some(NetMode::LteOnly),
        "02" => Some(NetMode::WcdmaOnly),
        _ => None,
    }
}

pub fn net_mode(st: &ModemState) -> Fields {
    vec![
        ("NetworkMode", s(net_mode_code(st.net_mode))),
        ("NetworkBand", s("3FFFFFFF")),
        ("LTEBand", s("800C5")),
    ]
}

pub fn dhcp_settings(st: &ModemState) -> Fields {
    let lan = st.lan;
    let mask = u32::MAX
        .checked_shl(32 - u32::from(lan.prefix_len.min(32)))
        .unwrap_or(0);
    let octets = lan.modem.octets();
    vec![
        ("DhcpIPAddress", s(lan.modem)),
        ("DhcpLanNetmask", s(Ipv4Addr::from(mask))),
        ("DhcpStatus", s(1)),
        ("DhcpStartIPAddress", s(lan.host)),
        (
            "DhcpEndIPAddress",
            s(Ipv4Addr::new(octets[0], octets[1], octets[2], 200)),
        ),
        ("DhcpLeaseTime", s(86_400)),
        ("DnsStatus", s(1)),
        ("PrimaryDns", s(lan.modem)),
        ("SecondaryDns", s(lan.modem)),
    ]
}
