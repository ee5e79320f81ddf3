//! Serving an emulated modem's web API on a listener, with the run-time "API hangs" fault.

use std::io;
use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use kordon_model::catalog::ModemFamily;
use std::future::IntoFuture;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::listener::ModemListener;
use super::modem::EmulatedModem;
use super::{huawei, zte};

/// A running emulator; dropping it stops the server.
pub struct EmulatorServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<io::Result<()>>>,
}

/// Serves `modem`'s firmware API (HiLink or goform, after its model) on `listener`.
///
/// The listener may be on loopback (`127.0.0.x:port`, for tests and benchmarks) or on the
/// modem's LAN address inside its namespace; the API sees the address it is reached at (the
/// ZTE `Referer` check uses it).
pub fn spawn(listener: TcpListener, modem: EmulatedModem) -> io::Result<EmulatorServer> {
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let api = match modem.state().model.family {
        ModemFamily::HuaweiHilink => huawei::router(modem.clone()),
        ModemFamily::ZteGoform => zte::router(modem.clone(), addr),
    };
    let app: Router = api.layer(middleware::from_fn_with_state(
        Hang {
            modem: modem.clone(),
            stop: stop.clone(),
        },
        hang_when_faulty,
    ));
    let listener = ModemListener {
        inner: listener,
        modem,
    };
    let task = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.clone().cancelled_owned())
            .into_future(),
    );
    Ok(EmulatorServer {
        addr,
        stop,
        task: Some(task),
    })
}

impl EmulatorServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, releases hung requests, and waits for open connections to finish.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            if let Err(e) = task.await {
                tracing::warn!("emulator server task failed: {e}");
            }
        }
    }
}

impl Drop for EmulatorServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[derive(Clone)]
struct Hang {
    modem: EmulatedModem,
    stop: CancellationToken,
}

/// With the "API hangs" fault on, a request is read and never answered (until the server
/// stops, so shutdown stays bounded).
async fn hang_when_faulty(State(hang): State<Hang>, request: Request, next: Next) -> Response {
    if hang.modem.state().faults.api_hangs {
        hang.stop.cancelled().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    next.run(request).await
}
