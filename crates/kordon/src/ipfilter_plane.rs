//! The ipfilter plane: makes the stored ipfilter rules real.
//!
//! Two services, each following the store's rule journal with its own [`ElementBook`]:
//! - `ipfilter` keeps the in-process admission snapshot (an [`AdmissionHandle`] shared with
//!   the API and, later, the proxy and DNS listeners), sweeps expired rules out of the store on
//!   time and prunes the journal;
//! - `ipfilter-nft` keeps kordon's nftables table equal to the rules: rebuilt from the store
//!   at start, changed by small transactions after. When nftables cannot be used (no `nft`,
//!   no CAP_NET_ADMIN, no kernel support) it says so once, loudly, and ends — `services/status`
//!   then shows it stopped and `ip_filter/status` gives the reason — while the in-process
//!   check goes on.
//!
//! Stopping `ipfilter-nft` removes the table (the kernel stops enforcing); starting it
//! rebuilds the table from the store.
//!
//! [`ElementBook`]: kordon_model::ipfilter::book::ElementBook

mod follower;
mod kernel;
mod report;
mod rules;

use std::sync::Arc;

use anyhow::{Context, Result};
use kordon_api::ipfilter::clock::SystemClock;
use kordon_api::ipfilter::IpFilterApi;
use kordon_api::AppState;
use kordon_model::ipfilter::snapshot::AdmissionHandle;
use kordon_netfilter::ipfilter::{Hook, IpFilterTable};
use kordon_netfilter::Nft;

use crate::settings::Settings;
pub use report::PlaneReport;

pub const SERVICE: &str = "ipfilter";
pub const KERNEL_SERVICE: &str = "ipfilter-nft";

/// Registers and starts the plane's services on `state`'s supervisor and store, and returns
/// `state` with the ipfilter dialect's settings and the admission check of the API's clients.
pub async fn attach(
    state: AppState,
    settings: &Settings,
    admission: AdmissionHandle,
) -> Result<AppState> {
    let tz = settings.ipfilter_timezone().context("ipfilter_timezone")?;
    let hooks = settings
        .ipfilter_hooks
        .iter()
        .map(|name| Hook::parse(name).with_context(|| format!("ipfilter_hooks: {name:?}")))
        .collect::<Result<Vec<_>>>()?;
    let table = IpFilterTable {
        name: settings.ipfilter_table.clone(),
        hooks,
        ..IpFilterTable::default()
    };
    let report = PlaneReport::new(&table, settings.ipfilter_nft);
    let supervisor = &state.supervisor;
    {
        let (store, admission, report) = (state.store.clone(), admission.clone(), report.clone());
        supervisor
            .register(
                SERVICE,
                "ip filter rules and in-process admission",
                move |token| rules::run(store.clone(), admission.clone(), report.clone(), token),
            )
            .await;
    }
    {
        let (store, report) = (state.store.clone(), report.clone());
        let enabled = settings.ipfilter_nft;
        supervisor
            .register(
                KERNEL_SERVICE,
                "ip filter in the kernel (nftables)",
                move |token| {
                    let kernel = enabled.then(|| (table.clone(), Nft::new()));
                    kernel::run(store.clone(), kernel, report.clone(), token)
                },
            )
            .await;
    }
    supervisor.start(SERVICE).await?;
    supervisor.start(KERNEL_SERVICE).await?;
    let api = IpFilterApi::new(Arc::new(SystemClock), tz).with_report(Arc::new(report));
    Ok(state.with_ipfilter(api).with_admission(Arc::new(admission)))
}
