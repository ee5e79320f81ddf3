//! Ports: one USB modem each. The API writes their settings and delegations; the monitoring
//! and rotation services write their live state ([`state`]).
//!
//! Every read and batch write takes a [`Scope`]: a non-superuser reaches only the ports
//! delegated to them (`port_users`), and a port outside the scope is reported exactly like a
//! missing one.

mod row;
mod state;

pub use row::Port;
pub use state::PortState;

use std::collections::HashSet;

use kordon_model::enums::{NetMode, ReconnectType};
use kordon_model::filter::{Condition, FilterKind, FilterValue};
use kordon_model::FieldErrors;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::json_rows;
use crate::listing::{self, Column};
use crate::users::new_key;
use crate::{now, Change, Result, Scope, Store, StoreError};

/// A port's settings as the API writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFields {
    pub name: String,
    pub active: bool,
    pub model_id: i64,
    pub net_mode: NetMode,
    pub monitoring_interval: i64,
    pub is_osfp: bool,
    pub osfp_id: Option<i64>,
    pub ifname: String,
    pub mtu: i64,
    pub reconnect_type: ReconnectType,
    pub reconnect_interval: i64,
    pub reconnect_min: i64,
    /// The complete delegation list; `None` keeps the current one (edits).
    pub users: Option<Vec<i64>>,
}

/// What a port's settings refer to, as far as the request could be read (`None`: absent or
/// unreadable, so not checked).
#[derive(Debug, Clone, Copy, Default)]
pub struct PortRefs<'a> {
    pub model_id: Option<i64>,
    pub osfp_id: Option<i64>,
    pub users: Option<&'a [i64]>,
    pub ifname: Option<&'a str>,
}

/// Filter keys of `modem/list` and the columns they compare.
pub const PORT_FILTERS: &[Column] = &[
    Column::new("active", FilterKind::Bool, "p.active"),
    Column::new("reconnect_type", FilterKind::Text, "p.reconnect_type"),
    Column::new("conn_dev", FilterKind::Bool, "p.conn_dev"),
    Column::new("conn_net", FilterKind::Bool, "p.conn_net"),
    Column::new("operator__id", FilterKind::Int, "p.operator_id"),
    Column::new("network_type__id", FilterKind::Int, "p.network_type_id"),
    Column::new("name__icontains", FilterKind::TextIContains, "p.name"),
    Column::new("ifname", FilterKind::Text, "p.ifname"),
];

const NAME_ICONTAINS: &str = "name__icontains";

pub(crate) const MSG_IFNAME_TAKEN: &str = "This interface is already used by another port.";

/// Appends ` AND <port visible to scope>` for a query whose port id is `port_id_sql`. Other
/// repositories use it for objects that belong to ports (proxies, IP history).
pub fn push_port_scope(query: &mut QueryBuilder<'_, Sqlite>, scope: Scope, port_id_sql: &str) {
    if let Scope::User(user_id) = scope {
        query.push(format!(
            " AND {port_id_sql} IN (SELECT port_id FROM port_users WHERE user_id = "
        ));
        query.push_bind(user_id);
        query.push(")");
    }
}

/// A list of ids as a JSON array, for `IN (SELECT value FROM json_each(?))`: one bound
/// parameter however many ids there are.
pub(crate) fn json_ids(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

/// The unique index on `ports.ifname` is the last word on interface uniqueness (two requests
/// can pass the early check together); report its violation like the early check does.
fn ifname_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db)
            if db.is_unique_violation() && db.message().contains("ports.ifname") =>
        {
            StoreError::conflict("ifname", MSG_IFNAME_TAKEN)
        }
        _ => StoreError::Db(error),
    }
}

/// Ids in `wanted` (request order, repeats dropped) and the first of them `found` lacks.
fn first_missing(wanted: &[i64], found: &HashSet<i64>) -> Option<i64> {
    wanted.iter().copied().find(|id| !found.contains(id))
}

fn dedup(ids: &[i64]) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

impl Store {
    /// One port, or `NotFound` when it does not exist or is outside `scope`.
    pub async fn port(&self, scope: Scope, id: i64) -> Result<Port> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT ");
        row::push_object(&mut query, scope);
        query.push(row::FROM);
        query.push(" AND p.id = ");
        query.push_bind(id);
        push_port_scope(&mut query, scope, "p.id");
        let encoded: Option<String> = query
            .build_query_scalar()
            .fetch_optional(self.pool())
            .await?;
        let encoded = encoded.ok_or(StoreError::NotFound { what: "port", id })?;
        json_rows::decode(&encoded)
    }

    /// The ports visible to `scope` matching checked `modem/list` conditions, by id, with
    /// their delegations: one query returning one JSON array whatever the count.
    pub async fn list_ports(&self, scope: Scope, conditions: &[Condition]) -> Result<Vec<Port>> {
        // SQLite's lower() and LIKE fold ASCII only, and port names are often Cyrillic
        // ("Порт-10"): a non-ASCII name lookup is matched here with Unicode case folding.
        let mut needles = Vec::new();
        let mut sql_conditions = Vec::new();
        for condition in conditions {
            match (condition.key, &condition.value) {
                (NAME_ICONTAINS, FilterValue::Text(text)) if !text.is_ascii() => {
                    needles.push(text.to_lowercase())
                }
                _ => sql_conditions.push(condition.clone()),
            }
        }
        // The aggregate's ORDER BY, since the order rows reach an aggregate is unspecified.
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT json_group_array(");
        row::push_object(&mut query, scope);
        query.push(" ORDER BY p.id)");
        query.push(row::FROM);
        push_port_scope(&mut query, scope, "p.id");
        listing::push_conditions(&mut query, &sql_conditions, PORT_FILTERS);
        let encoded: String = query.build_query_scalar().fetch_one(self.pool()).await?;
        let mut ports: Vec<Port> = json_rows::decode(&encoded)?;
        if !needles.is_empty() {
            ports.retain(|port| {
                let name = port.name.to_lowercase();
                needles.iter().all(|needle| name.contains(needle.as_str()))
            });
        }
        Ok(ports)
    }

    /// Problems with what a port's settings refer to, each under its API field: an unknown
    /// modem model (`type`), fingerprint (`osfp`) or user (`users`), an interface another port
    /// uses (`ifname`). `port_id` is the port being edited (its own interface is no conflict).
    pub async fn port_reference_errors(
        &self,
        refs: &PortRefs<'_>,
        port_id: Option<i64>,
    ) -> Result<FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Some(model_id) = refs.model_id {
            if !self.modem_model_exists(model_id).await? {
                errors.add("type", invalid_pk(model_id));
            }
        }
        if let Some(osfp_id) = refs.osfp_id {
            if self.os_fingerprint(osfp_id).await?.is_none() {
                errors.add("osfp", invalid_pk(osfp_id));
            }
        }
        if let Some(users) = refs.users {
            let found: HashSet<i64> = sqlx::query_scalar(
                "SELECT id FROM users WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(json_ids(users))
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .collect();
            if let Some(missing) = first_missing(users, &found) {
                errors.add("users", invalid_pk(missing));
            }
        }
        if let Some(ifname) = refs.ifname {
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM ports WHERE ifname = ? AND id != ?")
                    .bind(ifname)
                    .bind(port_id.unwrap_or(0))
                    .fetch_optional(self.pool())
                    .await?;
            if taken.is_some() {
                errors.add("ifname", MSG_IFNAME_TAKEN);
            }
        }
        Ok(errors)
    }

    /// Creates a port with a fresh rotation-link token.
    pub async fn create_port(&self, fields: &PortFields) -> Result<Port> {
        let time = now();
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ports (name, active, model_id, net_mode, monitoring_interval, is_osfp, \
             osfp_id, ifname, mtu, reconnect_type, reconnect_interval, reconnect_min, \
             link_token, date_create, date_update) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&fields.name)
        .bind(fields.active)
        .bind(fields.model_id)
        .bind(fields.net_mode.as_str())
        .bind(fields.monitoring_interval)
        .bind(fields.is_osfp)
        .bind(fields.osfp_id)
        .bind(&fields.ifname)
        .bind(fields.mtu)
        .bind(fields.reconnect_type.as_str())
        .bind(fields.reconnect_interval)
        .bind(fields.reconnect_min)
        .bind(new_key())
        .bind(time)
        .bind(time)
        .fetch_one(&mut *tx)
        .await
        .map_err(ifname_conflict)?;
        if let Some(users) = &fields.users {
            replace_port_users(&mut tx, id, users).await?;
        }
        tx.commit().await?;
        self.emit(Change::Ports);
        self.port(Scope::All, id).await
    }

    /// Saves all settings of a port visible to `scope`. A new interface means a different
    /// modem, so the old one's live state is dropped; a port that stops rotating on a timer
    /// loses its scheduled rotation.
    pub async fn update_port(&self, scope: Scope, id: i64, fields: &PortFields) -> Result<Port> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let current: Option<String> = {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT ifname FROM ports p WHERE p.id = ");
            query.push_bind(id);
            push_port_scope(&mut query, scope, "p.id");
            query.build_query_scalar().fetch_optional(&mut *tx).await?
        };
        let current_ifname = current.ok_or(StoreError::NotFound { what: "port", id })?;
        sqlx::query(
            "UPDATE ports SET name = ?, active = ?, model_id = ?, net_mode = ?, \
             monitoring_interval = ?, is_osfp = ?, osfp_id = ?, ifname = ?, mtu = ?, \
             reconnect_type = ?, reconnect_interval = ?, reconnect_min = ?, date_update = ?, \
             next_reconnect_at = CASE WHEN ? THEN next_reconnect_at END \
             WHERE id = ?",
        )
        .bind(&fields.name)
        .bind(fields.active)
        .bind(fields.model_id)
        .bind(fields.net_mode.as_str())
        .bind(fields.monitoring_interval)
        .bind(fields.is_osfp)
        .bind(fields.osfp_id)
        .bind(&fields.ifname)
        .bind(fields.mtu)
        .bind(fields.reconnect_type.as_str())
        .bind(fields.reconnect_interval)
        .bind(fields.reconnect_min)
        .bind(now())
        .bind(fields.reconnect_type.is_timed())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(ifname_conflict)?;
        if current_ifname != fields.ifname {
            state::clear(&mut tx, id).await?;
        }
        if let Some(users) = &fields.users {
            replace_port_users(&mut tx, id, users).await?;
        }
        tx.commit().await?;
        self.emit(Change::Ports);
        self.port(scope, id).await
    }

    /// `NotFound` for the first of `ids` (request order) that is missing or outside `scope`.
    pub async fn check_ports_visible(&self, scope: Scope, ids: &[i64]) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        check_visible(&mut conn, scope, ids).await
    }

    /// Switches ports on or off; every id must be visible or nothing changes.
    pub async fn set_ports_active(&self, scope: Scope, ids: &[i64], active: bool) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        check_visible(&mut tx, scope, ids).await?;
        sqlx::query(
            "UPDATE ports SET active = ?, date_update = ? \
             WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(active)
        .bind(now())
        .bind(json_ids(ids))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.emit(Change::Ports);
        Ok(())
    }

    /// Sets the fingerprint switch of ports, and their fingerprint when `osfp_id` is given
    /// (otherwise each keeps its own); every id must be visible or nothing changes.
    pub async fn set_ports_osfp(
        &self,
        scope: Scope,
        ids: &[i64],
        osfp_id: Option<i64>,
        is_osfp: bool,
    ) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        check_visible(&mut tx, scope, ids).await?;
        sqlx::query(
            "UPDATE ports SET is_osfp = ?, osfp_id = coalesce(?, osfp_id), date_update = ? \
             WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(is_osfp)
        .bind(osfp_id)
        .bind(now())
        .bind(json_ids(ids))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.emit(Change::Ports);
        Ok(())
    }

    /// Ids among `ids` (visible to `scope`) whose port has no fingerprint set.
    pub async fn ports_without_osfp(&self, scope: Scope, ids: &[i64]) -> Result<Vec<i64>> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT p.id FROM ports p WHERE p.osfp_id IS NULL \
             AND p.id IN (SELECT value FROM json_each(",
        );
        query.push_bind(json_ids(ids));
        query.push("))");
        push_port_scope(&mut query, scope, "p.id");
        query.push(" ORDER BY p.id");
        Ok(query.build_query_scalar().fetch_all(self.pool()).await?)
    }

    /// Whether `token` is the rotation-link token of port `id`.
    pub async fn is_port_link_token(&self, id: i64, token: &str) -> Result<bool> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT id FROM ports WHERE id = ? AND link_token = ?")
                .bind(id)
                .bind(token)
                .fetch_optional(self.pool())
                .await?
                .is_some(),
        )
    }

    /// Interface names taken by ports (all of them, whoever they are delegated to).
    pub async fn port_ifnames(&self) -> Result<HashSet<String>> {
        Ok(sqlx::query_scalar("SELECT ifname FROM ports")
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .collect())
    }
}

/// DRF's wording for a reference to a missing object.
fn invalid_pk(id: i64) -> String {
    format!("Invalid pk \"{id}\" - object does not exist.")
}

async fn check_visible(conn: &mut SqliteConnection, scope: Scope, ids: &[i64]) -> Result<()> {
    let wanted = dedup(ids);
    if wanted.is_empty() {
        return Ok(());
    }
    let mut query: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT p.id FROM ports p WHERE p.id IN (SELECT value FROM json_each(");
    query.push_bind(json_ids(&wanted));
    query.push("))");
    push_port_scope(&mut query, scope, "p.id");
    let found: HashSet<i64> = query
        .build_query_scalar()
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    match first_missing(&wanted, &found) {
        Some(id) => Err(StoreError::NotFound { what: "port", id }),
        None => Ok(()),
    }
}

async fn replace_port_users(
    conn: &mut SqliteConnection,
    port_id: i64,
    users: &[i64],
) -> Result<()> {
    sqlx::query("DELETE FROM port_users WHERE port_id = ?")
        .bind(port_id)
        .execute(&mut *conn)
        .await?;
    // Users deleted since the API checked them are skipped rather than failing the write.
    sqlx::query(
        "INSERT OR IGNORE INTO port_users (port_id, user_id) \
         SELECT ?, u.id FROM users u WHERE u.id IN (SELECT value FROM json_each(?))",
    )
    .bind(port_id)
    .bind(json_ids(users))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_missing_follows_request_order() {
        let found: HashSet<i64> = [2, 3].into_iter().collect();
        assert_eq!(first_missing(&[3, 9, 2, 7], &found), Some(9));
        assert_eq!(first_missing(&[2, 3], &found), None);
        assert_eq!(dedup(&[4, 4, 1, 4]), vec![4, 1]);
        assert_eq!(json_ids(&[1, 2]), "[1,2]");
    }
}
