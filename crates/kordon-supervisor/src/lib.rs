//! The service supervisor: every background loop of kordon is a named service (a tokio task
//! with a cancellation token) that the farm API's `services/status|start|stop` can see, stop
//! and start again. Stopping waits until the task has really finished.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use tokio_util::sync::CancellationToken as ServiceToken;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type Factory = Arc<dyn Fn(CancellationToken) -> BoxFuture + Send + Sync>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SupervisorError {
    #[error("no service named \"{0}\"")]
    Unknown(String),
}

struct Running {
    token: CancellationToken,
    handle: JoinHandle<()>,
}

struct Entry {
    description: &'static str,
    factory: Factory,
    running: Option<Running>,
}

/// A registered service's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub name: String,
    pub description: &'static str,
    pub running: bool,
}

/// Shared handle to the registry of services. Cheap to clone.
#[derive(Clone, Default)]
pub struct Supervisor {
    services: Arc<Mutex<BTreeMap<String, Entry>>>,
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a service (not started). `run` is called with a fresh token at each start
    /// and must return when the token is cancelled.
    pub async fn register<F, Fut>(&self, name: &str, description: &'static str, run: F)
    where
        F: Fn(CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let factory: Factory = Arc::new(move |token| Box::pin(run(token)));
        self.services.lock().await.insert(
            name.to_string(),
            Entry {
                description,
                factory,
                running: None,
            },
        );
    }

    pub async fn is_registered(&self, name: &str) -> bool {
        self.services.lock().await.contains_key(name)
    }

    /// Starts a service; starting a running one does nothing.
    pub async fn start(&self, name: &str) -> Result<(), SupervisorError> {
        let mut services = self.services.lock().await;
        let entry = services
            .get_mut(name)
            .ok_or_else(|| SupervisorError::Unknown(name.to_string()))?;
        if let Some(running) = &entry.running {
            if !running.handle.is_finished() {
                return Ok(());
            }
        }
        let token = CancellationToken::new();
        let handle = tokio::spawn((entry.factory)(token.clone()));
        entry.running = Some(Running { token, handle });
        tracing::info!(service = name, "service started");
        Ok(())
    }

    /// Stops a service and waits for its task to end; stopping a stopped one does nothing.
    pub async fn stop(&self, name: &str) -> Result<(), SupervisorError> {
        let running = {
            let mut services = self.services.lock().await;
            let entry = services
                .get_mut(name)
                .ok_or_else(|| SupervisorError::Unknown(name.to_string()))?;
            entry.running.take()
        };
        if let Some(running) = running {
            running.token.cancel();
            if let Err(error) = running.handle.await {
                tracing::warn!(service = name, %error, "service ended abnormally");
            }
            tracing::info!(service = name, "service stopped");
        }
        Ok(())
    }

    /// Whether the service's task is alive right now.
    pub async fn is_running(&self, name: &str) -> bool {
        let services = self.services.lock().await;
        services
            .get(name)
            .and_then(|e| e.running.as_ref())
            .is_some_and(|r| !r.handle.is_finished())
    }

    pub async fn status(&self) -> Vec<ServiceStatus> {
        let services = self.services.lock().await;
        services
            .iter()
            .map(|(name, entry)| ServiceStatus {
                name: name.clone(),
                description: entry.description,
                running: entry
                    .running
                    .as_ref()
                    .is_some_and(|r| !r.handle.is_finished()),
            })
            .collect()
    }

    pub async fn start_all(&self) {
        let names: Vec<String> = self.services.lock().await.keys().cloned().collect();
        for name in names {
            let _ = self.start(&name).await;
        }
    }

    pub async fn stop_all(&self) {
        let names: Vec<String> = self.services.lock().await.keys().cloned().collect();
        for name in names {
            let _ = self.stop(&name).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn stop_really_stops_and_start_restarts() {
        let ticks = Arc::new(AtomicUsize::new(0));
        let supervisor = Supervisor::new();
        let counter = ticks.clone();
        supervisor
            .register("ticker", "counts", move |token| {
                let counter = counter.clone();
                async move {
                    loop {
                        tokio::select! {
                            _ = token.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_millis(5)) => {
                                counter.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                }
            })
            .await;
        assert!(!supervisor.is_running("ticker").await);
        supervisor.start("ticker").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(supervisor.is_running("ticker").await);
        supervisor.stop("ticker").await.unwrap();
        let stopped_at = ticks.load(Ordering::SeqCst);
        assert!(stopped_at > 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            stopped_at,
            "ticked after stop"
        );
        assert!(!supervisor.is_running("ticker").await);
        supervisor.start("ticker").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(ticks.load(Ordering::SeqCst) > stopped_at);
        supervisor.stop_all().await;
        assert_eq!(
            supervisor.start("nope").await,
            Err(SupervisorError::Unknown("nope".into()))
        );
    }
}
