//! The proxy plane's counters in the store: restored once at start (totals survive restarts)
//! and flushed every [`FLUSH_EVERY`] while the `proxy` service runs, and once more as it
//! stops. The API and `/metrics` read them from the store.

use std::time::Duration;

use kordon_proxy::stats::{PlaneStats, ProfileTotals, RefusalKind, StatsSnapshot, TrafficTotals};
use kordon_store::proxy_counters::{LoginCounters, ProxyCounters};
use kordon_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

/// Short enough that the API's figures look live, long enough that a farm of 10,000
/// profiles costs the store one small transaction every few seconds.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// Starts `stats` from the stored totals.
pub async fn restore(store: &Store, stats: &PlaneStats) -> Result<(), StoreError> {
    let (proxies, logins) = store.all_proxy_counters().await?;
    stats.restore(&StatsSnapshot {
        profiles: proxies
            .into_iter()
            .map(|row| {
                let totals = ProfileTotals {
                    traffic: TrafficTotals {
                        bytes_in: unsigned(row.bytes_in),
                        bytes_out: unsigned(row.bytes_out),
                        connections: unsigned(row.connections),
                    },
                    open: 0,
                    refusals: row
                        .refusals
                        .iter()
                        .filter_map(|(name, count)| {
                            Some((RefusalKind::from_name(name)?, unsigned(*count)))
                        })
                        .collect(),
                };
                (row.proxy_id, totals)
            })
            .collect(),
        logins: logins
            .into_iter()
            .map(|row| {
                let totals = TrafficTotals {
                    bytes_in: unsigned(row.bytes_in),
                    bytes_out: unsigned(row.bytes_out),
                    connections: unsigned(row.connections),
                };
                (row.login_id, totals)
            })
            .collect(),
    });
    Ok(())
}

/// Flushes every [`FLUSH_EVERY`] until `stop`, then once more.
pub async fn flush_until(store: Store, stats: std::sync::Arc<PlaneStats>, stop: CancellationToken) {
    let mut last = StatsSnapshot::default();
    loop {
        let stopping = tokio::select! {
            _ = stop.cancelled() => true,
            _ = tokio::time::sleep(FLUSH_EVERY) => false,
        };
        let now = stats.snapshot();
        if now != last {
            match save(&store, &now).await {
                Ok(()) => last = now,
                Err(error) => tracing::warn!(%error, "cannot save the proxy counters"),
            }
        }
        if stopping {
            return;
        }
    }
}

async fn save(store: &Store, snapshot: &StatsSnapshot) -> Result<(), StoreError> {
    let updated_at = chrono_now();
    let proxies: Vec<ProxyCounters> = snapshot
        .profiles
        .iter()
        .map(|(id, totals)| ProxyCounters {
            proxy_id: *id,
            bytes_in: signed(totals.traffic.bytes_in),
            bytes_out: signed(totals.traffic.bytes_out),
            connections: signed(totals.traffic.connections),
            open: signed(totals.open),
            refusals: totals
                .refusals
                .iter()
                .map(|(kind, count)| (kind.name().to_string(), signed(*count)))
                .collect(),
            updated_at,
        })
        .collect();
    let logins: Vec<LoginCounters> = snapshot
        .logins
        .iter()
        .map(|(id, totals)| LoginCounters {
            login_id: *id,
            bytes_in: signed(totals.bytes_in),
            bytes_out: signed(totals.bytes_out),
            connections: signed(totals.connections),
            updated_at,
        })
        .collect();
    store.save_proxy_counters(&proxies, &logins).await
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

// SQLite integers are signed; a counter past i64::MAX (9.2 EB) stays at the maximum.
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The proxy plane's DNS answer cache counters, for `/metrics`.
pub struct NameCacheMetrics(pub std::sync::Arc<kordon_proxy::stats::NameCacheCounters>);

impl kordon_api::metrics::LiveCounters for NameCacheMetrics {
    fn read(&self) -> Vec<kordon_api::metrics::LiveCounter> {
        let totals = self.0.totals();
        vec![
            kordon_api::metrics::LiveCounter {
                name: "proxy_dns_cache_hits",
                help: "Names of proxied connections answered from the proxy plane's DNS cache",
                value: totals.hits,
            },
            kordon_api::metrics::LiveCounter {
                name: "proxy_dns_cache_misses",
                help: "Names of proxied connections asked of the port's DNS server",
                value: totals.misses,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store keeps its own list of reason names (it cannot import the plane); both lists
    /// must name the same reasons in the same order.
    #[test]
    fn the_store_knows_every_refusal_reason() {
        let plane: Vec<&str> = RefusalKind::ALL.iter().map(|kind| kind.name()).collect();
        assert_eq!(
            plane,
            kordon_store::proxy_counters::REFUSAL_REASONS.to_vec()
        );
    }
}
