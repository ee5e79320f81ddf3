//! Keeps one listener per profile of the current table: opens listeners for new profiles,
//! closes those of removed ones (closing their connections), and hands changed profiles to
//! their running listener so its connections stay up.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::listener;
use super::Plane;
use crate::table::{Profile, ProxyTable, TableHandle};

/// What a listener serves: the profile, and the token that ends the connections accepted
/// for it. A new profile id on the same port (one deleted, another added in the same rebuild)
/// gets a fresh token and the old one is cancelled: the deleted profile's connections close,
/// the listening socket stays open.
pub(super) type Serving = (Arc<Profile>, CancellationToken);

struct Running {
    serving: watch::Sender<Serving>,
    stop: CancellationToken,
}

pub(super) async fn run(plane: Arc<Plane>, table: TableHandle, shutdown: CancellationToken) {
    let mut updates = table.subscribe();
    let mut running: BTreeMap<u16, Running> = BTreeMap::new();
    let mut tasks = JoinSet::new();
    let mut applied = Arc::new(ProxyTable::default());
    loop {
        let current = updates.borrow_and_update().clone();
        apply(
            &plane,
            &applied,
            &current,
            &mut running,
            &mut tasks,
            &shutdown,
        );
        plane.buckets.apply(&current);
        applied = current;
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = updates.changed() => if changed.is_err() { break },
            // Reap finished listeners so the set does not grow with churn.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    for (_, listener) in std::mem::take(&mut running) {
        listener.stop.cancel();
    }
    while tasks.join_next().await.is_some() {}
}

fn apply(
    plane: &Arc<Plane>,
    before: &ProxyTable,
    after: &ProxyTable,
    running: &mut BTreeMap<u16, Running>,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) {
    let diff = before.diff(after);
    for port in &diff.removed {
        if let Some(listener) = running.remove(port) {
            listener.stop.cancel();
            tracing::info!(port, "proxy listener closed");
        }
    }
    for port in &diff.changed {
        if let (Some(listener), Some(profile)) = (running.get(port), after.profile(*port)) {
            listener.serving.send_modify(|(current, sessions)| {
                if current.id != profile.id {
                    sessions.cancel();
                    *sessions = listener.stop.child_token();
                }
                *current = Arc::clone(profile);
            });
        }
    }
    for port in &diff.added {
        let Some(profile) = after.profile(*port) else {
            continue;
        };
        let stop = shutdown.child_token();
        let (sender, receiver) = watch::channel((Arc::clone(profile), stop.child_token()));
        tasks.spawn(listener::run(
            Arc::clone(plane),
            *port,
            receiver,
            stop.clone(),
        ));
        running.insert(
            *port,
            Running {
                serving: sender,
                stop,
            },
        );
    }
}
