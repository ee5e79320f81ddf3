//! The `high` service ("operations" in the farm document): periodic store housekeeping —
//! checkpointing the WAL and refreshing the query planner's statistics.

use std::time::Duration;

use kordon_store::Store;
use kordon_supervisor::{ServiceToken, Supervisor};

pub const SERVICE: &str = "high";

pub async fn register(supervisor: &Supervisor, store: Store, every: Duration) {
    supervisor
        .register(SERVICE, "store housekeeping", move |token: ServiceToken| {
            let store = store.clone();
            async move {
                let mut ticker = tokio::time::interval(every);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticker.tick().await;
                loop {
                    tokio::select! {
                        _ = token.cancelled() => return,
                        _ = ticker.tick() => {
                            if let Err(error) = store.maintain().await {
                                tracing::warn!(%error, "store housekeeping failed");
                            }
                        }
                    }
                }
            }
        })
        .await;
}
