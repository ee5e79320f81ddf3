//! Keeping the table current: [`follow`] rebuilds it when the store reports a change to
//! anything a profile depends on and publishes it through a [`TableHandle`].

use std::sync::Arc;
use std::time::Duration;

use kordon_store::{Change, Store};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::ProxyTable;

/// Events of one burst (a batch edit, a port update touching several rows) arrive within a
/// few milliseconds; waiting this long after the first folds them into one rebuild and keeps
/// changes well within the one second the API promises.
const COALESCE: Duration = Duration::from_millis(50);

/// After a failed rebuild (the store busy or closing), the wait before trying again.
const RETRY: Duration = Duration::from_millis(250);

/// The current table, shared by the listeners. Cheap to clone; every clone sees the same
/// table.
#[derive(Clone)]
pub struct TableHandle {
    sender: Arc<watch::Sender<Arc<ProxyTable>>>,
}

impl TableHandle {
    pub fn new(table: ProxyTable) -> TableHandle {
        let (sender, _) = watch::channel(Arc::new(table));
        TableHandle {
            sender: Arc::new(sender),
        }
    }

    /// The table as of now; holding it never blocks a rebuild.
    pub fn current(&self) -> Arc<ProxyTable> {
        self.sender.borrow().clone()
    }

    /// A receiver that wakes on each new table (for the listener manager).
    pub fn subscribe(&self) -> watch::Receiver<Arc<ProxyTable>> {
        self.sender.subscribe()
    }

    /// Publishes `table` unless it equals the current one, so subscribers wake only for
    /// real changes. Returns whether it was published.
    pub fn replace(&self, table: ProxyTable) -> bool {
        self.sender.send_if_modified(|current| {
            if **current == table {
                false
            } else {
                *current = Arc::new(table);
                true
            }
        })
    }
}

/// Whether a change can alter the table.
fn concerns_table(change: Change) -> bool {
    matches!(
        change,
        Change::Proxies
            | Change::ProxyLogins
            | Change::ProxyIps
            | Change::SiteLists
            | Change::Ports
    )
}

/// Rebuilds the table on every relevant change until `shutdown` is cancelled or the store's
/// event channel closes. A lagged receiver has missed events, so it rebuilds too.
pub async fn follow(store: Store, handle: TableHandle, shutdown: CancellationToken) {
    let mut events = store.subscribe();
    // Whatever changed between the handle's first load and this subscription is picked up.
    let mut dirty = true;
    loop {
        if !dirty {
            let received = tokio::select! {
                _ = shutdown.cancelled() => return,
                received = events.recv() => received,
            };
            match received {
                Ok(change) if concerns_table(change) => {}
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(COALESCE) => {}
            }
            drain(&mut events);
        }
        match ProxyTable::load(&store).await {
            Ok(table) => {
                dirty = false;
                if handle.replace(table) {
                    tracing::debug!("proxy table rebuilt");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot rebuild the proxy table; retrying");
                dirty = true;
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(RETRY) => {}
                }
                drain(&mut events);
            }
        }
    }
}

/// Empties the queue: one rebuild reads the state after all of them.
fn drain(events: &mut broadcast::Receiver<Change>) {
    while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = events.try_recv() {}
}
