//! Proxy profiles: one listener (`listen_port`) speaking http or socks through a port (modem),
//! authenticating clients by one login (`strong`) or by a list of client IPs (`iponly`),
//! optionally limited to site lists (`allow`) and target ports.
//!
//! Visibility follows delegation: a non-superuser sees the profiles of the ports delegated to
//! them (`port_users`) and nothing else. Saves check every reference inside one
//! `BEGIN IMMEDIATE` transaction, so no concurrent delete slips between the check and the write.

use std::collections::{BTreeSet, HashMap};

use kordon_model::enums::{ProxyAuth, ProxyType};
use kordon_model::filter::{Condition, FilterKey, FilterKind, FilterValue, Page};
use kordon_model::FieldErrors;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::listing::{self, Column, SortColumn};
use crate::proxy_logins::ProxyLogin;
use crate::{now, Change, Scope, Store, StoreError};

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

/// A proxy profile's own row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProxyRow {
    pub id: i64,
    pub port_id: i64,
    pub active: bool,
    #[sqlx(rename = "type")]
    pub proxy_type: String,
    pub auth: String,
    pub listen_port: i64,
    pub is_local: bool,
    pub maxconn: i64,
    pub is_allow: bool,
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

/// The port of a listed profile, as `proxy/list` nests it under `modem`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ModemBrief {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub ifname: String,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub conn_dev: bool,
    pub conn_net: bool,
    pub reconnecting: bool,
    pub reconnect_type: String,
    pub reconnect_interval: i64,
    pub reconnect_min: i64,
    pub operator: Option<String>,
    pub network_type: Option<String>,
}

/// A client IP of an `iponly` profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthIp {
    pub id: i64,
    pub ip: String,
}

/// A site list a profile allows, by id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedList {
    pub id: i64,
    pub name: String,
}

/// One item of `proxy/list`: the profile with everything it references loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedProxy {
    pub row: ProxyRow,
    /// `None` only if the port row vanished between the page query and this load.
    pub modem: Option<ModemBrief>,
    pub login: Option<ProxyLogin>,
    pub ips: Vec<AuthIp>,
    pub allow: Vec<AllowedList>,
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

/// `proxy/list` filters compared through [`listing::push_conditions`].
pub const PROXY_FILTERS: &[Column] = &[
    Column::new("modem__id", FilterKind::Int, "p.port_id"),
    Column::new("active", FilterKind::Bool, "p.active"),
    Column::new("auth", FilterKind::Text, "p.auth"),
    Column::new(
        "auth_login__login__icontains",
        FilterKind::TextIContains,
        "l.login",
    ),
    Column::new("port", FilterKind::Int, "p.listen_port"),
    Column::new("type", FilterKind::Text, "p.type"),
];

/// Matches any of a profile's client IPs, so it is an `EXISTS` written here rather than a
/// column comparison.
pub const AUTH_IP_FILTER: FilterKey =
    FilterKey::new("auth_ip__ip__icontains", FilterKind::TextIContains);

/// Every filter key `proxy/list` accepts.
pub fn proxy_filter_keys() -> Vec<FilterKey> {
    let mut keys = listing::keys(PROXY_FILTERS);
    keys.push(AUTH_IP_FILTER);
    keys
}

pub const PROXY_SORTS: &[SortColumn] = &[
    SortColumn {
        field: "id",
        sql: "p.id",
    },
    SortColumn {
        field: "port",
        sql: "p.listen_port",
    },
    SortColumn {
        field: "date_create",
        sql: "p.date_create",
    },
    SortColumn {
        field: "date_update",
        sql: "p.date_update",
    },
    SortColumn {
        field: "active",
        sql: "p.active",
    },
    SortColumn {
        field: "modem",
        sql: "p.port_id",
    },
];

/// A `LIKE` pattern matching `text` anywhere, with the pattern characters escaped by `\`.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn push_list_from(query: &mut QueryBuilder<'_, Sqlite>, scope: Scope, conditions: &[Condition]) {
    query.push(" FROM proxies p LEFT JOIN proxy_logins l ON l.id = p.login_id WHERE 1=1");
    push_port_scope(query, scope, "p.port_id");
    listing::push_conditions(query, conditions, PROXY_FILTERS);
    for condition in conditions {
        if condition.key != AUTH_IP_FILTER.key {
            continue;
        }
        if let FilterValue::Text(text) = &condition.value {
            query.push(
                " AND EXISTS (SELECT 1 FROM proxy_auth_ips pa JOIN proxy_ips pi \
                 ON pi.id = pa.ip_id WHERE pa.proxy_id = p.id AND lower(pi.ip) LIKE lower(",
            );
            query.push_bind(contains_pattern(text));
            query.push(") ESCAPE '\\')");
        }
    }
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
        for ip_id in distinct(&fields.auth_ids) {
            sqlx::query("INSERT INTO proxy_auth_ips (proxy_id, ip_id) VALUES (?, ?)")
                .bind(id)
                .bind(ip_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    for list_id in distinct(&fields.allow_ids) {
        sqlx::query("INSERT INTO proxy_allow (proxy_id, list_id) VALUES (?, ?)")
            .bind(id)
            .bind(list_id)
            .execute(&mut *conn)
            .await?;
    }
    for port in distinct(&fields.target_ports) {
        sqlx::query("INSERT INTO proxy_target_ports (proxy_id, port) VALUES (?, ?)")
            .bind(id)
            .bind(port)
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

    /// A page of profiles with their ports, logins, IPs, site lists and target ports: one
    /// query for the page and one per kind of child, whatever the page size.
    pub async fn list_proxies(
        &self,
        scope: Scope,
        conditions: &[Condition],
        page: &Page,
    ) -> Result<(i64, Vec<ListedProxy>)> {
        let mut conn = self.pool().acquire().await?;
        let mut count: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT count(*)");
        push_list_from(&mut count, scope, conditions);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(format!("SELECT {PROXY_COLUMNS}"));
        push_list_from(&mut query, scope, conditions);
        listing::push_page(&mut query, page, PROXY_SORTS, "p.id");
        let rows = query
            .build_query_as::<ProxyRow>()
            .fetch_all(&mut *conn)
            .await?;
        let items = load_children(&mut conn, rows).await?;
        Ok((total, items))
    }
}

async fn load_children(
    conn: &mut SqliteConnection,
    rows: Vec<ProxyRow>,
) -> Result<Vec<ListedProxy>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let port_ids = distinct(&rows.iter().map(|r| r.port_id).collect::<Vec<_>>());
    let login_ids = distinct(&rows.iter().filter_map(|r| r.login_id).collect::<Vec<_>>());

    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT m.id, m.name, m.active, m.ifname, m.ip, m.gateway, m.conn_dev, m.conn_net, \
         m.reconnecting, m.reconnect_type, m.reconnect_interval, m.reconnect_min, \
         o.name AS operator, n.name AS network_type FROM ports m \
         LEFT JOIN operators o ON o.id = m.operator_id \
         LEFT JOIN network_types n ON n.id = m.network_type_id WHERE m.id IN ",
    );
    push_id_list(&mut query, &port_ids);
    let modems: HashMap<i64, ModemBrief> = query
        .build_query_as::<ModemBrief>()
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();

    let mut logins: HashMap<i64, ProxyLogin> = HashMap::new();
    if !login_ids.is_empty() {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT {} FROM proxy_logins WHERE id IN ",
            crate::proxy_logins::LOGIN_COLUMNS
        ));
        push_id_list(&mut query, &login_ids);
        logins = query
            .build_query_as::<ProxyLogin>()
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
    }

    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT pa.proxy_id, pi.id, pi.ip FROM proxy_auth_ips pa \
         JOIN proxy_ips pi ON pi.id = pa.ip_id WHERE pa.proxy_id IN ",
    );
    push_id_list(&mut query, &ids);
    query.push(" ORDER BY pi.id");
    let mut ips: HashMap<i64, Vec<AuthIp>> = HashMap::new();
    for (proxy_id, id, ip) in query
        .build_query_as::<(i64, i64, String)>()
        .fetch_all(&mut *conn)
        .await?
    {
        ips.entry(proxy_id).or_default().push(AuthIp { id, ip });
    }

    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT a.proxy_id, s.id, s.name FROM proxy_allow a \
         JOIN site_lists s ON s.id = a.list_id WHERE a.proxy_id IN ",
    );
    push_id_list(&mut query, &ids);
    query.push(" ORDER BY s.id");
    let mut allow: HashMap<i64, Vec<AllowedList>> = HashMap::new();
    for (proxy_id, id, name) in query
        .build_query_as::<(i64, i64, String)>()
        .fetch_all(&mut *conn)
        .await?
    {
        allow
            .entry(proxy_id)
            .or_default()
            .push(AllowedList { id, name });
    }

    let mut query: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT proxy_id, port FROM proxy_target_ports WHERE proxy_id IN ");
    push_id_list(&mut query, &ids);
    query.push(" ORDER BY port");
    let mut targets: HashMap<i64, Vec<i64>> = HashMap::new();
    for (proxy_id, port) in query
        .build_query_as::<(i64, i64)>()
        .fetch_all(&mut *conn)
        .await?
    {
        targets.entry(proxy_id).or_default().push(port);
    }

    Ok(rows
        .into_iter()
        .map(|row| ListedProxy {
            modem: modems.get(&row.port_id).cloned(),
            login: row.login_id.and_then(|id| logins.get(&id).cloned()),
            ips: ips.remove(&row.id).unwrap_or_default(),
            allow: allow.remove(&row.id).unwrap_or_default(),
            target_ports: targets.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// How an owned object (login, client IP, site list) is deleted and found in use.
pub(crate) struct OwnedKind {
    /// For messages: "proxy login".
    pub what: &'static str,
    pub table: &'static str,
    /// `SELECT p.id, p.port_id FROM proxies p …` with one `?` for the object's id.
    pub users_sql: &'static str,
    pub change: Change,
}

/// Deletes owned objects: every id is one the scope owns (else NotFound and nothing changes),
/// and none is used by a proxy profile. An object in use is refused rather than pulled out of
/// its profiles, because a profile silently losing its login or client IPs would lock its
/// customers out (or, for site lists, open it to every site); the refusal names the profiles.
pub(crate) async fn delete_owned(
    store: &Store,
    scope: Scope,
    ids: &[i64],
    kind: &OwnedKind,
) -> WriteResult<()> {
    let ids = distinct(ids);
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    for id in &ids {
        if !usable_owned(&mut tx, kind.table, scope, *id).await? {
            return Err(StoreError::NotFound {
                what: kind.what,
                id: *id,
            }
            .into());
        }
    }
    let mut errors = FieldErrors::new();
    for id in &ids {
        let users: Vec<(i64, i64)> = sqlx::query_as(kind.users_sql)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        if users.is_empty() {
            continue;
        }
        let mut shown = Vec::new();
        let mut hidden = 0usize;
        for (proxy_id, port_id) in users {
            if visible_port(&mut tx, scope, port_id).await? {
                shown.push(proxy_id.to_string());
            } else {
                hidden += 1;
            }
        }
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let message = if shown.is_empty() {
            format!(
                "The {} {id} is used by {hidden} proxy profile{} on ports not delegated to \
                 you; ask an administrator to remove it from them first.",
                kind.what,
                plural(hidden)
            )
        } else {
            let more = if hidden > 0 {
                format!(" and {hidden} more on ports not delegated to you")
            } else {
                String::new()
            };
            format!(
                "The {} {id} is used by proxy profile{} {}{more}; remove it from them first.",
                kind.what,
                plural(shown.len()),
                shown.join(", ")
            )
        };
        errors.add("id", message);
    }
    if !errors.is_empty() {
        return Err(WriteError::Invalid(errors));
    }
    for id in &ids {
        sqlx::query(&format!("DELETE FROM {} WHERE id = ?", kind.table))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    store.emit(kind.change);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_distinct_ids() {
        assert_eq!(contains_pattern("10.0_1%"), "%10.0\\_1\\%%");
        assert_eq!(distinct(&[3, 1, 3, 2, 1]), vec![3, 1, 2]);
    }
}
