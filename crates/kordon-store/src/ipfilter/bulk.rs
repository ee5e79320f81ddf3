//! Bulk import and export. An import is one transaction: every rule goes in, or none does.
//! Its rows are journaled as a single `reload` entry (enforcement reads the whole set once)
//! instead of one entry per rule.

use std::collections::HashMap;

use kordon_model::ipfilter::RuleSpec;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::journal::OP_RELOAD;
use super::{duplicate_message, network_key, rule_from_row, IpFilterRule, RULE_COLUMNS};
use crate::{Change, Result, Store, StoreError};

/// Rows per INSERT statement (7 bound values each, well under SQLite's limit of 32766).
const ROWS_PER_STATEMENT: usize = 1000;

/// What an import does with a rule whose network and type are already stored (or repeated
/// earlier in the same import).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// The whole import fails, naming the first duplicate.
    Refuse,
    /// The rule is left out; the stored one stays.
    Skip,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOutcome {
    pub created: u64,
    pub skipped: u64,
}

async fn set_bulk(tx: &mut Transaction<'_, Sqlite>, bulk: bool) -> Result<()> {
    sqlx::query("UPDATE ipfilter_meta SET bulk = ? WHERE id = 1")
        .bind(bulk)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts `chunk`, leaving out duplicates; returns how many went in.
async fn insert_chunk(
    tx: &mut Transaction<'_, Sqlite>,
    chunk: &[RuleSpec],
    now: i64,
) -> Result<u64> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO ipfilter_rules \
         (ip_key, ip, prefix_len, kind, expires_at, description, created_at) ",
    );
    query.push_values(chunk, |mut row, spec| {
        row.push_bind(network_key(&spec.network))
            .push_bind(spec.network.addr().to_string())
            .push_bind(i64::from(spec.network.prefix_len()))
            .push_bind(spec.kind.code())
            .push_bind(spec.expires_at)
            .push_bind(spec.description.clone())
            .push_bind(now);
    });
    query.push(" ON CONFLICT (ip_key, prefix_len, kind) DO NOTHING");
    Ok(query.build().execute(&mut **tx).await?.rows_affected())
}

/// The first rule of the import that repeats an earlier one of the same import.
fn repeated_within(specs: &[RuleSpec]) -> Option<StoreError> {
    let mut seen = HashMap::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        if let Some(first) = seen.insert((spec.network, spec.kind), index) {
            return Some(StoreError::conflict(
                &format!("ip_filters[{index}].ip"),
                format!(
                    "A type {} rule for {} is already item {first} of this import.",
                    spec.kind.code(),
                    spec.network
                ),
            ));
        }
    }
    None
}

/// The first rule of `chunk` (numbered from `chunk_start` in the import) whose network and
/// type a rule stored before the import (id at most `stored_max`) already has. Only asked
/// after a chunk came up short.
async fn first_stored_twin(
    tx: &mut Transaction<'_, Sqlite>,
    chunk: &[RuleSpec],
    chunk_start: usize,
    stored_max: i64,
) -> Result<StoreError> {
    for (offset, spec) in chunk.iter().enumerate() {
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM ipfilter_rules \
             WHERE ip_key = ? AND prefix_len = ? AND kind = ? AND id <= ?",
        )
        .bind(network_key(&spec.network))
        .bind(i64::from(spec.network.prefix_len()))
        .bind(spec.kind.code())
        .bind(stored_max)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(id) = stored {
            return Ok(StoreError::conflict(
                &format!("ip_filters[{}].ip", chunk_start + offset),
                duplicate_message(spec, id),
            ));
        }
    }
    Ok(StoreError::conflict(
        "ip_filters",
        "A rule of this import duplicates a stored rule.",
    ))
}

impl Store {
    /// Stores every rule of `specs` in one transaction. Expired rules are swept first, so they
    /// never count as duplicates.
    pub async fn import_ipfilter_rules(
        &self,
        specs: &[RuleSpec],
        duplicates: Duplicates,
        now: i64,
    ) -> Result<ImportOutcome> {
        if duplicates == Duplicates::Refuse {
            if let Some(error) = repeated_within(specs) {
                return Err(error);
            }
        }
        let mut tx = self.pool().begin().await?;
        set_bulk(&mut tx, true).await?;
        let stored_max: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM ipfilter_rules")
            .fetch_one(&mut *tx)
            .await?;
        let swept = sqlx::query("DELETE FROM ipfilter_rules WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let mut created = 0;
        for (index, chunk) in specs.chunks(ROWS_PER_STATEMENT).enumerate() {
            let inserted = insert_chunk(&mut tx, chunk, now).await?;
            if inserted < chunk.len() as u64 && duplicates == Duplicates::Refuse {
                let start = index * ROWS_PER_STATEMENT;
                return Err(first_stored_twin(&mut tx, chunk, start, stored_max).await?);
            }
            created += inserted;
        }
        sqlx::query("INSERT INTO ipfilter_journal (op, rule_id, at) VALUES (?, 0, unixepoch())")
            .bind(OP_RELOAD)
            .execute(&mut *tx)
            .await?;
        // The count triggers stood aside while `bulk` was set.
        sqlx::query("UPDATE ipfilter_meta SET rule_count = rule_count + ? WHERE id = 1")
            .bind(created as i64 - swept as i64)
            .execute(&mut *tx)
            .await?;
        set_bulk(&mut tx, false).await?;
        tx.commit().await?;
        // Fold the import's write-ahead log (hundreds of MB for a million rules) into the
        // database now, before the followers start reading: otherwise the next small write
        // pays for the checkpoint (hundreds of milliseconds).
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(self.pool())
            .await?;
        self.emit(Change::IpFilter);
        // The import's `reload` entry makes the list's rank index read the whole table again
        // (seconds at a million rules): do it now, so no list waits for it.
        self.spawn_ipfilter_warm();
        Ok(ImportOutcome {
            created,
            skipped: specs.len() as u64 - created,
        })
    }

    /// Up to `limit` alive rules with ids above `after`, in id order (export reads the whole
    /// set chunk by chunk with this).
    pub async fn ipfilter_rules_after(
        &self,
        after: i64,
        limit: i64,
        now: i64,
    ) -> Result<Vec<IpFilterRule>> {
        let rows = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM ipfilter_rules \
             WHERE id > ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY id LIMIT ?"
        ))
        .bind(after)
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(rule_from_row).collect()
    }
}
