//! `kordon serve`: opens the store, registers and starts the services, serves the API until
//! SIGINT or SIGTERM, then stops everything in order.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use kordon_api::{ApiConfig, AppState};
use kordon_model::ipfilter::snapshot::AdmissionHandle;
use kordon_modem::service::book::StateBook;
use kordon_modem::service::drivers::DriverPool;
use kordon_modem::service::monitor::{self, PlaneContext};
use kordon_modem::service::network::HostNetwork;
use kordon_modem::service::operator_name::CatalogIds;
use kordon_modem::service::rotation::Rotator;
use kordon_modem::service::routing::PolicyRouting;
use kordon_modem::service::snapshot::PortDirectory;
use kordon_modem::service::{scheduler, ServiceConfig};
use kordon_proxy::stats::PlaneStats;
use kordon_store::Store;
use kordon_supervisor::Supervisor;
use tokio::net::TcpListener;

use crate::rotation_bridge::RotationBridge;
use crate::settings::Settings;
use crate::{bootstrap, housekeeping, proxy_plane};

pub async fn run(settings: Settings) -> Result<()> {
    raise_open_files_limit();
    let store = Store::open_dir(&settings.data_dir)
        .await
        .with_context(|| format!("cannot open the store in {}", settings.data_dir.display()))?;
    tracing::info!(data_dir = %settings.data_dir.display(), "store open");
    if let Some(password) = bootstrap::ensure_admin(&store, &settings).await? {
        // Printed, not logged: logs are often shipped elsewhere.
        eprintln!(
            "\nkordon: created superuser \"{}\" with password: {password}\n\
             kordon: this password is shown only once; change it with `kordon admin set-password`.\n",
            settings.admin_username
        );
    }

    let supervisor = Supervisor::new();
    housekeeping::register(
        &supervisor,
        store.clone(),
        Duration::from_secs(settings.housekeeping_interval),
    )
    .await;
    let rotator = register_modem_services(&supervisor, &store, &settings).await?;
    let proxy_stats = PlaneStats::new();
    // The ip filter's verdicts, shared by the API and the proxies (filled by its service).
    let ip_admission = AdmissionHandle::new();
    proxy_plane::register(
        &supervisor,
        &store,
        &settings,
        rotator.clone(),
        Arc::clone(&proxy_stats),
        ip_admission.clone(),
    )
    .await;
    supervisor.start_all().await;

    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let listen = listener.local_addr()?;
    tracing::info!(%listen, "API listening");
    let config = ApiConfig {
        listen,
        reserved_ports: Vec::new(),
        metrics_allow: settings.metrics_allow.clone(),
    };
    let state = AppState::new(store.clone(), supervisor.clone(), config)
        .with_rotation(Arc::new(RotationBridge::new(rotator)))
        .with_live_counters(Arc::new(crate::proxy_counters::NameCacheMetrics(
            proxy_stats.name_cache(),
        )));
    let state = crate::ipfilter_plane::attach(state, &settings, ip_admission).await?;
    kordon_api::serve(listener, state, shutdown_signal())
        .await
        .context("API server failed")?;

    tracing::info!("shutting down");
    supervisor.stop_all().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Registers the modem plane's services: `normal` (monitoring), `reconnect` (IP rotation) and
/// `scheduler` (timed rotation). Returns the rotation service's handle for the API.
async fn register_modem_services(
    supervisor: &Supervisor,
    store: &Store,
    settings: &Settings,
) -> Result<Rotator> {
    let echo_urls = settings
        .echo_urls
        .iter()
        .map(|url| reqwest::Url::parse(url).with_context(|| format!("echo URL {url:?}")))
        .collect::<Result<Vec<_>>>()?;
    let directory = PortDirectory::start(store.clone())
        .await
        .context("cannot read the ports")?;
    let config = ServiceConfig::default();
    // Installing routes needs CAP_NET_ADMIN; without it ports still work where the main
    // table already routes them (one modem per family), and the log says why others do not.
    let routing = nix::unistd::geteuid().is_root().then(PolicyRouting::new);
    if routing.is_none() {
        tracing::warn!("not root: no policy routing per port, echo checks may fail");
    }
    let context = PlaneContext {
        directory,
        book: StateBook::new(store.clone()),
        drivers: DriverPool::new(Arc::new(HostNetwork { echo_urls }), config.echo_timeout),
        catalog: CatalogIds::new(store.clone()),
        config,
        routing,
    };
    let rotator = Rotator::new(context.clone());
    supervisor
        .register("normal", "port monitoring", move |token| {
            monitor::run(context.clone(), token)
        })
        .await;
    let rotation = rotator.clone();
    supervisor
        .register("reconnect", "IP rotation", move |token| {
            let rotation = rotation.clone();
            async move { rotation.run(token).await }
        })
        .await;
    let timed = rotator.clone();
    supervisor
        .register("scheduler", "timed IP rotation", move |token| {
            scheduler::run(timed.clone(), token)
        })
        .await;
    Ok(rotator)
}

/// Every proxied connection holds two descriptors (and a pipe pair while it moves data); the
/// usual soft limit of 1024 would cap a farm at a few hundred connections. The hard limit is
/// the administrator's ceiling, so the soft one is raised to it.
fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(%error, soft, hard, "cannot raise the open files limit");
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot read the open files limit"),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot watch SIGTERM; only Ctrl-C stops kordon");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
