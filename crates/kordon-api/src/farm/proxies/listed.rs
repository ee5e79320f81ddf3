//! `proxy/list` items, shaped as the document's sample and serialized straight from the
//! store's structs: building a `serde_json::Value` per item first (a map and a string per
//! field) cost about as much as reading the page.
//!
//! Fields are declared in alphabetical order, the order the `Value` maps wrote them in, so the
//! reply bytes did not change.

use chrono_tz::Tz;
use kordon_model::enums::ProxyAuth;
use kordon_model::rutime;
use kordon_store::proxies::{AllowedList, AuthIp, ListedProxy, ModemBrief};
use serde::Serialize;
use serde_json::Value;

/// The `proxy/list` reply.
#[derive(Serialize)]
pub(super) struct Reply<'a> {
    pub data: Vec<Item<'a>>,
    pub meta: Value,
}

#[derive(Serialize)]
pub(super) struct Item<'a> {
    active: bool,
    allow: &'a [AllowedList],
    auth: &'a str,
    auth_params: AuthParams<'a>,
    available: bool,
    date_create: String,
    date_update: String,
    id: i64,
    is_allow: bool,
    is_local: bool,
    is_ports: bool,
    maxconn: i64,
    modem: Option<Modem<'a>>,
    port: i64,
    ports: &'a [i64],
    targetport: &'a [i64],
    #[serde(rename = "type")]
    proxy_type: &'a str,
}

/// The login of a `strong` profile (`null` if it vanished), the client IPs of an `iponly` one.
#[derive(Serialize)]
#[serde(untagged)]
enum AuthParams<'a> {
    Login(Option<Login<'a>>),
    Ips(&'a [AuthIp]),
}

#[derive(Serialize)]
struct Login<'a> {
    bitrate_in: i64,
    bitrate_out: i64,
    id: i64,
    login: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct Modem<'a> {
    active: bool,
    conn_dev: bool,
    conn_net: bool,
    gateway: Option<&'a str>,
    id: i64,
    ifname: &'a str,
    ip: Option<&'a str>,
    name: &'a str,
    network_type: Option<&'a str>,
    operator: Option<&'a str>,
    reconnect: bool,
    reconnect_interval: i64,
    reconnect_min: i64,
    reconnect_type: &'a str,
}

impl<'a> Modem<'a> {
    fn new(m: &'a ModemBrief) -> Self {
        Modem {
            active: m.active,
            conn_dev: m.conn_dev,
            conn_net: m.conn_net,
            gateway: m.gateway.as_deref(),
            id: m.id,
            ifname: &m.ifname,
            ip: m.ip.as_deref(),
            name: &m.name,
            network_type: m.network_type.as_deref(),
            operator: m.operator.as_deref(),
            reconnect: m.reconnecting,
            reconnect_interval: m.reconnect_interval,
            reconnect_min: m.reconnect_min,
            reconnect_type: &m.reconnect_type,
        }
    }
}

impl<'a> Item<'a> {
    pub(super) fn new(item: &'a ListedProxy, tz: Tz) -> Self {
        let row = &item.row;
        let auth_params = if row.auth == ProxyAuth::Strong.as_str() {
            AuthParams::Login(item.login.as_ref().map(|l| Login {
                bitrate_in: l.bitrate_in,
                bitrate_out: l.bitrate_out,
                id: l.id,
                login: &l.login,
                password: &l.password,
            }))
        } else {
            AuthParams::Ips(&item.ips)
        };
        Item {
            active: row.active,
            allow: &item.allow,
            auth: &row.auth,
            auth_params,
            available: row.active && item.modem.as_ref().is_some_and(|m| m.active),
            date_create: rutime::format(row.date_create, tz),
            date_update: rutime::format(row.date_update, tz),
            id: row.id,
            is_allow: row.is_allow,
            is_local: row.is_local,
            is_ports: row.is_ports,
            maxconn: row.maxconn,
            modem: item.modem.as_ref().map(Modem::new),
            port: row.listen_port,
            ports: &item.target_ports,
            targetport: &item.target_ports,
            proxy_type: &row.proxy_type,
        }
    }
}
