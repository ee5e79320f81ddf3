//! HiLink's XML: every reply is `<response>…</response>` or `<error><code>…</code>
//! <message/></error>`; every write is `<request>…</request>`. Parsing only, no IO.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Why a HiLink reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// The firmware answered `<error>`.
    Firmware { code: String, message: String },
    /// Not the XML HiLink sends.
    Malformed(String),
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: String,
    #[serde(default)]
    message: Option<String>,
}

/// `GET /api/webserver/SesTokInfo`: the session cookie (`SessionID=…`) and a request token.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SesTokInfo {
    #[serde(rename = "SesInfo", default)]
    pub ses_info: Option<String>,
    #[serde(rename = "TokInfo", default)]
    pub tok_info: Option<String>,
}

/// `GET /api/device/signal` (only the fields kordon shows; `mode` is the RAT: 0 GSM,
/// 2 WCDMA, 7 LTE).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Signal {
    #[serde(default)]
    pub rsrp: Option<String>,
    #[serde(default)]
    pub rsrq: Option<String>,
    #[serde(default)]
    pub rssi: Option<String>,
    #[serde(default)]
    pub sinr: Option<String>,
    #[serde(default)]
    pub rscp: Option<String>,
    #[serde(default)]
    pub ecio: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
}

/// `GET /api/monitoring/status`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct MonitoringStatus {
    #[serde(rename = "ConnectionStatus", default)]
    pub connection_status: Option<String>,
    #[serde(rename = "SignalIcon", default)]
    pub signal_icon: Option<String>,
    #[serde(rename = "CurrentNetworkType", default)]
    pub current_network_type: Option<String>,
    #[serde(rename = "CurrentNetworkTypeEx", default)]
    pub current_network_type_ex: Option<String>,
    #[serde(rename = "ServiceStatus", default)]
    pub service_status: Option<String>,
    #[serde(rename = "WanIPAddress", default)]
    pub wan_ip_address: Option<String>,
}

/// `GET /api/device/information`: read only for the WAN address, which firmwares that
/// leave it out of `monitoring/status` report here.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct DeviceInformation {
    #[serde(rename = "WanIPAddress", default)]
    pub wan_ip_address: Option<String>,
}

/// `GET /api/net/current-plmn`; `Rat` 0 GSM, 2 UTRAN, 7 E-UTRAN.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct CurrentPlmn {
    #[serde(rename = "FullName", default)]
    pub full_name: Option<String>,
    #[serde(rename = "ShortName", default)]
    pub short_name: Option<String>,
    #[serde(rename = "Numeric", default)]
    pub numeric: Option<String>,
    #[serde(rename = "Rat", default)]
    pub rat: Option<String>,
}

/// `GET /api/net/net-mode`: mode code and the band masks a write must send back.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct NetModeSettings {
    #[serde(rename = "NetworkMode", default)]
    pub network_mode: Option<String>,
    #[serde(rename = "NetworkBand", default)]
    pub network_band: Option<String>,
    #[serde(rename = "LTEBand", default)]
    pub lte_band: Option<String>,
}

/// The name of the document's root element.
fn root_name(body: &str) -> Result<String, ReplyError> {
    let mut reader = Reader::from_str(body);
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) | Ok(Event::Empty(start)) => {
                return Ok(String::from_utf8_lossy(start.local_name().as_ref()).into_owned());
            }
            Ok(Event::Eof) => return Err(ReplyError::Malformed("empty document".to_owned())),
            Ok(_) => continue,
            Err(err) => return Err(ReplyError::Malformed(err.to_string())),
        }
    }
}

/// Turns an `<error>` document into its code, anything else passes.
fn reject_error(body: &str) -> Result<(), ReplyError> {
    let root = root_name(body)?;
    if root == "error" {
        let error: ErrorBody =
            quick_xml::de::from_str(body).map_err(|err| ReplyError::Malformed(err.to_string()))?;
        return Err(ReplyError::Firmware {
            code: error.code.trim().to_owned(),
            message: error.message.unwrap_or_default().trim().to_owned(),
        });
    }
    if root != "response" {
        return Err(ReplyError::Malformed(format!(
            "root element <{root}>, expected <response>"
        )));
    }
    Ok(())
}

/// Reads a `<response>` into `T`.
pub fn parse_response<T: DeserializeOwned>(body: &str) -> Result<T, ReplyError> {
    reject_error(body)?;
    quick_xml::de::from_str(body).map_err(|err| ReplyError::Malformed(err.to_string()))
}

/// Checks a write's `<response>OK</response>`.
pub fn parse_ok(body: &str) -> Result<(), ReplyError> {
    reject_error(body)?;
    let mut reader = Reader::from_str(body);
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Text(chunk)) => {
                let chunk = chunk
                    .unescape()
                    .map_err(|err| ReplyError::Malformed(err.to_string()))?;
                text.push_str(&chunk);
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(err) => return Err(ReplyError::Malformed(err.to_string())),
        }
    }
    if text.trim() == "OK" {
        Ok(())
    } else {
        Err(ReplyError::Malformed(format!(
            "expected <response>OK</response>, got {:?}",
            text.trim()
        )))
    }
}

/// A `<request>` with `fields` as child elements, in order (the firmware reads them by
/// position on some models).
pub fn request_body(fields: &[(&str, &str)]) -> String {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><request>");
    for (name, value) in fields {
        body.push_str(&format!("<{name}>{}</{name}>", escape(*value)));
    }
    body.push_str("</request>");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    // Replies as E3372h-153 firmware 22.315 sends them (CRLF line ends included).
    const SES_TOK_INFO: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<response>\r\n<SesInfo>SessionID=Xm0ryHc8cGD2Kp9vqYbXwW8HEmOXyP2S0u0t2bdvS5P5vJcu7Fb3dODGjW9nK0nTqS1sW0Umr1hCKXR7SuaXEsxzUg4vDtcA0fE9b9EsfTOQoMiG5kV6iX3tJ2rRfPb7</SesInfo>\r\n<TokInfo>L5f2c3T0BvThVFsQAzmhR4SDeDtVBcK7</TokInfo>\r\n</response>\r\n";

    const SIGNAL_LTE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<response>\r\n<pci>283</pci>\r\n<sc></sc>\r\n<cell_id>26372099</cell_id>\r\n<rsrq>-7dB</rsrq>\r\n<rsrp>-74dBm</rsrp>\r\n<rssi>&gt;=-51dBm</rssi>\r\n<sinr>12dB</sinr>\r\n<rscp></rscp>\r\n<ecio></ecio>\r\n<mode>7</mode>\r\n<ulbandwidth>20MHz</ulbandwidth>\r\n<dlbandwidth>20MHz</dlbandwidth>\r\n<txpower>PPusch:-3dBm PPucch:-14dBm PSrs:-1dBm PPrach:-9dBm</txpower>\r\n<tdd></tdd>\r\n<ul_mcs>mcsUpCarrier1:21</ul_mcs>\r\n<dl_mcs>mcsDownCarrier1Code0:4 mcsDownCarrier1Code1:4</dl_mcs>\r\n<earfcn>DL:1602 UL:19602</earfcn>\r\n<rrc_status></rrc_status>\r\n<rac></rac>\r\n<lac></lac>\r\n<tac>7700</tac>\r\n<band>3</band>\r\n<nei_cellid></nei_cellid>\r\n<plmn>25002</plmn>\r\n<ims></ims>\r\n<wdlfreq></wdlfreq>\r\n<lteulfreq>17602</lteulfreq>\r\n<ltedlfreq>18552</ltedlfreq>\r\n<transmode>TM[3]</transmode>\r\n<enodeb_id>0103016</enodeb_id>\r\n<cqi0>9</cqi0>\r\n<cqi1>7</cqi1>\r\n<ulfrequency>1760200kHz</ulfrequency>\r\n<dlfrequency>1855200kHz</dlfrequency>\r\n<arfcn></arfcn>\r\n<bsic></bsic>\r\n<rxlev></rxlev>\r\n</response>\r\n";

    const MONITORING_STATUS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<response>\r\n<ConnectionStatus>901</ConnectionStatus>\r\n<WifiConnectionStatus></WifiConnectionStatus>\r\n<SignalStrength></SignalStrength>\r\n<SignalIcon>5</SignalIcon>\r\n<CurrentNetworkType>19</CurrentNetworkType>\r\n<CurrentServiceDomain>3</CurrentServiceDomain>\r\n<RoamingStatus>0</RoamingStatus>\r\n<BatteryStatus></BatteryStatus>\r\n<BatteryLevel></BatteryLevel>\r\n<BatteryPercent></BatteryPercent>\r\n<simlockStatus>0</simlockStatus>\r\n<PrimaryDns>83.149.22.14</PrimaryDns>\r\n<SecondaryDns>83.149.19.155</SecondaryDns>\r\n<wififrequence>0</wififrequence>\r\n<flymode>0</flymode>\r\n<PrimaryIPv6Dns></PrimaryIPv6Dns>\r\n<SecondaryIPv6Dns></SecondaryIPv6Dns>\r\n<CurrentWifiUser></CurrentWifiUser>\r\n<TotalWifiUser></TotalWifiUser>\r\n<currenttotalwifiuser>0</currenttotalwifiuser>\r\n<ServiceStatus>2</ServiceStatus>\r\n<SimStatus>1</SimStatus>\r\n<WifiStatus></WifiStatus>\r\n<CurrentNetworkTypeEx>101</CurrentNetworkTypeEx>\r\n<maxsignal>5</maxsignal>\r\n<wifiindooronly>0</wifiindooronly>\r\n<classify>hilink</classify>\r\n<usbup>0</usbup>\r\n<wifiswitchstatus>0</wifiswitchstatus>\r\n<WifiStatusExCustom>0</WifiStatusExCustom>\r\n<hvdcp_online>0</hvdcp_online>\r\n<WanIPAddress>10.152.34.201</WanIPAddress>\r\n</response>\r\n";

    const CURRENT_PLMN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<response>\r\n<State>0</State>\r\n<FullName>MegaFon RUS</FullName>\r\n<ShortName>MegaFon</ShortName>\r\n<Numeric>25002</Numeric>\r\n<Rat>7</Rat>\r\n<Spn></Spn>\r\n</response>\r\n";

    const NET_MODE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<response>\r\n<NetworkMode>00</NetworkMode>\r\n<NetworkBand>3FFFFFFF</NetworkBand>\r\n<LTEBand>7FFFFFFFFFFFFFFF</LTEBand>\r\n</response>\r\n";

    const ERROR_CSRF: &str =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<error>\r\n<code>125002</code>\r\n<message></message>\r\n</error>\r\n";

    #[test]
    fn reads_the_session_and_token() {
        let info: SesTokInfo = parse_response(SES_TOK_INFO).unwrap();
        assert!(info.ses_info.unwrap().starts_with("SessionID=Xm0ry"));
        assert_eq!(info.tok_info.unwrap(), "L5f2c3T0BvThVFsQAzmhR4SDeDtVBcK7");
    }

    #[test]
    fn reads_lte_signal_with_escaped_rssi() {
        let signal: Signal = parse_response(SIGNAL_LTE).unwrap();
        assert_eq!(signal.rsrp.as_deref(), Some("-74dBm"));
        assert_eq!(signal.rsrq.as_deref(), Some("-7dB"));
        assert_eq!(signal.rssi.as_deref(), Some(">=-51dBm"));
        assert_eq!(signal.sinr.as_deref(), Some("12dB"));
        assert_eq!(signal.mode.as_deref(), Some("7"));
        assert!(signal.rscp.unwrap_or_default().is_empty());
    }

    #[test]
    fn reads_monitoring_status() {
        let status: MonitoringStatus = parse_response(MONITORING_STATUS).unwrap();
        assert_eq!(status.connection_status.as_deref(), Some("901"));
        assert_eq!(status.signal_icon.as_deref(), Some("5"));
        assert_eq!(status.current_network_type_ex.as_deref(), Some("101"));
        assert_eq!(status.wan_ip_address.as_deref(), Some("10.152.34.201"));
    }

    #[test]
    fn reads_plmn_and_net_mode() {
        let plmn: CurrentPlmn = parse_response(CURRENT_PLMN).unwrap();
        assert_eq!(plmn.full_name.as_deref(), Some("MegaFon RUS"));
        assert_eq!(plmn.rat.as_deref(), Some("7"));
        let mode: NetModeSettings = parse_response(NET_MODE).unwrap();
        assert_eq!(mode.network_mode.as_deref(), Some("00"));
        assert_eq!(mode.lte_band.as_deref(), Some("7FFFFFFFFFFFFFFF"));
    }

    #[test]
    fn an_error_document_gives_the_firmware_code() {
        assert_eq!(
            parse_response::<Signal>(ERROR_CSRF),
            Err(ReplyError::Firmware {
                code: "125002".to_owned(),
                message: String::new()
            })
        );
        assert!(matches!(
            parse_ok(ERROR_CSRF),
            Err(ReplyError::Firmware { code, .. }) if code == "125002"
        ));
    }

    #[test]
    fn write_replies_must_say_ok() {
        let ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<response>OK</response>\r\n";
        assert_eq!(parse_ok(ok), Ok(()));
        assert!(matches!(
            parse_ok("<response>busy</response>"),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_ok("<html><body>login</body></html>"),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(parse_ok(""), Err(ReplyError::Malformed(_))));
        assert!(matches!(
            parse_response::<Signal>("not xml <"),
            Err(ReplyError::Malformed(_))
        ));
    }

    #[test]
    fn request_bodies_keep_field_order_and_escape() {
        assert_eq!(
            request_body(&[("NetworkMode", "03"), ("NetworkBand", "3FFFFFFF")]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><request><NetworkMode>03</NetworkMode>\
             <NetworkBand>3FFFFFFF</NetworkBand></request>"
        );
        assert!(request_body(&[("a", "<&>")]).contains("<a>&lt;&amp;&gt;</a>"));
    }
}
