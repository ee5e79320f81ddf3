//! Serving DNS over UDP and TCP with bounded work. Each datagram is answered by its own task,
//! at most `in_flight` at once (more are dropped, as a loaded server does); each TCP
//! connection by its own task, at most `connections` at once (more are closed), one message
//! after the other, closed when idle for `idle`. Tasks live in the caller's `JoinSet`, and the
//! ones per query or connection in a set owned by their loop, so aborting a loop ends them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::framing::{read_message, write_message};
use super::wire::Transport;

/// The largest UDP payload (IPv4: 65535 − 20 − 8).
pub(crate) const MAX_UDP_PAYLOAD: usize = 65_507;

/// What a server does with one query.
pub(crate) trait Responder: Send + Sync + 'static {
    /// State kept across the queries of one TCP connection (a forwarder's upstream
    /// connection); each datagram gets a fresh one.
    type Session: Default + Send;

    /// The reply to `query` from `peer`; `None` leaves it unanswered (on TCP the connection
    /// is closed).
    fn respond(
        &self,
        session: &mut Self::Session,
        query: Vec<u8>,
        peer: SocketAddr,
        transport: Transport,
    ) -> impl Future<Output = Option<Vec<u8>>> + Send;
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub in_flight: usize,
    pub connections: usize,
    pub idle: Duration,
}

/// Serves `responder` on both transports.
pub(crate) fn serve<R: Responder>(
    udp: UdpSocket,
    tcp: TcpListener,
    responder: R,
    limits: Limits,
    tasks: &mut JoinSet<()>,
) {
    let responder = Arc::new(responder);
    tasks.spawn(serve_udp(udp, responder.clone(), limits.in_flight));
    tasks.spawn(serve_tcp(tcp, responder, limits));
}

async fn serve_udp<R: Responder>(socket: UdpSocket, responder: Arc<R>, in_flight: usize) {
    let socket = Arc::new(socket);
    let permits = Arc::new(Semaphore::new(in_flight));
    let mut queries = JoinSet::new();
    let mut buf = vec![0u8; MAX_UDP_PAYLOAD];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                // An ICMP error reported on the socket and the like: pause rather than spin.
                tracing::debug!("DNS over UDP: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        while queries.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue;
        };
        let query = buf[..len].to_vec();
        let (socket, responder) = (socket.clone(), responder.clone());
        queries.spawn(async move {
            let _permit = permit;
            let mut session = R::Session::default();
            if let Some(reply) = responder
                .respond(&mut session, query, peer, Transport::Udp)
                .await
            {
                if let Err(e) = socket.send_to(&reply, peer).await {
                    tracing::debug!("DNS reply to {peer}: {e}");
                }
            }
        });
    }
}

async fn serve_tcp<R: Responder>(listener: TcpListener, responder: Arc<R>, limits: Limits) {
    let permits = Arc::new(Semaphore::new(limits.connections));
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: pause rather than spin.
                tracing::debug!("DNS over TCP: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue;
        };
        let responder = responder.clone();
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, peer, &*responder, limits.idle).await;
        });
    }
}

async fn serve_connection<R: Responder>(
    mut stream: TcpStream,
    peer: SocketAddr,
    responder: &R,
    idle: Duration,
) {
    let mut session = R::Session::default();
    loop {
        let query = match tokio::time::timeout(idle, read_message(&mut stream)).await {
            Ok(Ok(Some(query))) => query,
            _ => return,
        };
        let Some(reply) = responder
            .respond(&mut session, query, peer, Transport::Tcp)
            .await
        else {
            return;
        };
        if write_message(&mut stream, &reply).await.is_err() {
            return;
        }
    }
}
