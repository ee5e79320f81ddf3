//! The paged list of alive rules. A page's ids are taken by rank from the in-memory rank
//! index (`order`), caught up from the journal inside the page's read transaction
//! (`catch_up`); then just those rows are read by id in the same transaction. No page walks
//! an SQLite index, whatever its depth, and every page is consistent with the table as that
//! transaction sees it (the writes of other connections and processes included).

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::catch_up::catch_up;
use super::{rule_from_row, IpFilterRule, RULE_COLUMNS};
use crate::{Result, Store, StoreError};

/// Ids looked up per query (well under SQLite's limit of bound values).
const IDS_PER_QUERY: usize = 1000;

/// What a list is sorted by: `id`; `ip` (network address, IPv4 first, then prefix length,
/// then type); `type` (then id); `expires_time` (permanent rules first, then by expiry and id).
/// Each order is total; `order` keeps them.
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

/// The stored rows of `ids`, by id.
async fn rules_by_id(
    conn: &mut SqliteConnection,
    ids: &[i64],
) -> Result<HashMap<i64, IpFilterRule>> {
    let mut by_id = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let mut read = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {RULE_COLUMNS} FROM ipfilter_rules WHERE id IN ("
        ));
        let mut list = read.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        read.push(")");
        for row in read.build().fetch_all(&mut *conn).await? {
            let rule = rule_from_row(&row)?;
            by_id.insert(rule.id, rule);
        }
    }
    Ok(by_id)
}

impl Store {
    /// The number of alive rules at `now`.
    pub async fn ipfilter_rule_count(&self, now: i64) -> Result<i64> {
        let stored: i64 = sqlx::query_scalar("SELECT rule_count FROM ipfilter_meta WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let expired: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ipfilter_rules WHERE expires_at <= ?")
                .bind(now)
                .fetch_one(self.pool())
                .await?;
        Ok(stored - expired)
    }

    /// One page of the rules alive at `now`, and their number.
    pub async fn list_ipfilter_rules(
        &self,
        page: &RulePage,
        now: i64,
    ) -> Result<(i64, Vec<IpFilterRule>)> {
        // Page numbers and sizes are checked positive by the API; anything else is no rows.
        let offset = usize::try_from(page.offset()).unwrap_or(0);
        let take = usize::try_from(page.pagesize).unwrap_or(0);
        // The lock is taken before a connection: lists waiting for it hold none.
        let mut slot = self.ipfilter_order.lock().await;
        let mut tx = self.pool().begin().await?;
        let order = catch_up(&mut tx, &mut slot, Some(now)).await?;
        let total = order.len() as i64;
        let ids = order.page_ids(page.sort, page.descending, offset, take);
        // Other lists may move the index on now: this page's rows are read in this
        // transaction, which sees the table the ids were taken from.
        drop(slot);
        let mut by_id = rules_by_id(&mut tx, &ids).await?;
        tx.commit().await?;
        let mut rules = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(rule) = by_id.remove(&id) else {
                // The index disagrees with the table (which the journal should make
                // impossible): build it anew at the next list rather than keep it.
                *self.ipfilter_order.lock().await = None;
                return Err(StoreError::Db(sqlx::Error::Decode(
                    format!("ipfilter rule {id} is in the list index but not stored").into(),
                )));
            };
            rules.push(rule);
        }
        Ok((total, rules))
    }
}
