//! The proxy data plane as the `proxy` service: its settings, the modem plane's rotation state
//! behind the proxy plane's `PortActivity`, and the counters that outlive each start of the
//! service (restored from and flushed to the store).

use std::net::IpAddr;
use std::sync::Arc;

use kordon_model::ipfilter::snapshot::AdmissionHandle;
use kordon_modem::service::rotation::Rotator;
use kordon_proxy::egress::PortActivity;
use kordon_proxy::service::{self, Admission, ClientAdmission, PlaneConfig};
use kordon_proxy::stats::PlaneStats;
use kordon_store::Store;
use kordon_supervisor::Supervisor;

use crate::proxy_counters;
use crate::settings::Settings;

/// The modem plane's rotations, as the proxy plane asks about them.
struct Rotations(Rotator);

impl PortActivity for Rotations {
    fn is_rotating(&self, port_id: i64) -> bool {
        self.0.is_rotating(port_id)
    }
}

/// The ip filter's in-process verdicts, as the proxy plane asks for them.
struct IpFilterAdmission(AdmissionHandle);

impl ClientAdmission for IpFilterAdmission {
    fn admits(&self, client: IpAddr) -> bool {
        self.0.admits(client)
    }
}

/// Registers the `proxy` service (not started).
pub async fn register(
    supervisor: &Supervisor,
    store: &Store,
    settings: &Settings,
    rotator: Rotator,
    stats: Arc<PlaneStats>,
    ip_filter: AdmissionHandle,
) {
    let config = PlaneConfig {
        bind: settings.proxy_bind,
        permitted_networks: settings.proxy_permit_networks.clone(),
        admission: Admission::new(Arc::new(IpFilterAdmission(ip_filter))),
        ..PlaneConfig::default()
    };
    let activity: Arc<dyn PortActivity> = Arc::new(Rotations(rotator));
    if let Err(error) = proxy_counters::restore(store, &stats).await {
        tracing::warn!(%error, "cannot read the stored proxy counters; counting from zero");
    }
    let store = store.clone();
    supervisor
        .register("proxy", "proxy data plane", move |token| {
            let (store, config, activity, stats) = (
                store.clone(),
                config.clone(),
                Arc::clone(&activity),
                Arc::clone(&stats),
            );
            async move {
                let flushing = token.child_token();
                let flush = tokio::spawn(proxy_counters::flush_until(
                    store.clone(),
                    Arc::clone(&stats),
                    flushing.clone(),
                ));
                if let Err(error) = service::run(store, config, activity, stats, token).await {
                    tracing::error!(%error, "the proxy plane stopped");
                }
                // The last counts reach the store before the service reports stopped.
                flushing.cancel();
                let _ = flush.await;
            }
        })
        .await;
}
