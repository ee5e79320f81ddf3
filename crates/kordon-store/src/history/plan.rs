//! Index choices for the history lists at 1,000,000 rows.
//!
//! Without statistics SQLite's planner takes the index of a filter and then sorts every
//! match, blind to the LIMIT, and it cannot tell a user with ten ports from one with all of
//! them. Each list therefore counts first and then names the index to walk (`INDEXED BY`)
//! where the choice is clear from what it knows: the total, the page, the scope's size.

use kordon_model::filter::{Condition, Page};

use crate::{Result, Scope, Store};

/// A user's history up to this many rows is read whole from `port_ips_port_cover`, which
/// holds every filterable column (about a millisecond per 10,000 rows, no table reads).
const SMALL_SCOPE: i64 = 50_000;

/// Filters that pick out few rows through their own index (an IP, a port, a date): with
/// them the planner's choice is right whatever the scope.
const POINT_FILTERS: &[&str] = &[
    "oip__ip",
    "oip__ip__in",
    "modem__id",
    "date_create",
    "date_create__range",
];

/// The index that yields each non-id sort of `ip/operator` in order.
const OPERATOR_IP_SORT_INDEXES: &[(&str, &str)] = &[
    ("ip", "operator_ips_ip"),
    ("date_create", "operator_ips_date"),
];

/// The index that yields each non-id sort of `ip/modem` in order (rowid breaks ties).
const PORT_IP_SORT_INDEXES: &[(&str, &str)] = &[
    ("oip", "port_ips_oip"),
    ("date_create", "port_ips_date"),
    ("modem", "port_ips_port"),
];

const COVER: &str = " INDEXED BY port_ips_port_cover";

/// The sort column's index when walking it should reach the page sooner than sorting every
/// match. Assuming matches spread evenly over the sort order, the walk visits about
/// `(offset + perpage) * rows / total` entries, against `total` rows to sort. Id order is
/// left to the planner: every equality filter's index is id-ordered within a value.
fn sort_index(
    page: &Page,
    indexes: &[(&str, &'static str)],
    total: i64,
    rows: i64,
) -> Option<&'static str> {
    let (_, index) = indexes.iter().find(|(field, _)| *field == page.field)?;
    let walk = i128::from(page.offset() + page.perpage) * i128::from(rows);
    let sort = i128::from(total) * i128::from(total);
    (total > 0 && walk < sort).then_some(*index)
}

/// Rows in a table with an append-only rowid, estimated from its id span in two seeks.
async fn estimated_rows(store: &Store, table: &'static str) -> Result<i64> {
    let span: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT (SELECT max(id) FROM {table}) - (SELECT min(id) FROM {table}) + 1"
    ))
    .fetch_one(store.pool())
    .await?;
    Ok(span.unwrap_or(0))
}

fn indexed_by(index: Option<&str>) -> String {
    index
        .map(|index| format!(" INDEXED BY {index}"))
        .unwrap_or_default()
}

/// The table hint for a page of `ip/operator`.
pub(super) async fn operator_ip_page_hint(
    store: &Store,
    page: &Page,
    total: i64,
) -> Result<String> {
    let rows = estimated_rows(store, "operator_ips").await?;
    Ok(indexed_by(sort_index(
        page,
        OPERATOR_IP_SORT_INDEXES,
        total,
        rows,
    )))
}

/// How one `ip/modem` request reads the history.
pub(super) struct PortIpPlan {
    /// The total when no count query is needed.
    pub known_total: Option<i64>,
    /// Table hint for the count query.
    pub count_hint: &'static str,
    small_scope: bool,
    large_scope_scan: bool,
}

impl PortIpPlan {
    pub async fn choose(store: &Store, scope: Scope, conditions: &[Condition]) -> Result<Self> {
        let point = conditions.iter().any(|c| POINT_FILTERS.contains(&c.key));
        match scope {
            Scope::All => {
                // Counting without a WHERE clause counts b-tree cells without decoding them.
                let known_total = if conditions.is_empty() {
                    Some(
                        sqlx::query_scalar("SELECT count(*) FROM port_ips")
                            .fetch_one(store.pool())
                            .await?,
                    )
                } else {
                    None
                };
                Ok(Self {
                    known_total,
                    count_hint: "",
                    small_scope: false,
                    large_scope_scan: false,
                })
            }
            Scope::User(user_id) => match scoped_rows_below(store, user_id, SMALL_SCOPE).await? {
                Some(rows) => Ok(Self {
                    known_total: conditions.is_empty().then_some(rows),
                    count_hint: COVER,
                    small_scope: true,
                    large_scope_scan: false,
                }),
                // A large share of the farm: the covering index still counts without table
                // reads, unless a point filter's own index finds the few rows directly.
                None => Ok(Self {
                    known_total: None,
                    count_hint: if point { "" } else { COVER },
                    small_scope: false,
                    large_scope_scan: !point,
                }),
            },
        }
    }

    /// The table hint for the page query, given the total.
    pub async fn page_hint(&self, store: &Store, page: &Page, total: i64) -> Result<String> {
        if self.small_scope {
            // Read every row of the scope from the covering index and sort the matches.
            return Ok(COVER.to_string());
        }
        let rows = estimated_rows(store, "port_ips").await?;
        if let Some(index) = sort_index(page, PORT_IP_SORT_INDEXES, total, rows) {
            return Ok(indexed_by(Some(index)));
        }
        if self.large_scope_scan && page.field == "id" && total > 0 {
            // The scope's port list matches much of the table: walking ids and checking the
            // port finds a page far sooner than sorting every row of those ports.
            return Ok(" NOT INDEXED".to_string());
        }
        Ok(String::new())
    }
}

/// How many history rows the user's ports have, if fewer than `limit` (counting stops
/// there, so a user with a large share of the farm costs no more than a small one).
async fn scoped_rows_below(store: &Store, user_id: i64, limit: i64) -> Result<Option<i64>> {
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM port_ips INDEXED BY port_ips_port \
         WHERE port_id IN (SELECT port_id FROM port_users WHERE user_id = ?) LIMIT ?)",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_one(store.pool())
    .await?;
    Ok((rows < limit).then_some(rows))
}
