//! What enforcement reads: the whole rule set with the journal position it stands at, then
//! the journal entries after that position; and the upkeep of both (sweeping expired rules,
//! pruning old journal entries).
//!
//! Writers are serialised by SQLite, so journal entries commit in `seq` order and a reader
//! that asks for everything after its last `seq` misses nothing. A reader that fell behind
//! the pruned part, or meets a `reload` entry (a bulk import), reads the whole set again.

use kordon_model::ipfilter::book::BookRule;
use kordon_model::ipfilter::{Expiry, RuleKind};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::network::network_from;
use crate::{Change, Result, Store, StoreError};

const OP_INSERT: i64 = 1;
const OP_DELETE: i64 = 2;
pub(crate) const OP_RELOAD: i64 = 3;

/// Rules read per query when loading the whole set.
const LOAD_CHUNK: i64 = 20_000;

/// One journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalEntry {
    /// A rule appeared (or took new values: an update is a removal then an insert).
    Insert(BookRule),
    /// A rule went away; it carries the values it had.
    Remove(BookRule),
}

/// The entries after a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalRead {
    /// Apply these in order; `last_seq` is the new position.
    Entries {
        entries: Vec<JournalEntry>,
        last_seq: i64,
    },
    /// The reader must read the whole set again (bulk import, or it fell behind the prune).
    Reload,
}

/// The whole rule set as enforcement needs it, and the journal position it matches.
#[derive(Debug, Clone)]
pub struct EnforcementState {
    pub seq: i64,
    pub rules: Vec<BookRule>,
}

fn book_rule(row: &SqliteRow, id_column: &str) -> Result<BookRule> {
    let id: i64 = row.try_get(id_column)?;
    let unreadable = || {
        StoreError::Db(sqlx::Error::Decode(
            format!("ipfilter rule {id}: unreadable network or type").into(),
        ))
    };
    let network =
        network_from(row.try_get("ip_key")?, row.try_get("prefix_len")?).ok_or_else(unreadable)?;
    let kind = RuleKind::from_code(row.try_get("kind")?).ok_or_else(unreadable)?;
    Ok(BookRule {
        id,
        network,
        kind,
        expiry: Expiry::from_unix(row.try_get("expires_at")?),
    })
}

/// The journal position the rows seen by `conn` stand at: the highest `seq` ever given,
/// pruned entries included.
pub(crate) async fn journal_position(conn: &mut SqliteConnection) -> Result<i64> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'ipfilter_journal'")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(seq.unwrap_or(0))
}

/// Every stored rule (expired ones not swept yet included), handed to `each` in id order.
/// Read a chunk at a time: a million rows fetched at once would hold every row's decoded
/// values in memory together.
pub(crate) async fn each_stored_rule(
    conn: &mut SqliteConnection,
    mut each: impl FnMut(BookRule),
) -> Result<()> {
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT id, ip_key, prefix_len, kind, expires_at FROM ipfilter_rules \
             WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(LOAD_CHUNK)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let rule = book_rule(row, "id")?;
            after = rule.id;
            each(rule);
        }
        if (rows.len() as i64) < LOAD_CHUNK {
            return Ok(());
        }
    }
}

/// Up to `limit` journal entries after `seq`, as `conn` sees them.
pub(crate) async fn journal_after(
    conn: &mut SqliteConnection,
    seq: i64,
    limit: i64,
) -> Result<JournalRead> {
    let floor: i64 = sqlx::query_scalar("SELECT journal_floor FROM ipfilter_meta WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    if seq < floor {
        return Ok(JournalRead::Reload);
    }
    let rows = sqlx::query(
        "SELECT seq, op, rule_id, ip_key, prefix_len, kind, expires_at FROM ipfilter_journal \
         WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut entries = Vec::with_capacity(rows.len());
    let mut last_seq = seq;
    for row in &rows {
        last_seq = row.try_get("seq")?;
        match row.try_get::<i64, _>("op")? {
            OP_INSERT => entries.push(JournalEntry::Insert(book_rule(row, "rule_id")?)),
            OP_DELETE => entries.push(JournalEntry::Remove(book_rule(row, "rule_id")?)),
            _ => return Ok(JournalRead::Reload),
        }
    }
    Ok(JournalRead::Entries { entries, last_seq })
}

impl Store {
    /// Every stored rule (expired ones not swept yet included: their expiry says so) and the
    /// journal position they stand at, read in one transaction.
    pub async fn ipfilter_enforcement_state(&self) -> Result<EnforcementState> {
        let mut tx = self.pool().begin().await?;
        let seq = journal_position(&mut tx).await?;
        let mut rules = Vec::new();
        each_stored_rule(&mut tx, |rule| rules.push(rule)).await?;
        tx.commit().await?;
        Ok(EnforcementState { seq, rules })
    }

    /// Up to `limit` journal entries after `seq`.
    pub async fn ipfilter_journal_since(&self, seq: i64, limit: i64) -> Result<JournalRead> {
        let mut tx = self.pool().begin().await?;
        let read = journal_after(&mut tx, seq, limit).await?;
        tx.commit().await?;
        Ok(read)
    }

    /// Deletes the rules expired at `now`; returns how many.
    pub async fn sweep_expired_ipfilter_rules(&self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM ipfilter_rules WHERE expires_at <= ?")
            .bind(now)
            .execute(self.pool())
            .await?;
        if done.rows_affected() > 0 {
            self.emit(Change::IpFilter);
        }
        Ok(done.rows_affected())
    }

    /// The earliest expiry of any stored rule.
    pub async fn next_ipfilter_expiry(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT min(expires_at) FROM ipfilter_rules")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Drops journal entries written before `before` (unix seconds); a reader still behind
    /// them will reload.
    pub async fn prune_ipfilter_journal(&self, before: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let highest: Option<i64> =
            sqlx::query_scalar("SELECT max(seq) FROM ipfilter_journal WHERE at < ?")
                .bind(before)
                .fetch_one(&mut *tx)
                .await?;
        if let Some(highest) = highest {
            sqlx::query("DELETE FROM ipfilter_journal WHERE seq <= ?")
                .bind(highest)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE ipfilter_meta SET journal_floor = ? WHERE id = 1")
                .bind(highest)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfilter::bulk::Duplicates;
    use kordon_model::ipfilter::RuleSpec;

    fn spec(net: &str, kind: RuleKind, expires_at: Option<i64>) -> RuleSpec {
        RuleSpec {
            network: net.parse().unwrap(),
            kind,
            expires_at,
            description: String::new(),
        }
    }

    #[tokio::test]
    async fn journal_tells_every_change_in_order() {
        let store = Store::open_url("sqlite::memory:").await.unwrap();
        let start = store.ipfilter_enforcement_state().await.unwrap();
        assert!(start.rules.is_empty());
        let block = spec("10.0.0.0/8", RuleKind::PermanentBlock, None);
        let rule = store.create_ipfilter_rule(&block, 100).await.unwrap();
        let permit = spec("10.1.2.3/32", RuleKind::Permit, Some(500));
        store
            .update_ipfilter_rule(rule.id, &permit, 100)
            .await
            .unwrap();
        store.delete_ipfilter_rule(rule.id, 100).await.unwrap();
        let JournalRead::Entries { entries, last_seq } =
            store.ipfilter_journal_since(start.seq, 100).await.unwrap()
        else {
            panic!("no reload expected");
        };
        let kinds: Vec<(bool, RuleKind)> = entries
            .iter()
            .map(|e| match e {
                JournalEntry::Insert(r) => (true, r.kind),
                JournalEntry::Remove(r) => (false, r.kind),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (true, RuleKind::PermanentBlock),
                (false, RuleKind::PermanentBlock),
                (true, RuleKind::Permit),
                (false, RuleKind::Permit),
            ]
        );
        assert_eq!(
            store.ipfilter_journal_since(last_seq, 100).await.unwrap(),
            JournalRead::Entries {
                entries: vec![],
                last_seq
            }
        );

        // An import is one reload; pruning sends readers behind it to reload too.
        store
            .import_ipfilter_rules(std::slice::from_ref(&block), Duplicates::Refuse, 100)
            .await
            .unwrap();
        assert_eq!(
            store.ipfilter_journal_since(last_seq, 100).await.unwrap(),
            JournalRead::Reload
        );
        let state = store.ipfilter_enforcement_state().await.unwrap();
        assert_eq!(state.rules.len(), 1);
        store.prune_ipfilter_journal(i64::MAX).await.unwrap();
        assert_eq!(
            store.ipfilter_journal_since(last_seq, 100).await.unwrap(),
            JournalRead::Reload
        );
        assert!(matches!(
            store.ipfilter_journal_since(state.seq, 100).await.unwrap(),
            JournalRead::Entries { .. }
        ));
        assert_eq!(store.ipfilter_rule_count(100).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn sweep_removes_expired_rules() {
        let store = Store::open_url("sqlite::memory:").await.unwrap();
        let timed = spec("192.0.2.0/24", RuleKind::TimedBlock, Some(200));
        store.create_ipfilter_rule(&timed, 100).await.unwrap();
        assert_eq!(store.next_ipfilter_expiry().await.unwrap(), Some(200));
        assert_eq!(store.ipfilter_rule_count(200).await.unwrap(), 0);
        assert_eq!(store.sweep_expired_ipfilter_rules(199).await.unwrap(), 0);
        assert_eq!(store.sweep_expired_ipfilter_rules(200).await.unwrap(), 1);
        assert_eq!(store.next_ipfilter_expiry().await.unwrap(), None);
        assert_eq!(store.ipfilter_rule_count(0).await.unwrap(), 0);
    }
}
