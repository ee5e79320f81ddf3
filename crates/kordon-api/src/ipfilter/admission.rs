//! The ipfilter rules applied to the API's own clients, in process: a client whose address a
//! block covers (and no permit does) gets 403 before any handler runs. This holds where the
//! kernel does not enforce the rules (no nftables, no CAP_NET_ADMIN) and behind proxies that
//! terminate connections before the kernel's input hook sees the client.
//!
//! kordon-api does not know the plane that owns the rules: the binary hands it a
//! [`ClientAdmission`] (in kordon, the ipfilter plane's snapshot handle).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::AppState;

/// Whether a client address may use kordon's listeners.
pub trait ClientAdmission: Send + Sync {
    fn admits(&self, client: IpAddr) -> bool;
}

impl ClientAdmission for kordon_model::ipfilter::snapshot::AdmissionHandle {
    fn admits(&self, client: IpAddr) -> bool {
        kordon_model::ipfilter::snapshot::AdmissionHandle::admits(self, client)
    }
}

/// Refuses clients the admission check turns away.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let (Some(admission), Some(ConnectInfo(peer))) = (
        state.admission.as_ref(),
        request.extensions().get::<ConnectInfo<SocketAddr>>(),
    ) {
        if !admission.admits(peer.ip()) {
            tracing::debug!(client = %peer.ip(), "client refused by the ip filter");
            return (
                StatusCode::FORBIDDEN,
                Json(json!({
                    "detail": "Your address is blocked by the ip filter.",
                    "errcode": 10006,
                    "errmsg": "Your address is blocked by the ip filter."
                })),
            )
                .into_response();
        }
    }
    next.run(request).await
}
