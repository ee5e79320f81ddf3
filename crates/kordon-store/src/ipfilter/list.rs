//! The paged list of alive rules.
//!
//! Each sort key has an index whose order is exactly the `ORDER BY` (the last term is unique)
//! and which holds the sort key and the id (most also the expiry), so a page is a walk over
//! `offset + pagesize` narrow index entries that never touches a table row; only the page's own
//! rows are then read by id. A page in the far half is walked from the other end. The total is the
//! trigger-kept row count less the expired rows not swept yet (an index range that is empty
//! between sweeps); when there are none, the walk skips the expiry test.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Sqlite};

use super::{rule_from_row, IpFilterRule, RULE_COLUMNS};
use crate::{Result, Store};

/// Up to this many expired rows not swept yet, a page walks its index without testing expiry
/// and accounts for them afterwards (each walked entry tested costs more than the walk).
const FEW_EXPIRED: i64 = 1000;

/// What a list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSort {
    Id,
    Ip,
    Type,
    ExpiresTime,
}

impl RuleSort {
    /// The sort names the API accepts (`DEFAULT` is `id`).
    pub const NAMES: [(&'static str, RuleSort); 4] = [
        ("id", RuleSort::Id),
        ("ip", RuleSort::Ip),
        ("type", RuleSort::Type),
        ("expires_time", RuleSort::ExpiresTime),
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, sort)| *sort)
    }

    /// The `ORDER BY` terms, each followed by the direction. Permanent rules (no expiry)
    /// sort before every dated one in ascending order (SQLite's place for NULL, which lets
    /// the `expires_at` index give the order).
    fn terms(self) -> &'static [&'static str] {
        match self {
            RuleSort::Id => &["id"],
            RuleSort::Ip => &["ip_key", "prefix_len", "kind"],
            RuleSort::Type => &["kind", "id"],
            RuleSort::ExpiresTime => &["expires_at", "id"],
        }
    }

    /// The index in the order of `terms` whose entries hold the sort key and the id, and
    /// whether they hold `expires_at` too (the network index, unique on the network and type,
    /// does not: a second copy of it would double the largest index).
    fn index(self) -> (&'static str, bool) {
        match self {
            RuleSort::Id => ("ipfilter_rules_id", true),
            RuleSort::Ip => ("ipfilter_rules_network", false),
            RuleSort::Type => ("ipfilter_rules_kind_id", true),
            RuleSort::ExpiresTime => ("ipfilter_rules_expiry", true),
        }
    }
}

/// A checked page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulePage {
    /// 1-based.
    pub page: i64,
    pub pagesize: i64,
    pub sort: RuleSort,
    pub descending: bool,
}

impl RulePage {
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.pagesize)
    }

    /// Pages of `total` rows.
    pub fn page_count(&self, total: i64) -> i64 {
        (total + self.pagesize - 1) / self.pagesize
    }
}

/// `ORDER BY` the sort's terms of the table (or alias) `table`.
fn push_order(query: &mut QueryBuilder<'_, Sqlite>, table: &str, sort: RuleSort, descending: bool) {
    let dir = if descending { "DESC" } else { "ASC" };
    let terms: Vec<String> = sort
        .terms()
        .iter()
        .map(|term| format!("{table}.{term} {dir}"))
        .collect();
    query.push(format!(" ORDER BY {}", terms.join(", ")));
}

/// `RULE_COLUMNS`, each of the table alias `table`.
fn qualified_columns(table: &str) -> String {
    RULE_COLUMNS
        .split(", ")
        .map(|column| format!("{table}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The number of alive rules at `now`.
    pub async fn ipfilter_rule_count(&self, now: i64) -> Result<i64> {
        let (alive, _) = self.ipfilter_rule_counts(now).await?;
        Ok(alive)
    }

    /// The numbers of alive rules and of expired rows not swept yet, at `now`.
    async fn ipfilter_rule_counts(&self, now: i64) -> Result<(i64, i64)> {
        let stored: i64 = sqlx::query_scalar("SELECT rule_count FROM ipfilter_meta WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let expired: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ipfilter_rules WHERE expires_at <= ?")
                .bind(now)
                .fetch_one(self.pool())
                .await?;
        Ok((stored - expired, expired))
    }

    /// One page of alive rules and the total.
    pub async fn list_ipfilter_rules(
        &self,
        page: &RulePage,
        now: i64,
    ) -> Result<(i64, Vec<IpFilterRule>)> {
        let (total, expired) = self.ipfilter_rule_counts(now).await?;
        let offset = page.offset();
        if offset >= total {
            return Ok((total, Vec::new()));
        }
        // In the far half, walk from the other end: SQLite steps over OFFSET entries one by one.
        let from_end = offset > total / 2;
        let (descending, skip, take) = if from_end {
            let end = (offset + page.pagesize).min(total);
            (!page.descending, total - end, end - offset)
        } else {
            (page.descending, offset, page.pagesize)
        };
        let (index, holds_expiry) = page.sort.index();
        if expired > 0 && expired <= FEW_EXPIRED && page.sort != RuleSort::ExpiresTime {
            let mut rules = self
                .walk_past_expired(page.sort, descending, skip, take, expired, now)
                .await?;
            if from_end {
                rules.reverse();
            }
            return Ok((total, rules));
        }
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {} FROM (SELECT id FROM ipfilter_rules AS walked INDEXED BY {index}",
            qualified_columns("rule"),
        ));
        // Between sweeps no stored rule has expired, and the walk need not test expiry.
        // Otherwise the walk tests each entry's own expiry when its index holds it; when not,
        // the expired ids are gathered once from the expiry index, so the walk still reads
        // only its own index. A rule is expired exactly when `expires_at <= now` (NULL,
        // permanent, never is).
        if expired > 0 && holds_expiry {
            query.push(" WHERE (walked.expires_at IS NULL OR walked.expires_at > ");
            query.push_bind(now);
            query.push(")");
        } else if expired > 0 {
            query.push(
                " WHERE walked.id NOT IN (SELECT id FROM ipfilter_rules WHERE expires_at <= ",
            );
            query.push_bind(now);
            query.push(")");
        }
        push_order(&mut query, "walked", page.sort, descending);
        query.push(" LIMIT ");
        query.push_bind(take);
        query.push(" OFFSET ");
        query.push_bind(skip);
        // CROSS JOIN keeps the page as the outer loop: its ids are looked up, and the
        // page's rows alone are sorted again (the subquery's order does not survive a join).
        query.push(") AS page CROSS JOIN ipfilter_rules AS rule ON rule.id = page.id");
        push_order(&mut query, "rule", page.sort, descending);
        let rows = query.build().fetch_all(self.pool()).await?;
        let mut rules = rows.iter().map(rule_from_row).collect::<Result<Vec<_>>>()?;
        if from_end {
            rules.reverse();
        }
        Ok((total, rules))
    }

    /// The `take` alive rules after `skip` alive ones while a few expired rows (`expired`)
    /// are not swept yet, without testing each walked entry: the walk over the index skips
    /// `skip` entries, alive or not, and reads `take + expired` more; the expired rows sorting
    /// before its first entry tell how many alive ones of those to pass over. One read
    /// transaction, so every step sees the same rows. Not for the expiry sort, whose
    /// `expires_at` may be NULL, which a row-value comparison cannot order.
    async fn walk_past_expired(
        &self,
        sort: RuleSort,
        descending: bool,
        skip: i64,
        take: i64,
        expired: i64,
        now: i64,
    ) -> Result<Vec<IpFilterRule>> {
        let mut tx = self.pool().begin().await?;
        let mut walk = QueryBuilder::<Sqlite>::new(format!(
            "SELECT id FROM ipfilter_rules AS walked INDEXED BY {}",
            sort.index().0
        ));
        push_order(&mut walk, "walked", sort, descending);
        walk.push(" LIMIT ");
        walk.push_bind(take + expired);
        walk.push(" OFFSET ");
        walk.push_bind(skip);
        let walked: Vec<i64> = walk.build_query_scalar().fetch_all(&mut *tx).await?;
        let Some(&first) = walked.first() else {
            return Ok(Vec::new());
        };
        let terms = |table: &str| {
            sort.terms()
                .iter()
                .map(|term| format!("{table}.{term}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let before: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM ipfilter_rules AS gone INDEXED BY ipfilter_rules_expiry \
             WHERE gone.expires_at <= ? \
             AND ({}) {} (SELECT {} FROM ipfilter_rules AS first WHERE first.id = ?)",
            terms("gone"),
            if descending { ">" } else { "<" },
            terms("first"),
        ))
        .bind(now)
        .bind(first)
        .fetch_one(&mut *tx)
        .await?;
        let gone: HashSet<i64> =
            sqlx::query_scalar("SELECT id FROM ipfilter_rules WHERE expires_at <= ?")
                .bind(now)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let ids: Vec<i64> = walked
            .into_iter()
            .filter(|id| !gone.contains(id))
            .skip(usize::try_from(before).unwrap_or(0))
            .take(usize::try_from(take).unwrap_or(0))
            .collect();
        let mut read = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {RULE_COLUMNS} FROM ipfilter_rules WHERE id IN ("
        ));
        let mut list = read.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        read.push(")");
        let rows = read.build().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut by_id = rows
            .iter()
            .map(|row| rule_from_row(row).map(|rule| (rule.id, rule)))
            .collect::<Result<HashMap<_, _>>>()?;
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }
}
