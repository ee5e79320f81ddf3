//! `proxy/list`: the filters and sorts it accepts and a page of profiles with everything they
//! reference, loaded with one query per kind of child whatever the page size.

use std::collections::HashMap;

use kordon_model::filter::{Condition, FilterKey, FilterKind, FilterValue, Page};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{distinct, push_id_list, push_port_scope, ProxyRow, PROXY_COLUMNS};
use crate::listing::{self, Column, SortColumn};
use crate::proxy_logins::ProxyLogin;
use crate::{Result, Scope, Store};

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

impl Store {
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
        // The page's ids first, then their rows: SQLite computes every row an OFFSET skips,
        // so the skipped rows should be as narrow as an id.
        let mut page_ids: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT p.id");
        push_list_from(&mut page_ids, scope, conditions);
        listing::push_page(&mut page_ids, page, PROXY_SORTS, "p.id");
        let ids: Vec<i64> = page_ids.build_query_scalar().fetch_all(&mut *conn).await?;
        if ids.is_empty() {
            return Ok((total, Vec::new()));
        }
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT {PROXY_COLUMNS} FROM proxies p WHERE p.id IN "
        ));
        push_id_list(&mut query, &ids);
        let mut by_id: HashMap<i64, ProxyRow> = query
            .build_query_as::<ProxyRow>()
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        let rows = ids.iter().filter_map(|id| by_id.remove(id)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(contains_pattern("10.0_1%"), "%10.0\\_1\\%%");
    }
}
