//! SOCKS4 and SOCKS4a on a `socks` profile. SOCKS4 carries no password, so only `iponly`
//! profiles accept it; a `strong` profile rejects it (the client should speak SOCKS5).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::open::open;
use super::read::read_message;
use super::refusal::Refusal;
use super::Client;
use crate::protocol::socks4::{encode_socks4_reply, parse_socks4, Socks4Command, Socks4Status};
use crate::stats::RefusalKind;
use crate::table::Auth;

pub use crate::protocol::socks4::VERSION;

/// A SOCKS4a request with a 255-byte user id and a 255-byte domain.
const MAX_REQUEST: usize = 8 + 256 + 256;

/// `buf` holds what the client sent so far (at least the version byte).
pub async fn serve(client: &Client, mut stream: TcpStream, mut buf: Vec<u8>) {
    let timeout = client.plane.config.handshake_timeout;
    let read = read_message(&mut stream, &mut buf, MAX_REQUEST, |b| {
        parse_socks4(b).map(|p| p.map(|request| (request.command, request.target)))
    });
    let ((command, target), used) = match tokio::time::timeout(timeout, read).await {
        Ok(Ok(request)) => request,
        Ok(Err(_)) | Err(_) => {
            let _ = reply(&mut stream, Socks4Status::Rejected, None).await;
            client.count_refusal(RefusalKind::Protocol);
            return;
        }
    };
    if command == Socks4Command::Bind {
        let _ = reply(&mut stream, Socks4Status::Rejected, None).await;
        client.count_refusal(RefusalKind::Protocol);
        return;
    }
    let refusal = if matches!(client.profile.auth, Auth::Strong(_)) {
        Some(Refusal::Auth)
    } else if !client.profile.auth.admits_client(client.peer.ip()) {
        Some(Refusal::ClientAddress)
    } else if client.permit.is_none() {
        Some(Refusal::Maxconn)
    } else {
        None
    };
    let upstream = match refusal {
        Some(refusal) => Err(refusal),
        None => open(client, &target).await,
    };
    let upstream = match upstream {
        Ok(upstream) => upstream,
        Err(refusal) => {
            let _ = reply(&mut stream, Socks4Status::Rejected, None).await;
            client.count_refusal(refusal.kind());
            return;
        }
    };
    if reply(
        &mut stream,
        Socks4Status::Granted,
        upstream.local_addr().ok(),
    )
    .await
    .is_err()
    {
        return;
    }
    client.relay(stream, upstream, &buf[used..]).await;
}

async fn reply(
    stream: &mut TcpStream,
    status: Socks4Status,
    bound: Option<SocketAddr>,
) -> std::io::Result<()> {
    let bound = match bound {
        Some(SocketAddr::V4(v4)) => v4,
        _ => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
    };
    stream.write_all(&encode_socks4_reply(status, bound)).await
}
