//! kordon's HTTP API server: the `farm` dialect (Django-REST-style, `Authorization: Token`),
//! the `ipfilter` dialect (short-lived access tokens) and `/metrics`. Later dialects (isp,
//! guard) mount beside them with their own auth and error shapes.
//!
//! [`serve`] takes a bound listener and a shutdown future, so tests run the whole API
//! in-process on `127.0.0.1:0`.

pub mod farm;
pub mod ipfilter;
pub mod metrics;
pub mod rotation;
mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::Request;
use axum::Router;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use state::{ApiConfig, AppState};

/// The whole API as one router (without the trailing-slash normalisation, see [`serve`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(farm::routes())
        .merge(ipfilter::routes())
        .merge(metrics::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ipfilter::admission::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Every path works with and without its trailing slash, as Django clients expect.
    let app = NormalizePathLayer::trim_trailing_slash().layer(router(state));
    let service =
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app);
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn not_found() -> farm::reply::ApiError {
    farm::reply::ApiError::NotFound("Not found.".to_string())
}
