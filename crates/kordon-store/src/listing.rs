//! Turning checked filters ([`kordon_model::filter::Condition`]) and pages into SQL.
//!
//! Each list declares its filter keys together with the SQL expression each compares; values
//! are always bound, never spliced, and the sort column comes from the declaration only.

use kordon_model::filter::{Condition, FilterKey, FilterKind, FilterValue, Page, SortDir};
use sqlx::{QueryBuilder, Sqlite};

/// A filter key of a list and the SQL expression it compares.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: FilterKey,
    pub sql: &'static str,
}

impl Column {
    pub const fn new(key: &'static str, kind: FilterKind, sql: &'static str) -> Self {
        Self {
            key: FilterKey::new(key, kind),
            sql,
        }
    }
}

/// The declared keys of a column table, for [`kordon_model::filter::parse_filter`].
pub fn keys(columns: &[Column]) -> Vec<FilterKey> {
    columns.iter().map(|c| c.key).collect()
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Appends ` AND <condition>` for each condition. The builder must already hold a `WHERE`
/// clause (use `WHERE 1=1` when there is no other).
pub fn push_conditions(
    query: &mut QueryBuilder<'_, Sqlite>,
    conditions: &[Condition],
    columns: &[Column],
) {
    for condition in conditions {
        let Some(column) = columns.iter().find(|c| c.key.key == condition.key) else {
            continue;
        };
        query.push(" AND ");
        match (&column.key.kind, &condition.value) {
            (FilterKind::TextIContains, FilterValue::Text(text)) => {
                // SQLite folds ASCII case only (`lower`, `LIKE`). The values matched here are
                // ASCII by rule (logins, IPs); a list whose values may be non-ASCII (port
                // names) folds in Rust instead, see `ports::list_ports`.
                query.push(format!("lower({}) LIKE lower(", column.sql));
                query.push_bind(escape_like(text));
                query.push(") ESCAPE '\\'");
            }
            (FilterKind::TextContains, FilterValue::Text(text)) => {
                query.push(format!("instr({}, ", column.sql));
                query.push_bind(text.clone());
                query.push(") > 0");
            }
            (_, FilterValue::IntList(items)) => {
                if items.is_empty() {
                    query.push("0");
                    continue;
                }
                query.push(format!("{} IN (", column.sql));
                let mut separated = query.separated(", ");
                for item in items {
                    separated.push_bind(*item);
                }
                query.push(")");
            }
            (_, FilterValue::TextList(items)) => {
                if items.is_empty() {
                    query.push("0");
                    continue;
                }
                query.push(format!("{} IN (", column.sql));
                let mut separated = query.separated(", ");
                for item in items {
                    separated.push_bind(item.clone());
                }
                query.push(")");
            }
            (_, FilterValue::TimeRange(from, to)) => {
                query.push(format!("{} BETWEEN ", column.sql));
                query.push_bind(*from);
                query.push(" AND ");
                query.push_bind(*to);
            }
            (_, FilterValue::Bool(value)) => {
                query.push(format!("{} = ", column.sql));
                query.push_bind(*value);
            }
            (_, FilterValue::Int(value)) | (_, FilterValue::Time(value)) => {
                query.push(format!("{} = ", column.sql));
                query.push_bind(*value);
            }
            (_, FilterValue::Text(value)) => {
                query.push(format!("{} = ", column.sql));
                query.push_bind(value.clone());
            }
        }
    }
}

/// A sortable field of a list and its SQL expression.
#[derive(Debug, Clone, Copy)]
pub struct SortColumn {
    pub field: &'static str,
    pub sql: &'static str,
}

/// The field names of a sort table, for [`kordon_model::filter::parse_page`].
pub fn sortable(columns: &[SortColumn]) -> Vec<&'static str> {
    columns.iter().map(|c| c.field).collect()
}

/// Appends ` ORDER BY … LIMIT … OFFSET …`; ties break on `id_sql` in the same direction so
/// pages never overlap.
pub fn push_page(
    query: &mut QueryBuilder<'_, Sqlite>,
    page: &Page,
    sorts: &[SortColumn],
    id_sql: &str,
) {
    push_order(query, page, sorts, id_sql, page.sort);
    query.push(" LIMIT ");
    query.push_bind(page.perpage);
    query.push(" OFFSET ");
    query.push_bind(page.offset());
}

/// Like [`push_page`] for a result of `total` rows, but a page in the far half is read from
/// the other end (reversed order, small offset): SQLite walks an OFFSET entry by entry, so the
/// last page of a million rows would otherwise cost a walk over all of them. Returns whether
/// the rows come back reversed; the caller then reverses them.
#[must_use = "reversed rows must be put back in order"]
pub fn push_page_from_nearer_end(
    query: &mut QueryBuilder<'_, Sqlite>,
    page: &Page,
    sorts: &[SortColumn],
    id_sql: &str,
    total: i64,
) -> bool {
    let offset = page.offset();
    if offset < total / 2 || offset >= total {
        push_page(query, page, sorts, id_sql);
        return false;
    }
    let end = (offset + page.perpage).min(total);
    let reversed = match page.sort {
        SortDir::Asc => SortDir::Desc,
        SortDir::Desc => SortDir::Asc,
    };
    push_order(query, page, sorts, id_sql, reversed);
    query.push(" LIMIT ");
    query.push_bind(end - offset);
    query.push(" OFFSET ");
    query.push_bind(total - end);
    true
}

fn push_order(
    query: &mut QueryBuilder<'_, Sqlite>,
    page: &Page,
    sorts: &[SortColumn],
    id_sql: &str,
    direction: SortDir,
) {
    query.push(format!(
        " ORDER BY {}",
        order_terms(page, sorts, id_sql, direction)
    ));
}

/// The terms of the page's `ORDER BY` (`column DIR, id DIR`), for a query that must repeat the
/// order elsewhere, e.g. in an aggregate's `ORDER BY`.
pub fn order_terms(page: &Page, sorts: &[SortColumn], id_sql: &str, direction: SortDir) -> String {
    let column = sorts
        .iter()
        .find(|s| s.field == page.field)
        .map(|s| s.sql)
        .unwrap_or(id_sql);
    let dir = match direction {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    };
    if column == id_sql {
        format!("{column} {dir}")
    } else {
        format!("{column} {dir}, {id_sql} {dir}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("a_b%"), "%a\\_b\\%%");
    }
}
