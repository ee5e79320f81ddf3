//! Catalogues seeded into a new store: the modem models of the farm document and the OS
//! fingerprint personalities a port's egress can pose as.

/// A supported USB modem model; `id` is the port's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModemModel {
    pub id: i64,
    pub code: &'static str,
    pub name: &'static str,
    pub family: ModemFamily,
}

/// Which web API the model's firmware speaks (and so which driver drives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModemFamily {
    /// Huawei HiLink: XML API under `/api/…`, LAN 192.168.8.1.
    HuaweiHilink,
    /// ZTE goform: `goform_get_cmd_process` / `goform_set_cmd_process`, LAN 192.168.0.1.
    ZteGoform,
}

/// The five models of the farm document, with the ids and codes its sample shows.
pub const MODEM_MODELS: [ModemModel; 5] = [
    ModemModel {
        id: 1,
        code: "Huawei_h_150",
        name: "Huawei E3372h-153",
        family: ModemFamily::HuaweiHilink,
    },
    ModemModel {
        id: 2,
        code: "Zte_mf_833_r",
        name: "ZTE MF833R",
        family: ModemFamily::ZteGoform,
    },
    ModemModel {
        id: 3,
        code: "Zte_mf_920_ru",
        name: "ZTE MF920RU",
        family: ModemFamily::ZteGoform,
    },
    ModemModel {
        id: 4,
        code: "Huawei_h_320",
        name: "Huawei E3372h-320",
        family: ModemFamily::HuaweiHilink,
    },
    ModemModel {
        id: 5,
        code: "Zte_mf_823_d",
        name: "ZTE MF823D",
        family: ModemFamily::ZteGoform,
    },
];

/// A TCP/IP personality: the SYN parameters an egress rewriter applies so a passive
/// fingerprinter (p0f) sees `os` `name`. Values follow p0f 3's `[tcp:request]` signatures;
/// `p0f_signature` is the signature the personality is built to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsPersonality {
    pub id: i64,
    /// Version, shown as the API's `name` (e.g. "10").
    pub name: &'static str,
    /// Operating system, shown as the API's `modem` field (the document's naming).
    pub os: &'static str,
    /// Initial IP TTL (IPv4) / hop limit (IPv6).
    pub ttl: u8,
    /// SYN window size in bytes.
    pub window_size: u16,
    /// Window scale option value; `None` when the option is absent.
    pub window_scale: Option<u8>,
    /// Maximum segment size advertised on a 1500-byte MTU link.
    pub mss: u16,
    /// TCP option layout of the SYN, in p0f's notation.
    pub options: &'static str,
    /// IPv4 Don't Fragment bit.
    pub df: bool,
    pub p0f_signature: &'static str,
}

pub const OS_PERSONALITIES: [OsPersonality; 8] = [
    OsPersonality {
        id: 1,
        name: "XP",
        os: "Windows",
        ttl: 128,
        window_size: 65535,
        window_scale: None,
        mss: 1460,
        options: "mss,nop,nop,sok",
        df: true,
        p0f_signature: "*:128:0:*:65535,0:mss,nop,nop,sok:df,id+:0",
    },
    OsPersonality {
        id: 2,
        name: "7",
        os: "Windows",
        ttl: 128,
        window_size: 8192,
        window_scale: Some(8),
        mss: 1460,
        options: "mss,nop,ws,nop,nop,sok",
        df: true,
        p0f_signature: "*:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0",
    },
    OsPersonality {
        id: 3,
        name: "10",
        os: "Windows",
        ttl: 128,
        window_size: 64240,
        window_scale: Some(8),
        mss: 1460,
        options: "mss,nop,ws,nop,nop,sok",
        df: true,
        p0f_signature: "*:128:0:*:64240,8:mss,nop,ws,nop,nop,sok:df,id+:0",
    },
    OsPersonality {
        id: 4,
        name: "11",
        os: "Windows",
        ttl: 128,
        window_size: 65535,
        window_scale: Some(8),
        mss: 1460,
        options: "mss,nop,ws,nop,nop,sok",
        df: true,
        p0f_signature: "*:128:0:*:65535,8:mss,nop,ws,nop,nop,sok:df,id+:0",
    },
    OsPersonality {
        id: 5,
        name: "10.9 or newer",
        os: "macOS",
        ttl: 64,
        window_size: 65535,
        window_scale: Some(4),
        mss: 1460,
        options: "mss,nop,ws,nop,nop,ts,sok,eol+1",
        df: true,
        p0f_signature: "*:64:0:*:65535,4:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0",
    },
    OsPersonality {
        id: 6,
        name: "iPhone or iPad",
        os: "iOS",
        ttl: 64,
        window_size: 65535,
        window_scale: Some(2),
        mss: 1460,
        options: "mss,nop,ws,nop,nop,ts,sok,eol+1",
        df: true,
        p0f_signature: "*:64:0:*:65535,2:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0",
    },
    OsPersonality {
        id: 7,
        name: "Android",
        os: "Android",
        ttl: 64,
        // p0f writes the window as mss*44.
        window_size: 64240,
        window_scale: Some(3),
        mss: 1460,
        options: "mss,sok,ts,nop,ws",
        df: true,
        p0f_signature: "*:64:0:*:mss*44,3:mss,sok,ts,nop,ws:df,id+:0",
    },
    OsPersonality {
        id: 8,
        name: "3.11 and newer",
        os: "Linux",
        ttl: 64,
        // p0f writes the window as mss*20.
        window_size: 29200,
        window_scale: Some(7),
        mss: 1460,
        options: "mss,sok,ts,nop,ws",
        df: true,
        p0f_signature: "*:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personalities_agree_with_their_signatures() {
        for p in OS_PERSONALITIES {
            let fields: Vec<&str> = p.p0f_signature.split(':').collect();
            assert_eq!(fields[1], p.ttl.to_string(), "{}", p.name);
            assert_eq!(fields[5], p.options, "{}", p.name);
            let (window, scale) = fields[4].split_once(',').unwrap();
            let expected_window = match window.strip_prefix("mss*") {
                Some(factor) => factor.parse::<u32>().unwrap() * u32::from(p.mss),
                None => window.parse::<u32>().unwrap(),
            };
            assert_eq!(expected_window, u32::from(p.window_size), "{}", p.name);
            assert_eq!(scale, p.window_scale.unwrap_or(0).to_string(), "{}", p.name);
            assert_eq!(fields[6].starts_with("df"), p.df);
        }
    }

    #[test]
    fn model_ids_are_unique() {
        let mut ids: Vec<i64> = MODEM_MODELS.iter().map(|m| m.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 5);
    }
}
