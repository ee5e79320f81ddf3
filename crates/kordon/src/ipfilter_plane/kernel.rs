//! The `ipfilter-nft` service: kordon's nftables table kept equal to the stored rules.

use std::time::Duration;

use kordon_netfilter::ipfilter::IpFilterTable;
use kordon_netfilter::Nft;
use kordon_store::Store;
use kordon_supervisor::ServiceToken;

use super::follower::{wait, Follower, Step, Wake};
use super::report::PlaneReport;

/// The longest sleep between two looks at the journal.
const POLL: Duration = Duration::from_secs(2);

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Says once, loudly, that the kernel does not enforce the rules, and why.
fn unavailable(report: &PlaneReport, reason: String) {
    tracing::error!(
        %reason,
        "ipfilter: nftables is not available, the kernel does NOT enforce the ip filter; \
         kordon's own listeners still apply it"
    );
    report.kernel_inactive(format!("nftables unavailable: {reason}"));
}

async fn rebuild(
    follower: &Follower,
    table: &IpFilterTable,
    nft: &Nft,
    report: &PlaneReport,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    nft.run(&table.rebuild_script(&follower.book, now_millis()))
        .await
        .map_err(|e| e.to_string())?;
    report.kernel_active(follower.book.len());
    tracing::info!(
        table = %table.name,
        elements = follower.book.len(),
        ms = started.elapsed().as_millis() as u64,
        "ipfilter: nftables table rebuilt"
    );
    Ok(())
}

pub async fn run(
    store: Store,
    kernel: Option<(IpFilterTable, Nft)>,
    report: PlaneReport,
    token: ServiceToken,
) {
    let Some((table, nft)) = kernel else {
        tracing::warn!("ipfilter: kernel enforcement disabled by the ipfilter_nft setting");
        report.kernel_inactive("disabled by the ipfilter_nft setting");
        return;
    };
    let mut events = store.subscribe();
    let mut follower = match Follower::load(store.clone()).await {
        Ok(follower) => follower,
        Err(error) => {
            tracing::error!(%error, "ipfilter: cannot read the rules for the kernel");
            report.kernel_inactive(format!("cannot read the rules: {error}"));
            return;
        }
    };
    if let Err(reason) = rebuild(&follower, &table, &nft, &report).await {
        unavailable(&report, reason);
        return;
    }
    loop {
        if wait(&mut events, POLL, &token).await == Wake::Cancelled {
            break;
        }
        let step = match follower.step().await {
            Ok(step) => step,
            Err(error) => {
                tracing::warn!(%error, "ipfilter: cannot follow the rules for the kernel");
                continue;
            }
        };
        let applied = match step {
            Step::Nothing => continue,
            Step::Reloaded => rebuild(&follower, &table, &nft, &report).await,
            Step::Changed {
                changes,
                groups_before,
            } => {
                let script =
                    table.delta_script(&changes, &groups_before, &follower.groups(), now_millis());
                match nft.run(&script).await {
                    Ok(()) => {
                        report.kernel_active(follower.book.len());
                        Ok(())
                    }
                    Err(error) => {
                        // The table no longer matches what kordon thinks it holds (changed
                        // by hand?): put it back whole.
                        tracing::warn!(%error, "ipfilter: nftables change refused; rebuilding the table");
                        rebuild(&follower, &table, &nft, &report).await
                    }
                }
            }
        };
        if let Err(reason) = applied {
            unavailable(&report, reason);
            return;
        }
    }
    // Stopped: the kernel stops enforcing rules that would no longer follow the store.
    if let Err(error) = nft.run(&table.remove_script()).await {
        tracing::warn!(%error, "ipfilter: cannot remove the nftables table");
    }
    report.kernel_inactive("stopped");
    tracing::info!(table = %table.name, "ipfilter: nftables table removed");
}
