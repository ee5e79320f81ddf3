//! A port's live state: what the monitoring service reads from the modem and the host, and
//! what the rotation service records about rotations.

use sqlx::SqliteConnection;

use crate::{Change, Result, Store, StoreError};

/// Everything the monitoring and rotation services know about a port right now. Written
/// whole: a `None` clears what was known before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortState {
    /// The modem's DHCP lease on the host side.
    pub ip: Option<String>,
    pub gateway: Option<String>,
    /// The interface exists and is up.
    pub conn_dev: bool,
    /// The modem is registered on the operator's network.
    pub conn_net: bool,
    /// Traffic reaches the internet through the modem.
    pub conn_inet: bool,
    /// A rotation is in progress.
    pub reconnecting: bool,
    pub reconnect_start: Option<i64>,
    pub reconnect_end: Option<i64>,
    /// Signal bars, 0 to 5.
    pub signal: Option<i64>,
    /// Radio figures as the modem reports them (`-7dB`, `-74dBm`, `>=-51dBm`, `12dB`).
    pub rsrq: Option<String>,
    pub rsrp: Option<String>,
    pub rssi: Option<String>,
    pub sinr: Option<String>,
    /// From [`Store::operator_id`] and [`Store::network_type_id`].
    pub operator_id: Option<i64>,
    pub network_type_id: Option<i64>,
    /// The public address the operator gave the modem.
    pub external_ip: Option<String>,
    /// When the next timed rotation is due (unix seconds).
    pub next_reconnect_at: Option<i64>,
}

/// The part of the state other planes act on (the proxy plane egresses through `ip`).
type Connection = (Option<String>, Option<String>, bool, bool, bool);

impl Store {
    /// Records a port's live state. Emits [`Change::Ports`] only when the connection (address,
    /// gateway, `conn_*`) changed: signal figures arrive every few seconds per port and are
    /// read straight from the store, so they need no snapshot rebuild.
    pub async fn set_port_state(&self, id: i64, state: &PortState) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let before: Option<Connection> = sqlx::query_as(
            "SELECT ip, gateway, conn_dev, conn_net, conn_inet FROM ports WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let before = before.ok_or(StoreError::NotFound { what: "port", id })?;
        sqlx::query(
            "UPDATE ports SET ip = ?, gateway = ?, conn_dev = ?, conn_net = ?, conn_inet = ?, \
             reconnecting = ?, reconnect_start = ?, reconnect_end = ?, signal = ?, rsrq = ?, \
             rsrp = ?, rssi = ?, sinr = ?, operator_id = ?, network_type_id = ?, \
             external_ip = ?, next_reconnect_at = ? WHERE id = ?",
        )
        .bind(&state.ip)
        .bind(&state.gateway)
        .bind(state.conn_dev)
        .bind(state.conn_net)
        .bind(state.conn_inet)
        .bind(state.reconnecting)
        .bind(state.reconnect_start)
        .bind(state.reconnect_end)
        .bind(state.signal)
        .bind(&state.rsrq)
        .bind(&state.rsrp)
        .bind(&state.rssi)
        .bind(&state.sinr)
        .bind(state.operator_id)
        .bind(state.network_type_id)
        .bind(&state.external_ip)
        .bind(state.next_reconnect_at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let after: Connection = (
            state.ip.clone(),
            state.gateway.clone(),
            state.conn_dev,
            state.conn_net,
            state.conn_inet,
        );
        if before != after {
            self.emit(Change::Ports);
        }
        Ok(())
    }
}

/// Forgets everything known about a port's modem (it was moved to another interface).
pub(super) async fn clear(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE ports SET ip = NULL, gateway = NULL, conn_dev = 0, conn_net = 0, conn_inet = 0, \
         reconnecting = 0, reconnect_start = NULL, reconnect_end = NULL, signal = NULL, \
         rsrq = NULL, rsrp = NULL, rssi = NULL, sinr = NULL, operator_id = NULL, \
         network_type_id = NULL, external_ip = NULL, next_reconnect_at = NULL WHERE id = ?",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
