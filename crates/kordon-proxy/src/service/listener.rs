//! One profile's listener: binds its port (retrying while another process holds it),
//! accepts, applies `maxconn`, and starts a session per connection. Closing it (`stop`) closes
//! the listening socket and every connection it accepted.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::manager::Serving;
use super::session;
use super::Plane;
use crate::limits::ConnectionLimit;
use crate::stats::RefusalKind;

/// Between attempts to bind a port someone else holds.
const BIND_RETRY: Duration = Duration::from_secs(2);
/// After an accept error (out of descriptors, usually), before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
const BACKLOG: i32 = 4096;

pub(super) async fn run(
    plane: Arc<Plane>,
    port: u16,
    serving: watch::Receiver<Serving>,
    stop: CancellationToken,
) {
    let Some(listener) = bind_until_stopped(plane.config.bind, port, &stop).await else {
        return;
    };
    tracing::info!(port, "proxy listener open");
    let limit = ConnectionLimit::new(serving.borrow().0.maxconn);
    let mut accept_failing = false;
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                accept_failing = false;
                let (profile, sessions) = serving.borrow().clone();
                if !plane.config.admission.admits(peer.ip()) {
                    // Like the kernel's filter would: closed unanswered.
                    plane
                        .stats
                        .profile(profile.id)
                        .refuse(RefusalKind::IpFilter);
                    continue;
                }
                // Handshakes are small messages answered one by one: Nagle would hold each
                // answer until the previous one is acknowledged.
                let _ = stream.set_nodelay(true);
                limit.set_max(profile.maxconn);
                let permit = limit.try_acquire();
                tokio::spawn(session::serve(
                    Arc::clone(&plane),
                    profile,
                    stream,
                    peer,
                    permit,
                    sessions,
                ));
            }
            Err(error) => {
                if !accept_failing {
                    tracing::warn!(port, %error, "proxy listener cannot accept");
                    accept_failing = true;
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

async fn bind_until_stopped(
    address: IpAddr,
    port: u16,
    stop: &CancellationToken,
) -> Option<TcpListener> {
    let mut warned = false;
    loop {
        match bind(SocketAddr::new(address, port)) {
            Ok(listener) => return Some(listener),
            Err(error) if !warned => {
                tracing::warn!(port, %error, "cannot open the proxy listener; retrying");
                warned = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return None,
            _ = tokio::time::sleep(BIND_RETRY) => {}
        }
    }
}

fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(address), Type::STREAM.cloexec(), None)?;
    // A restarted plane rebinds at once although old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if address.is_ipv6() {
        // `::` takes IPv4 clients too, as `::ffff:a.b.c.d`.
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}
