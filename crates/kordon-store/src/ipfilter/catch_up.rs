//! Keeps the rank index (`order::RuleOrder`) equal to what one read transaction sees: the
//! journal entries after the index's position are applied, or the whole table is read again
//! when the journal says so (a bulk import, or entries pruned before the index read them).
//!
//! The index is changed only once everything it needs has been read: a failed read, or a
//! list whose request went away mid-way (its future dropped), leaves it as it was, still
//! consistent with its own journal position.

use sqlx::SqliteConnection;

use super::journal::{
    each_stored_rule, journal_after, journal_position, JournalEntry, JournalRead,
};
use super::order::{OrderBuilder, RuleOrder};
use crate::{Result, Store};

/// Journal entries read per query.
const JOURNAL_CHUNK: i64 = 10_000;

/// The index of the whole table as `conn` sees it.
async fn rebuild(conn: &mut SqliteConnection) -> Result<RuleOrder> {
    let seq = journal_position(conn).await?;
    let mut builder = OrderBuilder::default();
    each_stored_rule(conn, |rule| builder.add(&rule)).await?;
    Ok(builder.finish(seq))
}

/// Every journal entry after `seq` as `conn` sees them, or `Reload`.
async fn entries_after(conn: &mut SqliteConnection, mut seq: i64) -> Result<JournalRead> {
    let mut all = Vec::new();
    loop {
        match journal_after(conn, seq, JOURNAL_CHUNK).await? {
            JournalRead::Reload => return Ok(JournalRead::Reload),
            JournalRead::Entries { entries, last_seq } => {
                let done = (entries.len() as i64) < JOURNAL_CHUNK;
                all.extend(entries);
                seq = last_seq;
                if done {
                    return Ok(JournalRead::Entries {
                        entries: all,
                        last_seq: seq,
                    });
                }
            }
        }
    }
}

fn apply(order: &mut RuleOrder, entries: &[JournalEntry], last_seq: i64) {
    for entry in entries {
        match entry {
            JournalEntry::Insert(rule) => order.insert(rule),
            JournalEntry::Remove(rule) => order.remove(rule),
        }
    }
    order.advance(last_seq);
}

/// Brings the index in `slot` (built here if there is none) to the rows `conn` sees, less
/// the rules expired at `now` when given. A `now` earlier than the time the index was last
/// pruned at (the clock moved back) brings back rules it took out: the index is rebuilt.
pub(crate) async fn catch_up<'a>(
    conn: &mut SqliteConnection,
    slot: &'a mut Option<RuleOrder>,
    now: Option<i64>,
) -> Result<&'a RuleOrder> {
    // No await between taking the index out and putting it back unless it is dropped.
    let order = match slot.take() {
        Some(order) if now.is_none_or(|now| now >= order.pruned_at()) => order,
        _ => rebuild(conn).await?,
    };
    let order = slot.insert(order);
    match entries_after(conn, order.seq()).await? {
        JournalRead::Reload => *order = rebuild(conn).await?,
        JournalRead::Entries { entries, last_seq } => apply(order, &entries, last_seq),
    }
    if let Some(now) = now {
        order.prune(now);
    }
    Ok(order)
}

impl Store {
    /// Builds the list's rank index, or brings it up to date, without waiting for a list to
    /// need it: a build reads the whole table (seconds at a million rules).
    pub async fn warm_ipfilter_order(&self) -> Result<()> {
        let mut slot = self.ipfilter_order.lock().await;
        let mut tx = self.pool().begin().await?;
        catch_up(&mut tx, &mut slot, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `warm_ipfilter_order` in a task of its own; a failure is only logged (the next list
    /// catches up itself). Closing the store stops it: a short-lived command's `close` would
    /// otherwise wait for the build's connection (seconds at a million rules), and a build
    /// stopped midway leaves the index as it was (see the module's note).
    pub(crate) fn spawn_ipfilter_warm(&self) {
        let store = self.clone();
        let mut closing = self.pool().close_event();
        tokio::spawn(async move {
            match closing.do_until(store.warm_ipfilter_order()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "ipfilter list index not built ahead"),
                Err(_closed) => {
                    tracing::debug!("store closed before the ipfilter list index was built")
                }
            }
        });
    }
}
