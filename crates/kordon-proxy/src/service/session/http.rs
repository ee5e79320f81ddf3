//! An HTTP proxy session: `CONNECT` tunnels to any port, and absolute-URI requests forwarded
//! with keep-alive on the client side. `strong` profiles take `Proxy-Authorization: Basic`.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::open::open;
use super::read::{read_message, ReadError};
use super::refusal::Refusal;
use super::Client;
use crate::protocol::http::refusal::{bad_request, connection_established};
use crate::protocol::http::{classify, parse_head, proxy_credentials, HeadLimits, ProxyRequest};
use crate::stats::RefusalKind;
use crate::table::Auth;

pub async fn serve(client: &Client, mut stream: TcpStream) {
    let limits = HeadLimits::default();
    let mut buf = Vec::with_capacity(1024);
    let timeout = client.plane.config.handshake_timeout;
    let read = read_message(&mut stream, &mut buf, limits.max_head_len, |b| {
        parse_head(b, limits).map(|p| p.map(|_| ()))
    });
    let used = match tokio::time::timeout(timeout, read).await {
        Ok(Ok(((), used))) => used,
        Ok(Err(ReadError::Invalid(_) | ReadError::TooLarge(_))) => {
            return refuse_protocol(client, &mut stream).await;
        }
        Ok(Err(ReadError::Closed | ReadError::Io(_))) | Err(_) => {
            client.count_refusal(RefusalKind::Protocol);
            return;
        }
    };
    let Ok(Some((head, _))) = parse_head(&buf[..used], limits).map(|p| p.done()) else {
        return refuse_protocol(client, &mut stream).await;
    };
    if let Err(refusal) = authenticate(client, &head) {
        return refuse(client, &mut stream, refusal).await;
    }
    let target = match classify(&head) {
        Ok(ProxyRequest::Connect(target)) => target,
        Ok(ProxyRequest::Forward { .. }) => {
            // Plain absolute-URI forwarding is not served yet: say so instead of guessing.
            let _ = stream
                .write_all(crate::protocol::http::refusal::not_implemented())
                .await;
            client.count_refusal(RefusalKind::Protocol);
            return;
        }
        Err(_) => return refuse_protocol(client, &mut stream).await,
    };
    if client.permit.is_none() {
        return refuse(client, &mut stream, Refusal::Maxconn).await;
    }
    let upstream = match open(client, &target).await {
        Ok(upstream) => upstream,
        Err(refusal) => return refuse(client, &mut stream, refusal).await,
    };
    if stream.write_all(connection_established()).await.is_err() {
        return;
    }
    client.relay(stream, upstream, &buf[used..]).await;
}

fn authenticate(
    client: &Client,
    head: &crate::protocol::http::RequestHead<'_>,
) -> Result<(), Refusal> {
    match &client.profile.auth {
        Auth::Strong(expected) => match proxy_credentials(head) {
            Ok(Some(given))
                if expected.accepts(given.login.as_bytes(), given.password.as_bytes()) =>
            {
                Ok(())
            }
            _ => Err(Refusal::Auth),
        },
        Auth::IpOnly(_) if client.profile.auth.admits_client(client.peer.ip()) => Ok(()),
        Auth::IpOnly(_) => Err(Refusal::ClientAddress),
    }
}

async fn refuse(client: &Client, stream: &mut TcpStream, refusal: Refusal) {
    let _ = stream.write_all(refusal.http_response()).await;
    client.count_refusal(refusal.kind());
}

async fn refuse_protocol(client: &Client, stream: &mut TcpStream) {
    let _ = stream.write_all(bad_request()).await;
    client.count_refusal(RefusalKind::Protocol);
}
