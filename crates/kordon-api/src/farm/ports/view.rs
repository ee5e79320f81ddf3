//! A port as the farm dialect shows it: the `add`/`edit` reply and the `modem/list` item.

use chrono_tz::Tz;
use kordon_model::rutime;
use kordon_store::ports::Port;
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

fn osfp(port: &Port) -> Value {
    match port.osfp_id {
        Some(id) => json!({
            "id": id,
            "name": port.osfp_name,
            "modem": port.osfp_os,
        }),
        None => Value::Null,
    }
}

/// Seconds until the next timed rotation: none for link-only ports or when nothing is
/// scheduled, 0 once it is due.
fn seconds_to_rotation(port: &Port, now: i64) -> Option<i64> {
    let timed = kordon_model::enums::ReconnectType::parse(&port.reconnect_type)
        .is_some_and(|t| t.is_timed());
    port.next_reconnect_at
        .filter(|_| timed)
        .map(|at| (at - now).max(0))
}

/// One item of `modem/list`: every field of the document's sample (`reconect_time` spelled as
/// there), plus `users` and `mtu`. Dates are in the reader's zone.
pub fn list_item(port: &Port, tz: Tz, now: i64) -> Value {
    json!({
        "id": port.id,
        "name": port.name,
        "active": port.active,
        "ifname": port.ifname,
        "ip": port.ip,
        "gateway": port.gateway,
        "conn_dev": port.conn_dev,
        "is_osfp": port.is_osfp,
        "conn_net": port.conn_net,
        "type": port.model_id,
        "conn_inet": port.conn_inet,
        "reconnect": port.reconnecting,
        "reconnect_type": port.reconnect_type,
        "reconnect_interval": port.reconnect_interval,
        "reconnect_min": port.reconnect_min,
        "reconnect_start": port.reconnect_start.map(|ts| rutime::format(ts, tz)),
        "reconnect_end": port.reconnect_end.map(|ts| rutime::format(ts, tz)),
        "reconnect_end_hum": port.reconnect_end.map(|ts| rutime::humanize_ago(now - ts)),
        "signal": port.signal,
        "rsrq": port.rsrq,
        "rsrp": port.rsrp,
        "rssi": port.rssi,
        "sinr": port.sinr,
        "osfp": osfp(port),
        "operator": port.operator,
        "network_type": port.network_type,
        "reconect_time": seconds_to_rotation(port, now),
        "external_ip": port.external_ip,
        "net_mode": port.net_mode,
        "monitoring_interval": port.monitoring_interval,
        "users": port.users,
        "mtu": port.mtu,
    })
}
