//! Reading ports: the [`Port`] struct and the query that loads it.
//!
//! Each port arrives as one JSON object built by SQLite (`json_object`) rather than as ~40
//! columns: sqlx copies every column value separately (an allocation each), and for an unpaged
//! list of a thousand ports that copying, not SQLite, was most of the time (measured: about
//! 10 ms for 1,000 rows as columns, under half of that as JSON objects decoded with serde).
//! A list goes further and arrives as one JSON array, its delegations nested, since sqlx also
//! hands each row over from its worker thread on its own.

use std::sync::LazyLock;

use serde::Deserialize;
use sqlx::{QueryBuilder, Sqlite};

use crate::json_rows::flag;
use crate::Scope;

/// A port with its settings, live state, the names of what it refers to, and the users it is
/// delegated to (as far as the reading scope may see them).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Port {
    pub id: i64,
    pub name: String,
    #[serde(deserialize_with = "flag")]
    pub active: bool,
    pub model_id: i64,
    pub net_mode: String,
    pub monitoring_interval: i64,
    #[serde(deserialize_with = "flag")]
    pub is_osfp: bool,
    pub osfp_id: Option<i64>,
    pub ifname: String,
    pub mtu: i64,
    pub reconnect_type: String,
    pub reconnect_interval: i64,
    pub reconnect_min: i64,
    pub link_token: String,
    pub date_create: i64,
    pub date_update: i64,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    #[serde(deserialize_with = "flag")]
    pub conn_dev: bool,
    #[serde(deserialize_with = "flag")]
    pub conn_net: bool,
    #[serde(deserialize_with = "flag")]
    pub conn_inet: bool,
    #[serde(deserialize_with = "flag")]
    pub reconnecting: bool,
    pub reconnect_start: Option<i64>,
    pub reconnect_end: Option<i64>,
    pub signal: Option<i64>,
    pub rsrq: Option<String>,
    pub rsrp: Option<String>,
    pub rssi: Option<String>,
    pub sinr: Option<String>,
    pub operator_id: Option<i64>,
    pub network_type_id: Option<i64>,
    pub external_ip: Option<String>,
    pub next_reconnect_at: Option<i64>,
    /// The fingerprint's version name and OS (`osfp.name`, `osfp.modem` in the API).
    pub osfp_name: Option<String>,
    pub osfp_os: Option<String>,
    pub operator: Option<String>,
    pub network_type: Option<String>,
    /// Delegated users visible to the reading scope: all of them for [`crate::Scope::All`],
    /// only the reader for [`crate::Scope::User`] (co-delegates are other users' business).
    pub users: Vec<i64>,
}

impl Port {
    /// The live fields of the port, as the monitoring and rotation services write them.
    pub fn state(&self) -> super::PortState {
        super::PortState {
            ip: self.ip.clone(),
            gateway: self.gateway.clone(),
            conn_dev: self.conn_dev,
            conn_net: self.conn_net,
            conn_inet: self.conn_inet,
            reconnecting: self.reconnecting,
            reconnect_start: self.reconnect_start,
            reconnect_end: self.reconnect_end,
            signal: self.signal,
            rsrq: self.rsrq.clone(),
            rsrp: self.rsrp.clone(),
            rssi: self.rssi.clone(),
            sinr: self.sinr.clone(),
            operator_id: self.operator_id,
            network_type_id: self.network_type_id,
            external_ip: self.external_ip.clone(),
            next_reconnect_at: self.next_reconnect_at,
        }
    }
}

/// Each [`Port`] field but `users` ([`push_object`]) and the SQL expression it is read from.
const FIELDS: &[(&str, &str)] = &[
    ("id", "p.id"),
    ("name", "p.name"),
    ("active", "p.active"),
    ("model_id", "p.model_id"),
    ("net_mode", "p.net_mode"),
    ("monitoring_interval", "p.monitoring_interval"),
    ("is_osfp", "p.is_osfp"),
    ("osfp_id", "p.osfp_id"),
    ("ifname", "p.ifname"),
    ("mtu", "p.mtu"),
    ("reconnect_type", "p.reconnect_type"),
    ("reconnect_interval", "p.reconnect_interval"),
    ("reconnect_min", "p.reconnect_min"),
    ("link_token", "p.link_token"),
    ("date_create", "p.date_create"),
    ("date_update", "p.date_update"),
    ("ip", "p.ip"),
    ("gateway", "p.gateway"),
    ("conn_dev", "p.conn_dev"),
    ("conn_net", "p.conn_net"),
    ("conn_inet", "p.conn_inet"),
    ("reconnecting", "p.reconnecting"),
    ("reconnect_start", "p.reconnect_start"),
    ("reconnect_end", "p.reconnect_end"),
    ("signal", "p.signal"),
    ("rsrq", "p.rsrq"),
    ("rsrp", "p.rsrp"),
    ("rssi", "p.rssi"),
    ("sinr", "p.sinr"),
    ("operator_id", "p.operator_id"),
    ("network_type_id", "p.network_type_id"),
    ("external_ip", "p.external_ip"),
    ("next_reconnect_at", "p.next_reconnect_at"),
    ("osfp_name", "f.name"),
    ("osfp_os", "f.os"),
    ("operator", "o.name"),
    ("network_type", "n.name"),
];

/// `json_object(<every Port field but users>` for the port `p`, left open for `users`.
static OBJECT: LazyLock<String> = LazyLock::new(|| {
    let pairs: Vec<String> = FIELDS
        .iter()
        .map(|(field, sql)| format!("'{field}', {sql}"))
        .collect();
    format!("json_object({}", pairs.join(", "))
});

/// What [`push_object`] refers to, ready for ` AND …` conditions.
pub(super) const FROM: &str = " FROM ports p \
     LEFT JOIN os_fingerprints f ON f.id = p.osfp_id \
     LEFT JOIN operators o ON o.id = p.operator_id \
     LEFT JOIN network_types n ON n.id = p.network_type_id \
     WHERE 1=1";

/// Appends one [`Port`] of the port `p` as a JSON object, with the users it is delegated to
/// as far as `scope` may see them; the query goes on with [`FROM`]. The users are nested here
/// rather than read as a row per delegation, for the reason in the module comment.
pub(super) fn push_object(query: &mut QueryBuilder<'_, Sqlite>, scope: Scope) {
    query.push(OBJECT.as_str());
    // JSONB, because JSON text would lose its subtype crossing the subquery and nest as a
    // string; a JSONB blob is recognized as JSON wherever it goes.
    query.push(
        ", 'users', (SELECT jsonb_group_array(u.user_id ORDER BY u.user_id) \
         FROM port_users u WHERE u.port_id = p.id",
    );
    if let Scope::User(user_id) = scope {
        query.push(" AND u.user_id = ");
        query.push_bind(user_id);
    }
    query.push("))");
}

#[cfg(test)]
mod tests {
    use kordon_model::enums::{NetMode, ReconnectType};

    use crate::ports::{PortFields, PortState};
    use crate::{Scope, Store};

    /// Every field makes the round trip through `json_object` (a field missing from `FIELDS`
    /// would read back as `None`).
    #[tokio::test]
    async fn every_field_round_trips() {
        let store = Store::open_url("sqlite::memory:").await.unwrap();
        let fields = PortFields {
            name: "Порт-10".into(),
            active: true,
            model_id: 2,
            net_mode: NetMode::Umts,
            monitoring_interval: 7,
            is_osfp: true,
            osfp_id: Some(3),
            ifname: "wwan0".into(),
            mtu: 1400,
            reconnect_type: ReconnectType::Time,
            reconnect_interval: 240,
            reconnect_min: 20,
            users: None,
        };
        let created = store.create_port(&fields).await.unwrap();
        let state = PortState {
            ip: Some("192.168.8.100".into()),
            gateway: Some("192.168.8.1".into()),
            conn_dev: true,
            conn_net: true,
            conn_inet: true,
            reconnecting: true,
            reconnect_start: Some(10),
            reconnect_end: Some(20),
            signal: Some(4),
            rsrq: Some("-7dB".into()),
            rsrp: Some("-74dBm".into()),
            rssi: Some(">=-51dBm".into()),
            sinr: Some("12dB".into()),
            operator_id: Some(store.operator_id("MTS RUS").await.unwrap()),
            network_type_id: Some(store.network_type_id("LTE").await.unwrap()),
            external_ip: Some("188.170.195.189".into()),
            next_reconnect_at: Some(30),
        };
        store.set_port_state(created.id, &state).await.unwrap();
        let port = store.port(Scope::All, created.id).await.unwrap();
        assert_eq!(
            (
                port.name.as_str(),
                port.active,
                port.model_id,
                port.net_mode.as_str()
            ),
            ("Порт-10", true, 2, "umts")
        );
        assert_eq!(
            (
                port.monitoring_interval,
                port.is_osfp,
                port.osfp_id,
                port.ifname.as_str()
            ),
            (7, true, Some(3), "wwan0")
        );
        assert_eq!(
            (
                port.mtu,
                port.reconnect_type.as_str(),
                port.reconnect_interval,
                port.reconnect_min
            ),
            (1400, "time", 240, 20)
        );
        assert_eq!(port.link_token, created.link_token);
        assert_eq!(port.link_token.len(), 40);
        assert!(port.date_create > 0 && port.date_update >= port.date_create);
        let read_state = port.state();
        assert_eq!(read_state, state);
        assert_eq!(
            (port.osfp_name.as_deref(), port.osfp_os.as_deref()),
            (Some("10"), Some("Windows"))
        );
        assert_eq!(
            (port.operator.as_deref(), port.network_type.as_deref()),
            (Some("MTS RUS"), Some("LTE"))
        );
    }
}
