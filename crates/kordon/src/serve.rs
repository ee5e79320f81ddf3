//! `kordon serve`: opens the store, registers and starts the services, serves the API until
//! SIGINT or SIGTERM, then stops everything in order.

use std::time::Duration;

use anyhow::{Context, Result};
use kordon_api::{ApiConfig, AppState};
use kordon_store::Store;
use kordon_supervisor::Supervisor;
use tokio::net::TcpListener;

use crate::settings::Settings;
use crate::{bootstrap, housekeeping};

pub async fn run(settings: Settings) -> Result<()> {
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
    let state = AppState::new(store.clone(), supervisor.clone(), config);
    kordon_api::serve(listener, state, shutdown_signal())
        .await
        .context("API server failed")?;

    tracing::info!("shutting down");
    supervisor.stop_all().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
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
