//! What an emulated modem knows about itself: radio, operator, data session, faults. The web
//! API emulators render this state in each firmware's dialect.

use std::net::Ipv4Addr;
use std::time::Duration;

use kordon_model::catalog::{ModemFamily, ModemModel};

use crate::operators::Operator;

/// The data session as the firmware reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connected,
    Connecting,
    Disconnected,
}

/// Radio access technology preference (HiLink `NetworkMode`, ZTE `BearerPreference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetMode {
    Auto,
    LteOnly,
    WcdmaOnly,
}

/// Network the modem is registered on, which follows from the mode in the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rat {
    Lte,
    Wcdma,
}

impl NetMode {
    pub fn rat(self) -> Rat {
        match self {
            NetMode::Auto | NetMode::LteOnly => Rat::Lte,
            NetMode::WcdmaOnly => Rat::Wcdma,
        }
    }
}

/// Radio figures in the units the firmwares print.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signal {
    /// dBm.
    pub rsrp: i32,
    /// dB.
    pub rsrq: f32,
    /// dBm.
    pub rssi: i32,
    /// dB.
    pub sinr: f32,
    /// Bars, 0–5.
    pub bars: u8,
}

impl Default for Signal {
    fn default() -> Self {
        Signal {
            rsrp: -93,
            rsrq: -11.0,
            rssi: -67,
            sinr: 6.0,
            bars: 4,
        }
    }
}

/// The modem's USB network: its own address and the one its DHCP server hands the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lan {
    pub modem: Ipv4Addr,
    pub host: Ipv4Addr,
    pub prefix_len: u8,
}

impl Lan {
    /// The factory LAN of the family: 192.168.8.1 (HiLink) or 192.168.0.1 (ZTE), host at .100.
    pub fn factory(family: ModemFamily) -> Lan {
        let third = match family {
            ModemFamily::HuaweiHilink => 8,
            ModemFamily::ZteGoform => 0,
        };
        Lan {
            modem: Ipv4Addr::new(192, 168, third, 1),
            host: Ipv4Addr::new(192, 168, third, 100),
            prefix_len: 24,
        }
    }
}

/// Faults a test switches on at run time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Reconnects bring the same public address back.
    pub same_ip: bool,
    /// The web API accepts connections and never answers.
    pub api_hangs: bool,
}

/// The whole state of one emulated modem.
#[derive(Debug, Clone)]
pub struct ModemState {
    pub model: ModemModel,
    pub operator: Operator,
    pub signal: Signal,
    pub net_mode: NetMode,
    pub connection: Connection,
    /// Mobile data enabled (HiLink `dataswitch`).
    pub data_switch: bool,
    /// The address the operator assigned; reported only while connected.
    pub wan_addr: Ipv4Addr,
    pub lan: Lan,
    pub faults: Faults,
    /// The USB device is attached to the host.
    pub plugged: bool,
    /// The firmware is rebooting: its web server does not answer.
    pub rebooting: bool,
    /// How long a reconnect keeps the data link down.
    pub reconnect_delay: Duration,
    /// How long a reboot keeps the web server away.
    pub reboot_delay: Duration,
    /// Completed data-session cycles (reconnects, data switch, mode changes, reboots).
    pub cycles: u64,
}

impl ModemState {
    /// The public address while the data session is up.
    pub fn wan_ip(&self) -> Option<Ipv4Addr> {
        (self.connection == Connection::Connected).then_some(self.wan_addr)
    }

    /// Whether the web server answers at all.
    pub fn reachable(&self) -> bool {
        self.plugged && !self.rebooting
    }

    pub fn rat(&self) -> Rat {
        self.net_mode.rat()
    }
}
