//! A port as the farm dialect shows it: the `add`/`edit` reply and the `modem/list` item.

use chrono_tz::Tz;
use kordon_model::enums::ReconnectType;
use kordon_model::rutime;
use kordon_store::ports::Port;
use serde::Serialize;
use serde_json::{json, Value};

/// The per-port rotation link (extension): opens without a header, valid for this port only.
pub fn reconnect_link(port: &Port) -> String {
    format!(
        "/api/devices/modem/reconnect?token={}&id={}",
        port.link_token, port.id
    )
}

/// The reply of `modem/add` and `modem/edit/{id}`: the document's fields plus `reconnect_link`.
pub fn settings(port: &Port) -> Value {
    json!({
        "id": port.id,
        "name": port.name,
        "type": port.model_id,
        "active": port.active,
        "is_osfp": port.is_osfp,
        "ifname": port.ifname,
        "osfp": port.osfp_id,
        "reconnect_interval": port.reconnect_interval,
        "reconnect_type": port.reconnect_type,
        "reconnect_min": port.reconnect_min,
        "users": port.users,
        "net_mode": port.net_mode,
        "monitoring_interval": port.monitoring_interval,
        "mtu": port.mtu,
        "reconnect_link": reconnect_link(port),
    })
}

/// The port's fingerprint as `modem/list` nests it.
#[derive(Serialize)]
struct OsfpRef<'a> {
    id: i64,
    name: Option<&'a str>,
    /// The OS name (the document's naming).
    modem: Option<&'a str>,
}

/// One item of `modem/list`: every field of the document's sample, in its order and with its
/// spelling (`reconect_time`), plus `users` and `mtu`. Serialized straight from the port (no
/// intermediate JSON tree): the list is not paged and a farm has a thousand ports.
#[derive(Serialize)]
pub struct ListItem<'a> {
    id: i64,
    name: &'a str,
    active: bool,
    ifname: &'a str,
    ip: Option<&'a str>,
    gateway: Option<&'a str>,
    conn_dev: bool,
    is_osfp: bool,
    conn_net: bool,
    #[serde(rename = "type")]
    model_id: i64,
    conn_inet: bool,
    reconnect: bool,
    reconnect_type: &'a str,
    reconnect_interval: i64,
    reconnect_min: i64,
    reconnect_start: Option<String>,
    reconnect_end: Option<String>,
    reconnect_end_hum: Option<String>,
    signal: Option<i64>,
    rsrq: Option<&'a str>,
    rsrp: Option<&'a str>,
    rssi: Option<&'a str>,
    sinr: Option<&'a str>,
    osfp: Option<OsfpRef<'a>>,
    operator: Option<&'a str>,
    network_type: Option<&'a str>,
    reconect_time: Option<i64>,
    external_ip: Option<&'a str>,
    net_mode: &'a str,
    monitoring_interval: i64,
    users: &'a [i64],
    mtu: i64,
}

/// Seconds until the next timed rotation: none for link-only ports or when nothing is
/// scheduled, 0 once it is due.
fn seconds_to_rotation(port: &Port, now: i64) -> Option<i64> {
    let timed = ReconnectType::parse(&port.reconnect_type).is_some_and(ReconnectType::is_timed);
    port.next_reconnect_at
        .filter(|_| timed)
        .map(|at| (at - now).max(0))
}

/// A `modem/list` item; dates in the reader's zone `tz`.
pub fn list_item(port: &Port, tz: Tz, now: i64) -> ListItem<'_> {
    ListItem {
        id: port.id,
        name: &port.name,
        active: port.active,
        ifname: &port.ifname,
        ip: port.ip.as_deref(),
        gateway: port.gateway.as_deref(),
        conn_dev: port.conn_dev,
        is_osfp: port.is_osfp,
        conn_net: port.conn_net,
        model_id: port.model_id,
        conn_inet: port.conn_inet,
        reconnect: port.reconnecting,
        reconnect_type: &port.reconnect_type,
        reconnect_interval: port.reconnect_interval,
        reconnect_min: port.reconnect_min,
        reconnect_start: port.reconnect_start.map(|ts| rutime::format(ts, tz)),
        reconnect_end: port.reconnect_end.map(|ts| rutime::format(ts, tz)),
        reconnect_end_hum: port.reconnect_end.map(|ts| rutime::humanize_ago(now - ts)),
        signal: port.signal,
        rsrq: port.rsrq.as_deref(),
        rsrp: port.rsrp.as_deref(),
        rssi: port.rssi.as_deref(),
        sinr: port.sinr.as_deref(),
        osfp: port.osfp_id.map(|id| OsfpRef {
            id,
            name: port.osfp_name.as_deref(),
            modem: port.osfp_os.as_deref(),
        }),
        operator: port.operator.as_deref(),
        network_type: port.network_type.as_deref(),
        reconect_time: seconds_to_rotation(port, now),
        external_ip: port.external_ip.as_deref(),
        net_mode: &port.net_mode,
        monitoring_interval: port.monitoring_interval,
        users: &port.users,
        mtu: port.mtu,
    }
}
