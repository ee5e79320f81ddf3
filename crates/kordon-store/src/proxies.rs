//! Proxy profiles: one listener (`listen_port`) speaking http or socks through a port (modem),
//! authenticating clients by one login (`strong`) or by a list of client IPs (`iponly`),
//! optionally limited to site lists (`allow`) and target ports.
//!
//! Visibility follows delegation: a non-superuser sees the profiles of the ports delegated to
//! them (`port_users`) and nothing else. Saves check every reference inside one
//! `BEGIN IMMEDIATE` transaction, so no concurrent delete slips between the check and the write.

mod list;
mod owned;

use std::collections::BTreeSet;

use kordon_model::enums::{ProxyAuth, ProxyType};
use kordon_model::FieldErrors;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::json_rows::flag;
use crate::{now, Change, Scope, Store, StoreError};

pub use list::{
    proxy_filter_keys, AllowedList, AuthIp, ListedProxy, ModemBrief, AUTH_IP_FILTER, PROXY_FILTERS,
    PROXY_SORTS,
};
pub(crate) use owned::{delete_owned, OwnedKind};

/// DRF's message for a reference to a missing object; clients of the original match on it.
pub fn missing_pk(id: i64) -> String {
    format!("Invalid pk \"{id}\" - object does not exist.")
}

/// A write refused for its input (every problem, by field) or failed in the store.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WriteError {
    fn from(error: sqlx::Error) -> Self {
        WriteError::Store(StoreError::Db(error))
    }
}

pub type WriteResult<T> = std::result::Result<T, WriteError>;

type Result<T> = std::result::Result<T, StoreError>;

/// The user a scope is limited to, `None` for everything. Bound as `(? IS NULL OR … = ?)`.
pub(crate) fn scope_user(scope: Scope) -> Option<i64> {
    match scope {
        Scope::All => None,
        Scope::User(id) => Some(id),
    }
}

/// Appends ` AND <port_sql> IN (ports delegated to the user)` for a non-superuser.
pub(crate) fn push_port_scope(query: &mut QueryBuilder<'_, Sqlite>, scope: Scope, port_sql: &str) {
    if let Scope::User(user) = scope {
        query.push(format!(
            " AND {port_sql} IN (SELECT port_id FROM port_users WHERE user_id = "
        ));
        query.push_bind(user);
        query.push(")");
    }
}

/// Appends `(a, b, c)` with the ids bound.
pub(crate) fn push_id_list(query: &mut QueryBuilder<'_, Sqlite>, ids: &[i64]) {
    query.push("(");
    let mut separated = query.separated(", ");
    for id in ids {
        separated.push_bind(*id);
    }
    query.push(")");
}

/// The ids once each, in their first order.
pub(crate) fn distinct(ids: &[i64]) -> Vec<i64> {
    let mut seen = BTreeSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// A proxy profile's own row; `proxy/list` reads it as JSON ([`list`]), the rest as columns.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ProxyRow {
    pub id: i64,
    pub port_id: i64,
    #[serde(deserialize_with = "flag")]
    pub active: bool,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub proxy_type: String,
    pub auth: String,
    pub listen_port: i64,
    #[serde(deserialize_with = "flag")]
    pub is_local: bool,
    pub maxconn: i64,
    #[serde(deserialize_with = "flag")]
    pub is_allow: bool,
    #[serde(deserialize_with = "flag")]
    pub is_ports: bool,
    pub login_id: Option<i64>,
    pub date_create: i64,
    pub date_update: i64,
}

const PROXY_COLUMNS: &str = "p.id, p.port_id, p.active, p.type, p.auth, p.listen_port, \
     p.is_local, p.maxconn, p.is_allow, p.is_ports, p.login_id, p.date_create, p.date_update";

/// A profile with the ids it references, as add/edit read and write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub row: ProxyRow,
    pub ip_ids: Vec<i64>,
    pub allow_ids: Vec<i64>,
    pub target_ports: Vec<i64>,
}

/// A profile as the API writes it. `auth_ids` holds the login id (`strong`, exactly one) or
/// the client IP ids (`iponly`, one or more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyFields {
    pub port_id: i64,
    pub active: bool,
    pub proxy_type: ProxyType,
    pub auth: ProxyAuth,
    pub listen_port: i64,
    pub is_local: bool,
    pub maxconn: i64,
    pub is_allow: bool,
    pub is_ports: bool,
    pub auth_ids: Vec<i64>,
    pub allow_ids: Vec<i64>,
    pub target_ports: Vec<i64>,
}

async fn visible_port(conn: &mut SqliteConnection, scope: Scope, port_id: i64) -> Result<bool> {
    let user = scope_user(scope);
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM ports WHERE id = ? AND \
         (? IS NULL OR id IN (SELECT port_id FROM port_users WHERE user_id = ?))",
    )
    .bind(port_id)
    .bind(user)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// Whether an owned object (`table` has `owner_id`) exists and the scope may use it.
async fn usable_owned(
    conn: &mut SqliteConnection,
    table: &'static str,
    scope: Scope,
    id: i64,
) -> Result<bool> {
    let user = scope_user(scope);
    let found: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM {table} WHERE id = ? AND (? IS NULL OR owner_id = ?)"
    ))
    .bind(id)
    .bind(user)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

async fn load_proxy(conn: &mut SqliteConnection, scope: Scope, id: i64) -> Result<Proxy> {
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
        "SELECT {PROXY_COLUMNS} FROM proxies p WHERE p.id = "
    ));
    query.push_bind(id);
    push_port_scope(&mut query, scope, "p.port_id");
    let row = query
        .build_query_as::<ProxyRow>()
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound { what: "proxy", id })?;
    let ip_ids =
        sqlx::query_scalar("SELECT ip_id FROM proxy_auth_ips WHERE proxy_id = ? ORDER BY ip_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let allow_ids =
        sqlx::query_scalar("SELECT list_id FROM proxy_allow WHERE proxy_id = ? ORDER BY list_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let target_ports =
        sqlx::query_scalar("SELECT port FROM proxy_target_ports WHERE proxy_id = ? ORDER BY port")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Proxy {
        row,
        ip_ids,
        allow_ids,
        target_ports,
    })
}

/// Every reference problem of `fields`, for the scope; `editing` is the profile being saved,
/// whose already attached logins, IPs and site lists stay usable even when the caller does not
/// own them (a superuser may have attached them to a delegated port's profile).
async fn check_references(
    conn: &mut SqliteConnection,
    scope: Scope,
    editing: Option<&Proxy>,
    fields: &ProxyFields,
) -> Result<FieldErrors> {
    let mut errors = FieldErrors::new();
    if !visible_port(conn, scope, fields.port_id).await? {
        errors.add("modem", missing_pk(fields.port_id));
    }
    let editing_id = editing.map(|p| p.row.id).unwrap_or(0);
    let holder: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, port_id FROM proxies WHERE listen_port = ? AND id != ?")
            .bind(fields.listen_port)
            .bind(editing_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((holder_id, holder_port)) = holder {
        // Ports are one namespace for everybody, so a clash is reported even when the holder
        // is invisible to the caller; only its id is withheld then.
        let message = if visible_port(conn, scope, holder_port).await? {
            format!(
                "Port {} is already used by proxy profile {holder_id}.",
                fields.listen_port
            )
        } else {
            format!(
                "Port {} is already used by another proxy profile.",
                fields.listen_port
            )
        };
        errors.add("port", message);
    }
    let (attached_logins, attached_ips, attached_lists) = match editing {
        Some(p) => (
            p.row.login_id.into_iter().collect::<Vec<_>>(),
            p.ip_ids.clone(),
            p.allow_ids.clone(),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    match fields.auth {
        ProxyAuth::Strong => {
            if fields.auth_ids.len() != 1 {
                errors.add("auth_params", "Strong auth takes exactly one login id.");
            }
            for id in &fields.auth_ids {
                if !attached_logins.contains(id)
                    && !usable_owned(conn, "proxy_logins", scope, *id).await?
                {
                    errors.add("auth_params", missing_pk(*id));
                }
            }
        }
        ProxyAuth::IpOnly => {
            if fields.auth_ids.is_empty() {
                errors.add(
                    "auth_params",
                    "IP-only auth takes at least one client IP id.",
                );
            }
            for id in &fields.auth_ids {
                if !attached_ips.contains(id)
                    && !usable_owned(conn, "proxy_ips", scope, *id).await?
                {
                    errors.add("auth_params", missing_pk(*id));
                }
            }
        }
    }
    for id in &fields.allow_ids {
        if !attached_lists.contains(id) && !usable_owned(conn, "site_lists", scope, *id).await? {
            errors.add("allow", missing_pk(*id));
        }
    }
    Ok(errors)
}

async fn write_children(conn: &mut SqliteConnection, id: i64, fields: &ProxyFields) -> Result<()> {
    for table in ["proxy_auth_ips", "proxy_allow", "proxy_target_ports"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE proxy_id = ?"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if fields.auth == ProxyAuth::IpOnly {
        insert_links(
            conn,
            "INSERT INTO proxy_auth_ips (proxy_id, ip_id) VALUES (?, ?)",
            id,
            &fields.auth_ids,
        )
        .await?;
    }
    insert_links(
        conn,
        "INSERT INTO proxy_allow (proxy_id, list_id) VALUES (?, ?)",
        id,
        &fields.allow_ids,
    )
    .await?;
    insert_links(
        conn,
        "INSERT INTO proxy_target_ports (proxy_id, port) VALUES (?, ?)",
        id,
        &fields.target_ports,
    )
    .await
}

/// Runs `insert` (two placeholders: the profile id, a value) once per distinct value.
async fn insert_links(
    conn: &mut SqliteConnection,
    insert: &str,
    proxy_id: i64,
    values: &[i64],
) -> Result<()> {
    for value in distinct(values) {
        sqlx::query(insert)
            .bind(proxy_id)
            .bind(value)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn login_of(fields: &ProxyFields) -> Option<i64> {
    match fields.auth {
        ProxyAuth::Strong => fields.auth_ids.first().copied(),
        ProxyAuth::IpOnly => None,
    }
}

/// Checks that every id is a profile the scope sees; the first one that is not is NotFound.
async fn check_visible_proxies(
    conn: &mut SqliteConnection,
    scope: Scope,
    ids: &[i64],
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut query: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT p.id FROM proxies p WHERE p.id IN ");
    push_id_list(&mut query, ids);
    push_port_scope(&mut query, scope, "p.port_id");
    let found: BTreeSet<i64> = query
        .build_query_scalar::<i64>()
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    match ids.iter().find(|id| !found.contains(id)) {
        Some(id) => Err(StoreError::NotFound {
            what: "proxy",
            id: *id,
        }),
        None => Ok(()),
    }
}

impl Store {
    /// One profile the scope sees, with the ids it references.
    pub async fn proxy(&self, scope: Scope, id: i64) -> Result<Proxy> {
        let mut conn = self.pool().acquire().await?;
        load_proxy(&mut conn, scope, id).await
    }

    pub async fn create_proxy(&self, scope: Scope, fields: &ProxyFields) -> WriteResult<Proxy> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let errors = check_references(&mut tx, scope, None, fields).await?;
        if !errors.is_empty() {
            return Err(WriteError::Invalid(errors));
        }
        let stamp = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO proxies (port_id, active, type, auth, listen_port, is_local, maxconn, \
             is_allow, is_ports, login_id, date_create, date_update) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(fields.port_id)
        .bind(fields.active)
        .bind(fields.proxy_type.as_str())
        .bind(fields.auth.as_str())
        .bind(fields.listen_port)
        .bind(fields.is_local)
        .bind(fields.maxconn)
        .bind(fields.is_allow)
        .bind(fields.is_ports)
        .bind(login_of(fields))
        .bind(stamp)
        .bind(stamp)
        .fetch_one(&mut *tx)
        .await?;
        write_children(&mut tx, id, fields).await?;
        let proxy = load_proxy(&mut tx, Scope::All, id).await?;
        tx.commit().await?;
        self.emit(Change::Proxies);
        Ok(proxy)
    }

    pub async fn update_proxy(
        &self,
        scope: Scope,
        id: i64,
        fields: &ProxyFields,
    ) -> WriteResult<Proxy> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let current = load_proxy(&mut tx, scope, id).await?;
        let errors = check_references(&mut tx, scope, Some(&current), fields).await?;
        if !errors.is_empty() {
            return Err(WriteError::Invalid(errors));
        }
        sqlx::query(
            "UPDATE proxies SET port_id = ?, active = ?, type = ?, auth = ?, listen_port = ?, \
             is_local = ?, maxconn = ?, is_allow = ?, is_ports = ?, login_id = ?, \
             date_update = ? WHERE id = ?",
        )
        .bind(fields.port_id)
        .bind(fields.active)
        .bind(fields.proxy_type.as_str())
        .bind(fields.auth.as_str())
        .bind(fields.listen_port)
        .bind(fields.is_local)
        .bind(fields.maxconn)
        .bind(fields.is_allow)
        .bind(fields.is_ports)
        .bind(login_of(fields))
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        write_children(&mut tx, id, fields).await?;
        let proxy = load_proxy(&mut tx, Scope::All, id).await?;
        tx.commit().await?;
        self.emit(Change::Proxies);
        Ok(proxy)
    }

    /// Switches profiles on or off; every id is visible to the scope or nothing changes.
    pub async fn set_proxies_active(&self, scope: Scope, ids: &[i64], active: bool) -> Result<()> {
        let ids = distinct(ids);
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        check_visible_proxies(&mut tx, scope, &ids).await?;
        let stamp = now();
        for id in &ids {
            sqlx::query("UPDATE proxies SET active = ?, date_update = ? WHERE id = ?")
                .bind(active)
                .bind(stamp)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.emit(Change::Proxies);
        Ok(())
    }

    /// Deletes profiles (their IP, site list and target port rows go with them); every id is
    /// visible to the scope or nothing is deleted.
    pub async fn delete_proxies(&self, scope: Scope, ids: &[i64]) -> Result<()> {
        let ids = distinct(ids);
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        check_visible_proxies(&mut tx, scope, &ids).await?;
        for id in &ids {
            sqlx::query("DELETE FROM proxies WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.emit(Change::Proxies);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keeps_first_order() {
        assert_eq!(distinct(&[3, 1, 3, 2, 1]), vec![3, 1, 2]);
    }
}
