//! The `ipfilter` service: the in-process admission snapshot, the sweep of expired rules and
//! the pruning of the journal.

use std::time::Duration;

use std::collections::HashMap;

use kordon_model::ipfilter::book::{Element, ElementChange};
use kordon_model::ipfilter::snapshot::{AdmissionHandle, IpFilterSnapshot};
use kordon_model::ipfilter::Expiry;
use kordon_store::Store;
use kordon_supervisor::ServiceToken;

use super::follower::{wait, Follower, Step, Wake};
use super::report::PlaneReport;

/// The longest sleep between two looks at the journal.
const POLL: Duration = Duration::from_secs(2);
/// Journal entries are kept this long (seconds) for followers that fall behind.
const JOURNAL_KEEP: i64 = 600;
/// Pause before retrying after a store error.
const RETRY: Duration = Duration::from_secs(2);

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How long to sleep so as to wake when `next_expiry` (unix seconds) passes, at most [`POLL`].
fn until(next_expiry: Option<i64>) -> Duration {
    let Some(at) = next_expiry else { return POLL };
    let left = at.saturating_mul(1000).saturating_sub(now_millis());
    Duration::from_millis(left.clamp(0, POLL.as_millis() as i64) as u64)
}

/// Changes kept over the snapshot's base before a new base is built (a base of a million
/// elements takes a few hundred milliseconds of CPU; a change table of this size, a few).
const OVERLAY_MAX: usize = 20_000;

/// The snapshot being published: a base built from the whole book, and the elements changed
/// since.
struct Publisher {
    admission: AdmissionHandle,
    report: PlaneReport,
    base: IpFilterSnapshot,
    changed: HashMap<Element, Option<Expiry>>,
}

impl Publisher {
    fn new(admission: AdmissionHandle, report: PlaneReport) -> Self {
        Self {
            admission,
            report,
            base: IpFilterSnapshot::default(),
            changed: HashMap::new(),
        }
    }

    /// Publishes a snapshot built from the whole book.
    fn rebuild(&mut self, follower: &Follower) {
        // CPU-bound for large books: keep the runtime's other tasks moving meanwhile.
        self.base = tokio::task::block_in_place(|| follower.book.snapshot());
        self.changed.clear();
        self.admission.publish(self.base.clone());
        self.report.in_process(true, follower.book.counts());
    }

    /// Publishes the base with `changes` (and earlier ones) over it.
    fn apply(&mut self, follower: &Follower, changes: &[ElementChange]) {
        for change in changes {
            self.changed.insert(change.element, change.after);
        }
        if self.changed.len() > OVERLAY_MAX {
            return self.rebuild(follower);
        }
        self.admission
            .publish(self.base.with_changes(&self.changed));
        self.report.in_process(true, follower.book.counts());
    }
}

pub async fn run(
    store: Store,
    admission: AdmissionHandle,
    report: PlaneReport,
    token: ServiceToken,
) {
    let mut events = store.subscribe();
    let mut follower = loop {
        match Follower::load(store.clone()).await {
            Ok(follower) => break follower,
            Err(error) => {
                tracing::error!(%error, "ipfilter: cannot read the rules; retrying");
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    };
    let mut publisher = Publisher::new(admission, report.clone());
    publisher.rebuild(&follower);
    tracing::info!(elements = follower.book.len(), "ipfilter: rules loaded");
    let mut last_prune = 0;
    let mut next_expiry = None;
    loop {
        if wait(&mut events, until(next_expiry), &token).await == Wake::Cancelled {
            report.in_process(false, (0, 0));
            return;
        }
        let now = now_millis().div_euclid(1000);
        let looked = async {
            store.sweep_expired_ipfilter_rules(now).await?;
            if now - last_prune >= 60 {
                store.prune_ipfilter_journal(now - JOURNAL_KEEP).await?;
                last_prune = now;
            }
            let step = follower.step().await?;
            next_expiry = store.next_ipfilter_expiry().await?;
            Ok::<_, kordon_store::StoreError>(step)
        };
        match looked.await {
            Ok(Step::Nothing) => {}
            Ok(Step::Changed { changes, .. }) => publisher.apply(&follower, &changes),
            Ok(Step::Reloaded) => publisher.rebuild(&follower),
            Err(error) => {
                tracing::warn!(%error, "ipfilter: cannot follow the rules; retrying");
                next_expiry = None;
            }
        }
    }
}
