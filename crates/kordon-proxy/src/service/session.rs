//! One client connection: the handshake of the profile's protocol, the profile's rules, the
//! upstream connection through the port, then the relay. Every refusal is the protocol's own
//! answer (a SOCKS reply code, an HTTP status) and is counted by kind.

mod client;
mod http;
mod open;
mod read;
mod refusal;
mod socks4;
mod socks5;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;

use kordon_model::enums::ProxyType;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::Plane;
use crate::limits::ConnectionPermit;
use crate::table::Profile;

pub(super) use client::Client;

pub(super) async fn serve(
    plane: Arc<Plane>,
    profile: Arc<Profile>,
    stream: TcpStream,
    peer: SocketAddr,
    permit: Option<ConnectionPermit>,
    stop: CancellationToken,
) {
    let cut = plane.ports.cut_token(profile.egress.port_id);
    let client = Client::new(plane, profile, peer, permit, stop.clone());
    let work = async {
        match client.profile.proxy_type {
            ProxyType::Http => http::serve(&client, stream).await,
            ProxyType::Socks => socks5::serve(&client, stream).await,
        }
    };
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = cut.cancelled() => {}
        _ = work => {}
    }
}
