//! Services of the fake internet: an HTTP echo of the caller's source address (what a public
//! "what is my IP" service shows), a TCP sink (discards what it reads) and a TCP source
//! (sends zeros until the peer closes), for throughput checks.

use std::net::{Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// The echo host's public-looking address (TEST-NET-3, RFC 5737: never routed on the internet).
pub const ECHO_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
pub const ECHO_PORT: u16 = 80;
pub const SINK_PORT: u16 = 9;
pub const SOURCE_PORT: u16 = 19;

/// `GET /` (any path) answers the caller's source IP as text.
pub fn spawn_echo(listener: TcpListener, tasks: &mut JoinSet<()>) {
    let app = Router::new()
        .route("/", get(echo))
        .fallback(echo)
        .into_make_service_with_connect_info::<SocketAddr>();
    tasks.spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("echo service stopped: {e}");
        }
    });
}

async fn echo(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    format!("{}\n", peer.ip())
}

/// Reads and discards everything each connection sends.
pub fn spawn_sink(listener: TcpListener, tasks: &mut JoinSet<()>) {
    tasks.spawn(async move {
        let mut conns = JoinSet::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            conns.spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
            while conns.try_join_next().is_some() {}
        }
    });
}

/// Sends zeros on each connection until the peer closes it.
pub fn spawn_source(listener: TcpListener, tasks: &mut JoinSet<()>) {
    tasks.spawn(async move {
        let mut conns = JoinSet::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            conns.spawn(async move {
                let buf = vec![0u8; 64 * 1024];
                while stream.write_all(&buf).await.is_ok() {}
            });
            while conns.try_join_next().is_some() {}
        }
    });
}
