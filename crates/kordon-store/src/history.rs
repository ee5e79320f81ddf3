//! IP history: every public IP a port had after a rotation (`port_ips`, repeats included) and
//! the pool of distinct IPs seen per operator (`operator_ips`).
//!
//! Visibility: the operator pool and its statistics describe the mobile operators, not any
//! panel user's objects, so every authenticated user reads them whole. Port history belongs to
//! ports and is scoped like them: a non-superuser reads only the rows of ports delegated to
//! them, and the `osid` filter of the operator pool only looks into those ports' history.

use kordon_model::filter::{Condition, FilterKey, FilterKind, FilterValue, Page};
use sqlx::{QueryBuilder, Sqlite};

mod plan;

use crate::listing::{self, Column, SortColumn};
use crate::{Change, Result, Scope, Store, StoreError};

/// One row of the operator pool.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OperatorIp {
    pub id: i64,
    pub ip: String,
    pub operator_id: i64,
    pub date_create: i64,
}

/// One row of a port's IP history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PortIp {
    pub id: i64,
    pub oip: String,
    pub port_id: i64,
    pub operator_id: Option<i64>,
    pub network_type_id: Option<i64>,
    pub osfp_id: Option<i64>,
    pub date_create: i64,
}

/// How many distinct IPs an operator has handed out.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OperatorIpCount {
    pub id: i64,
    pub name: String,
    pub count: i64,
}

/// What [`Store::record_port_ip`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedIp {
    pub port_ip_id: i64,
    /// The IP was new in its operator's pool (an `operator_ips` row was added).
    pub new_for_operator: bool,
}

/// Filters of `ip/operator` that compare one column of `operator_ips oi`.
pub const OPERATOR_IP_COLUMNS: &[Column] = &[
    Column::new("operator__id", FilterKind::Int, "oi.operator_id"),
    Column::new("ip", FilterKind::Text, "oi.ip"),
    Column::new("date_create", FilterKind::Time, "oi.date_create"),
    Column::new(
        "date_create__range",
        FilterKind::TimeRange,
        "oi.date_create",
    ),
];

/// Filters of `ip/operator` that need a subquery (see [`push_operator_ip_special`]).
const OPERATOR_IP_SPECIAL: &[FilterKey] = &[
    FilterKey::new("operator__name__contains", FilterKind::TextContains),
    FilterKey::new("osid", FilterKind::Int),
];

pub const OPERATOR_IP_SORTS: &[SortColumn] = &[
    SortColumn {
        field: "id",
        sql: "oi.id",
    },
    SortColumn {
        field: "ip",
        sql: "oi.ip",
    },
    SortColumn {
        field: "date_create",
        sql: "oi.date_create",
    },
];

/// Filters of `ip/modem` that compare one column of `port_ips pi`. `osid` and `modem__id`
/// are kordon's names for the fingerprint and port columns (the document's sample sends
/// `osid`).
pub const PORT_IP_COLUMNS: &[Column] = &[
    Column::new("operator__id", FilterKind::Int, "pi.operator_id"),
    Column::new("oip__ip", FilterKind::Text, "pi.oip"),
    Column::new("oip__ip__in", FilterKind::TextIn, "pi.oip"),
    Column::new("date_create", FilterKind::Time, "pi.date_create"),
    Column::new(
        "date_create__range",
        FilterKind::TimeRange,
        "pi.date_create",
    ),
    Column::new("network_type__id", FilterKind::Int, "pi.network_type_id"),
    Column::new(
        "network_type__id__in",
        FilterKind::IntIn,
        "pi.network_type_id",
    ),
    Column::new("osid", FilterKind::Int, "pi.osfp_id"),
    Column::new("modem__id", FilterKind::Int, "pi.port_id"),
];

/// `ip/modem` filters that only look at the columns of `port_ip_tally` (port, operator,
/// network type, fingerprint): their total is a sum of tally counters. The SQL of each is
/// written against the alias `pi`, which the tally shares with `port_ips`.
const TALLIED_FILTERS: &[&str] = &[
    "operator__id",
    "network_type__id",
    "network_type__id__in",
    "osid",
    "modem__id",
    "operator__name__contains",
    "network_type__name",
    "network_type__name__in",
];

/// Whether a filter's total can be summed from the tally: only tallied dimensions, and no id
/// 0 (the tally files unknown dimensions under 0, which `port_ips` holds as NULL).
fn tally_applies(conditions: &[Condition]) -> bool {
    conditions.iter().all(|c| {
        TALLIED_FILTERS.contains(&c.key)
            && match &c.value {
                FilterValue::Int(id) => *id > 0,
                FilterValue::IntList(ids) => ids.iter().all(|id| *id > 0),
                _ => true,
            }
    })
}

/// Filters of `ip/modem` on names of the catalogues, turned into id subqueries so the
/// history's own indexes still drive the query.
const PORT_IP_SPECIAL: &[FilterKey] = &[
    FilterKey::new("operator__name__contains", FilterKind::TextContains),
    FilterKey::new("network_type__name", FilterKind::Text),
    FilterKey::new("network_type__name__in", FilterKind::TextIn),
];

pub const PORT_IP_SORTS: &[SortColumn] = &[
    SortColumn {
        field: "id",
        sql: "pi.id",
    },
    SortColumn {
        field: "oip",
        sql: "pi.oip",
    },
    SortColumn {
        field: "date_create",
        sql: "pi.date_create",
    },
    SortColumn {
        field: "modem",
        sql: "pi.port_id",
    },
];

/// Every filter key `ip/operator` accepts.
pub fn operator_ip_filter_keys() -> Vec<FilterKey> {
    let mut keys = listing::keys(OPERATOR_IP_COLUMNS);
    keys.extend_from_slice(OPERATOR_IP_SPECIAL);
    keys
}

/// Every filter key `ip/modem` accepts.
pub fn port_ip_filter_keys() -> Vec<FilterKey> {
    let mut keys = listing::keys(PORT_IP_COLUMNS);
    keys.extend_from_slice(PORT_IP_SPECIAL);
    keys
}

/// ` AND <port column> IN (ports delegated to the user)` for a user scope.
fn push_port_scope(query: &mut QueryBuilder<'_, Sqlite>, scope: Scope, port_sql: &str) {
    if let Scope::User(user_id) = scope {
        query.push(format!(
            " AND {port_sql} IN (SELECT port_id FROM port_users WHERE user_id = "
        ));
        query.push_bind(user_id);
        query.push(")");
    }
}

fn push_text_list(query: &mut QueryBuilder<'_, Sqlite>, items: &[String]) {
    let mut separated = query.separated(", ");
    for item in items {
        separated.push_bind(item.clone());
    }
}

fn push_operator_name_contains(query: &mut QueryBuilder<'_, Sqlite>, column: &str, text: &str) {
    query.push(format!(
        " AND {column} IN (SELECT id FROM operators WHERE instr(name, "
    ));
    query.push_bind(text.to_string());
    query.push(") > 0)");
}

fn push_operator_ip_special(
    query: &mut QueryBuilder<'_, Sqlite>,
    conditions: &[Condition],
    scope: Scope,
) {
    for condition in conditions {
        match (condition.key, &condition.value) {
            ("operator__name__contains", FilterValue::Text(text)) => {
                push_operator_name_contains(query, "oi.operator_id", text);
            }
            ("osid", FilterValue::Int(osfp_id)) => {
                // Without statistics the planner would walk (operator_id, id) for every
                // pool row; the covering index answers each probe in one seek.
                query.push(
                    " AND EXISTS (SELECT 1 FROM port_ips p INDEXED BY port_ips_osfp_pool \
                     WHERE p.osfp_id = ",
                );
                query.push_bind(*osfp_id);
                query.push(" AND p.operator_id = oi.operator_id AND p.oip = oi.ip");
                push_port_scope(query, scope, "p.port_id");
                query.push(")");
            }
            _ => {}
        }
    }
}

fn push_port_ip_special(query: &mut QueryBuilder<'_, Sqlite>, conditions: &[Condition]) {
    for condition in conditions {
        match (condition.key, &condition.value) {
            ("operator__name__contains", FilterValue::Text(text)) => {
                push_operator_name_contains(query, "pi.operator_id", text);
            }
            ("network_type__name", FilterValue::Text(name)) => {
                query
                    .push(" AND pi.network_type_id IN (SELECT id FROM network_types WHERE name = ");
                query.push_bind(name.clone());
                query.push(")");
            }
            ("network_type__name__in", FilterValue::TextList(names)) => {
                if names.is_empty() {
                    query.push(" AND 0");
                    continue;
                }
                query.push(
                    " AND pi.network_type_id IN (SELECT id FROM network_types WHERE name IN (",
                );
                push_text_list(query, names);
                query.push("))");
            }
            _ => {}
        }
    }
}

impl Store {
    /// Records the IP a port got after a rotation; when the operator is known and has not
    /// handed out this IP before, it joins the operator's pool too. One transaction.
    pub async fn record_port_ip(
        &self,
        port_id: i64,
        ip: &str,
        operator_id: Option<i64>,
        network_type_id: Option<i64>,
        osfp_id: Option<i64>,
        at: i64,
    ) -> Result<RecordedIp> {
        // IMMEDIATE: a deferred transaction that reads first cannot wait for another writer
        // when it upgrades to write (SQLITE_BUSY at once, "database is locked"), which
        // parallel rotations ending together would hit.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let port: Option<i64> = sqlx::query_scalar("SELECT id FROM ports WHERE id = ?")
            .bind(port_id)
            .fetch_optional(&mut *tx)
            .await?;
        if port.is_none() {
            return Err(StoreError::NotFound {
                what: "port",
                id: port_id,
            });
        }
        let port_ip_id: i64 = sqlx::query_scalar(
            "INSERT INTO port_ips (oip, port_id, operator_id, network_type_id, osfp_id, \
             date_create) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(ip)
        .bind(port_id)
        .bind(operator_id)
        .bind(network_type_id)
        .bind(osfp_id)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let new_for_operator = match operator_id {
            Some(operator_id) => {
                sqlx::query(
                    "INSERT OR IGNORE INTO operator_ips (ip, operator_id, date_create) \
                     VALUES (?, ?, ?)",
                )
                .bind(ip)
                .bind(operator_id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0
            }
            None => false,
        };
        tx.commit().await?;
        self.emit(Change::History);
        Ok(RecordedIp {
            port_ip_id,
            new_for_operator,
        })
    }

    /// Size of each operator's pool, every known operator included (with 0 when it has
    /// handed out nothing yet), in operator id order.
    pub async fn operator_ip_counts(&self) -> Result<Vec<OperatorIpCount>> {
        Ok(sqlx::query_as(
            "SELECT o.id, o.name, \
             (SELECT count(*) FROM operator_ips oi WHERE oi.operator_id = o.id) AS count \
             FROM operators o ORDER BY o.id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// A page of the operator pool and the number of rows matching the filter.
    pub async fn list_operator_ips(
        &self,
        scope: Scope,
        conditions: &[Condition],
        page: &Page,
    ) -> Result<(i64, Vec<OperatorIp>)> {
        let filtered = |select: &str, hint: &str| {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                "SELECT {select} FROM operator_ips oi{hint} WHERE 1=1"
            ));
            listing::push_conditions(&mut query, conditions, OPERATOR_IP_COLUMNS);
            push_operator_ip_special(&mut query, conditions, scope);
            query
        };
        // Counting without a WHERE clause lets SQLite count b-tree cells without decoding.
        let total: i64 = if conditions.is_empty() {
            sqlx::query_scalar("SELECT count(*) FROM operator_ips")
                .fetch_one(self.pool())
                .await?
        } else {
            filtered("count(*)", "")
                .build_query_scalar()
                .fetch_one(self.pool())
                .await?
        };
        let hint = plan::operator_ip_page_hint(self, page, total).await?;
        let mut query = filtered("oi.id, oi.ip, oi.operator_id, oi.date_create", &hint);
        let reversed =
            listing::push_page_from_nearer_end(&mut query, page, OPERATOR_IP_SORTS, "oi.id", total);
        let mut rows = query
            .build_query_as::<OperatorIp>()
            .fetch_all(self.pool())
            .await?;
        if reversed {
            rows.reverse();
        }
        Ok((total, rows))
    }

    /// A page of port IP history within `scope` and the number of rows matching the filter.
    pub async fn list_port_ips(
        &self,
        scope: Scope,
        conditions: &[Condition],
        page: &Page,
    ) -> Result<(i64, Vec<PortIp>)> {
        let filtered = |select: &str, hint: &str| {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new(format!("SELECT {select} FROM port_ips pi{hint} WHERE 1=1"));
            push_port_scope(&mut query, scope, "pi.port_id");
            listing::push_conditions(&mut query, conditions, PORT_IP_COLUMNS);
            push_port_ip_special(&mut query, conditions);
            query
        };
        let plan = plan::PortIpPlan::choose(self, scope, conditions).await?;
        let total: i64 = match plan.known_total {
            Some(total) => total,
            None if tally_applies(conditions) => {
                // Every filter names a dimension of the tally: sum its counters instead of
                // counting history rows one by one.
                let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "SELECT coalesce(sum(row_count), 0) FROM port_ip_tally pi WHERE 1=1",
                );
                push_port_scope(&mut query, scope, "pi.port_id");
                listing::push_conditions(&mut query, conditions, PORT_IP_COLUMNS);
                push_port_ip_special(&mut query, conditions);
                query.build_query_scalar().fetch_one(self.pool()).await?
            }
            None => {
                filtered("count(*)", plan.count_hint)
                    .build_query_scalar()
                    .fetch_one(self.pool())
                    .await?
            }
        };
        let hint = plan.page_hint(self, page, total).await?;
        let mut query = filtered(
            "pi.id, pi.oip, pi.port_id, pi.operator_id, pi.network_type_id, pi.osfp_id, \
             pi.date_create",
            &hint,
        );
        let reversed =
            listing::push_page_from_nearer_end(&mut query, page, PORT_IP_SORTS, "pi.id", total);
        let mut rows = query
            .build_query_as::<PortIp>()
            .fetch_all(self.pool())
            .await?;
        if reversed {
            rows.reverse();
        }
        Ok((total, rows))
    }
}
