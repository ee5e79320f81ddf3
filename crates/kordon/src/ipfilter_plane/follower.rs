//! Following the store's ipfilter journal: an [`ElementBook`] of every stored rule and the
//! journal position it stands at, moved forward entry by entry.

use std::collections::BTreeSet;
use std::time::Duration;

use kordon_model::ipfilter::book::{ElementBook, ElementChange, Group};
use kordon_store::ipfilter::journal::{JournalEntry, JournalRead};
use kordon_store::{Change, Store, StoreError};
use kordon_supervisor::ServiceToken;
use tokio::sync::broadcast;

/// Journal entries read per query.
const JOURNAL_BATCH: i64 = 20_000;

/// What a step found.
#[derive(Debug)]
pub enum Step {
    Nothing,
    /// Elements changed; the groups are as they were before these changes.
    Changed {
        changes: Vec<ElementChange>,
        groups_before: BTreeSet<Group>,
    },
    /// The book was read again from scratch.
    Reloaded,
}

pub struct Follower {
    store: Store,
    pub book: ElementBook,
    seq: i64,
}

impl Follower {
    /// The whole rule set as it stands.
    pub async fn load(store: Store) -> Result<Self, StoreError> {
        let state = store.ipfilter_enforcement_state().await?;
        Ok(Self {
            store,
            book: ElementBook::from_rules(state.rules),
            seq: state.seq,
        })
    }

    pub fn groups(&self) -> BTreeSet<Group> {
        self.book.groups().collect()
    }

    /// Applies every journal entry written since the last step.
    pub async fn step(&mut self) -> Result<Step, StoreError> {
        let groups_before = self.groups();
        let mut changes = Vec::new();
        loop {
            match self
                .store
                .ipfilter_journal_since(self.seq, JOURNAL_BATCH)
                .await?
            {
                JournalRead::Reload => {
                    *self = Self::load(self.store.clone()).await?;
                    return Ok(Step::Reloaded);
                }
                JournalRead::Entries { entries, last_seq } => {
                    self.seq = last_seq;
                    let full = entries.len() as i64 == JOURNAL_BATCH;
                    for entry in entries {
                        let change = match entry {
                            JournalEntry::Insert(rule) => self.book.insert(rule),
                            JournalEntry::Remove(rule) => self.book.remove(rule),
                        };
                        changes.extend(change);
                    }
                    if !full {
                        break;
                    }
                }
            }
        }
        if changes.is_empty() {
            return Ok(Step::Nothing);
        }
        Ok(Step::Changed {
            changes,
            groups_before,
        })
    }
}

/// Why a follower woke up.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    Cancelled,
    /// A change event, a lagged receiver, or the timer.
    Look,
}

/// Waits for an ipfilter change (bursts coalesce: every pending event is taken), the timer
/// (`wait`: rules changed by another process emit no event here, and expiry needs no event),
/// or cancellation.
pub async fn wait(
    events: &mut broadcast::Receiver<Change>,
    wait: Duration,
    token: &ServiceToken,
) -> Wake {
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = token.cancelled() => return Wake::Cancelled,
            _ = &mut deadline => return Wake::Look,
            event = events.recv() => match event {
                Ok(Change::IpFilter) | Err(broadcast::error::RecvError::Lagged(_)) => break,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    token.cancelled().await;
                    return Wake::Cancelled;
                }
            },
        }
    }
    while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = events.try_recv() {}
    Wake::Look
}
