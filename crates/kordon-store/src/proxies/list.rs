//! `proxy/list`: the filters and sorts it accepts and a page of profiles with everything they
//! reference.
//!
//! The page is read as one JSON text that SQLite assembles: the profiles in page order, each
//! with its port, login, client IPs, site lists and target ports nested (`json_object`,
//! `json_group_array`). Read as rows, a page of 100 was ~400 rows over 7 queries, and sqlx
//! hands every row from its worker thread to the caller on its own (a channel send and a
//! wake-up each); that hand-off and the per-column copies, not SQLite, were most of the time.

use kordon_model::filter::{Condition, FilterKey, FilterKind, FilterValue, Page};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite};

use super::{push_port_scope, ProxyRow};
use crate::json_rows::{self, flag};
use crate::listing::{self, Column, SortColumn};
use crate::proxy_logins::ProxyLogin;
use crate::{Result, Scope, Store};

/// The port of a listed profile, as `proxy/list` nests it under `modem`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModemBrief {
    pub id: i64,
    pub name: String,
    #[serde(deserialize_with = "flag")]
    pub active: bool,
    pub ifname: String,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    #[serde(deserialize_with = "flag")]
    pub conn_dev: bool,
    #[serde(deserialize_with = "flag")]
    pub conn_net: bool,
    #[serde(deserialize_with = "flag")]
    pub reconnecting: bool,
    pub reconnect_type: String,
    pub reconnect_interval: i64,
    pub reconnect_min: i64,
    pub operator: Option<String>,
    pub network_type: Option<String>,
}

/// A client IP of an `iponly` profile; `proxy/list` replies serialize it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct AuthIp {
    pub id: i64,
    pub ip: String,
}

/// A site list a profile allows, by id and name; `proxy/list` replies serialize it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct AllowedList {
    pub id: i64,
    pub name: String,
}

/// One item of `proxy/list`: the profile with everything it references loaded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedProxy {
    pub row: ProxyRow,
    /// `None` only if the port row is missing, which its foreign key should prevent.
    pub modem: Option<ModemBrief>,
    pub login: Option<ProxyLogin>,
    pub ips: Vec<AuthIp>,
    pub allow: Vec<AllowedList>,
    pub target_ports: Vec<i64>,
}

/// One [`ListedProxy`] of the profile `p` as a JSON object. The nested values come from
/// subqueries as JSONB: text would lose its JSON subtype crossing a subquery and nest as a
/// string, while a JSONB blob is recognized as JSON wherever it goes (and is not parsed again).
const ITEM_JSON: &str = "json_object(\
    'row', json_object('id', p.id, 'port_id', p.port_id, 'active', p.active, 'type', p.type, \
        'auth', p.auth, 'listen_port', p.listen_port, 'is_local', p.is_local, \
        'maxconn', p.maxconn, 'is_allow', p.is_allow, 'is_ports', p.is_ports, \
        'login_id', p.login_id, 'date_create', p.date_create, 'date_update', p.date_update), \
    'modem', (SELECT jsonb_object('id', m.id, 'name', m.name, 'active', m.active, \
        'ifname', m.ifname, 'ip', m.ip, 'gateway', m.gateway, 'conn_dev', m.conn_dev, \
        'conn_net', m.conn_net, 'reconnecting', m.reconnecting, \
        'reconnect_type', m.reconnect_type, 'reconnect_interval', m.reconnect_interval, \
        'reconnect_min', m.reconnect_min, 'operator', o.name, 'network_type', n.name) \
        FROM ports m LEFT JOIN operators o ON o.id = m.operator_id \
        LEFT JOIN network_types n ON n.id = m.network_type_id WHERE m.id = p.port_id), \
    'login', (SELECT jsonb_object('id', id, 'login', login, 'password', password, \
        'bitrate_in', bitrate_in, 'bitrate_out', bitrate_out, 'owner_id', owner_id, \
        'date_create', date_create) FROM proxy_logins WHERE id = p.login_id), \
    'ips', (SELECT jsonb_group_array(jsonb_object('id', pi.id, 'ip', pi.ip) ORDER BY pi.id) \
        FROM proxy_auth_ips pa JOIN proxy_ips pi ON pi.id = pa.ip_id \
        WHERE pa.proxy_id = p.id), \
    'allow', (SELECT jsonb_group_array(jsonb_object('id', s.id, 'name', s.name) ORDER BY s.id) \
        FROM proxy_allow a JOIN site_lists s ON s.id = a.list_id WHERE a.proxy_id = p.id), \
    'target_ports', (SELECT jsonb_group_array(port ORDER BY port) \
        FROM proxy_target_ports WHERE proxy_id = p.id))";

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
    /// The number of matching profiles and a page of them with their ports, logins, IPs,
    /// site lists and target ports: two queries, one row each, whatever the page size.
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
        // The page's ids are chosen by a subquery of ids alone, because SQLite computes every
        // row an OFFSET skips; the items are built for the chosen ids only, and the aggregate
        // repeats the page order since a subquery's order does not carry over.
        let order = listing::order_terms(page, PROXY_SORTS, "p.id", page.sort);
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT json_group_array({ITEM_JSON} ORDER BY {order}) FROM proxies p \
             WHERE p.id IN (SELECT p.id"
        ));
        push_list_from(&mut query, scope, conditions);
        listing::push_page(&mut query, page, PROXY_SORTS, "p.id");
        query.push(")");
        let encoded: String = query.build_query_scalar().fetch_one(&mut *conn).await?;
        Ok((total, json_rows::decode(&encoded)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(contains_pattern("10.0_1%"), "%10.0\\_1\\%%");
    }
}
