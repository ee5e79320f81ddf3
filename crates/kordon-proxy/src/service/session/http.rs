//! An HTTP proxy session: `CONNECT` tunnels to any port, and absolute-URI requests forwarded
//! with keep-alive on the client side (and the upstream connection reused while the client
//! keeps asking the same host). `strong` profiles take `Proxy-Authorization: Basic` on every
//! request.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::client::ConnectionMeter;
use super::open::open;
use super::read::{read_message, ReadError};
use super::refusal::Refusal;
use super::Client;
use crate::protocol::http::refusal::{bad_gateway, bad_request, connection_established};
use crate::protocol::http::{
    classify, encode_forward_head, parse_head, proxy_credentials, BodyFraming, HeadLimits,
    HopByHop, ProxyRequest, RequestHead,
};
use crate::protocol::Target;
use crate::relay::{http_exchange, ExchangeError, ForwardRequest, RelayError};
use crate::stats::RefusalKind;
use crate::table::Auth;

/// Between two requests of a kept-alive client connection, when the plane has no idle
/// timeout of its own.
const KEEP_ALIVE: Duration = Duration::from_secs(60);

/// The upstream connection kept for the client's next request to the same destination.
struct Upstream {
    target: Target,
    stream: TcpStream,
}

pub async fn serve(client: &Client, mut stream: TcpStream) {
    let limits = HeadLimits::default();
    let mut buf = Vec::with_capacity(1024);
    let mut kept: Option<Upstream> = None;
    let mut meter: Option<ConnectionMeter> = None;
    let mut first = true;
    loop {
        let timeout = if first {
            client.plane.config.handshake_timeout
        } else {
            client.plane.config.idle_timeout.unwrap_or(KEEP_ALIVE)
        };
        let read = read_message(&mut stream, &mut buf, limits.max_head_len, |b| {
            parse_head(b, limits).map(|p| p.map(|_| ()))
        });
        let used = match tokio::time::timeout(timeout, read).await {
            Ok(Ok(((), used))) => used,
            Ok(Err(ReadError::Invalid(_) | ReadError::TooLarge(_))) => {
                return refuse_protocol(client, &mut stream).await;
            }
            // A kept-alive client that leaves (or goes quiet) between requests is no refusal.
            Ok(Err(ReadError::Closed | ReadError::Io(_))) | Err(_) => {
                if first {
                    client.count_refusal(RefusalKind::Protocol);
                }
                return;
            }
        };
        first = false;
        let Ok(Some((head, _))) = parse_head(&buf[..used], limits).map(|p| p.done()) else {
            return refuse_protocol(client, &mut stream).await;
        };
        if let Err(refusal) = authenticate(client, &head) {
            return refuse(client, &mut stream, refusal).await;
        }
        if client.permit.is_none() {
            return refuse(client, &mut stream, Refusal::Maxconn).await;
        }
        let (target, path) = match classify(&head) {
            Ok(ProxyRequest::Connect(target)) => {
                drop(head);
                return tunnel(client, stream, &target, &buf[used..]).await;
            }
            Ok(ProxyRequest::Forward { target, path }) => (target, path.into_owned()),
            Err(_) => return refuse_protocol(client, &mut stream).await,
        };
        let hop = HopByHop::of(&head, head.values("upgrade").next().is_some());
        let mut upstream_head = Vec::with_capacity(used + 64);
        encode_forward_head(&head, &target, &path, &hop, &mut upstream_head);
        let request = match ForwardRequest::new(&head, &hop, &upstream_head) {
            Ok(request) => request,
            Err(_) => return refuse_protocol(client, &mut stream).await,
        };
        drop(head);
        buf.drain(..used);
        let meter = meter.get_or_insert_with(|| client.start_meter());
        match forward(
            client,
            &mut stream,
            &mut buf,
            &target,
            &request,
            kept.take(),
            meter,
        )
        .await
        {
            Ok(Forwarded::KeepGoing(upstream)) => kept = upstream,
            Ok(Forwarded::Done) => return,
            Err(refusal) => return refuse(client, &mut stream, refusal).await,
        }
    }
}

enum Forwarded {
    /// The client may send another request; the upstream connection if it can serve it.
    KeepGoing(Option<Upstream>),
    /// The client connection ends (it asked to, the response was read to close, or it was
    /// upgraded to a tunnel that has ended).
    Done,
}

/// Forwards one request on the kept upstream connection if it goes to the same destination,
/// else on a new one. A kept connection the origin closed meanwhile is replaced once, for a
/// request without a body (nothing of it can have been consumed).
async fn forward(
    client: &Client,
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    target: &Target,
    request: &ForwardRequest<'_>,
    kept: Option<Upstream>,
    meter: &ConnectionMeter,
) -> Result<Forwarded, Refusal> {
    let limit = client.login_limit();
    let controls = client.controls(limit.as_deref(), meter);
    let mut upstream = match kept.filter(|kept| &kept.target == target) {
        Some(kept) => (kept.stream, true),
        None => (open(client, target).await?, false),
    };
    loop {
        let (connection, reused) = &upstream;
        match http_exchange(stream, connection, buf, request, &controls).await {
            Ok(outcome) if outcome.upgraded || !outcome.client_keep_alive => {
                return Ok(Forwarded::Done)
            }
            Ok(outcome) => {
                let (connection, _) = upstream;
                let kept = outcome.upstream_reusable.then(|| Upstream {
                    target: target.clone(),
                    stream: connection,
                });
                return Ok(Forwarded::KeepGoing(kept));
            }
            Err(ExchangeError {
                error: RelayError::UpstreamClosed,
                answered: false,
            }) if *reused && request.body == BodyFraming::Empty => {
                upstream = (open(client, target).await?, false);
            }
            Err(failure) => {
                answer_failure(client, stream, failure).await;
                return Ok(Forwarded::Done);
            }
        }
    }
}

/// Tells the client why its request failed, unless a response was already on its way.
async fn answer_failure(client: &Client, stream: &mut TcpStream, failure: ExchangeError) {
    tracing::debug!(profile = client.profile.id, error = %failure, "forwarded request failed");
    if failure.answered {
        return;
    }
    let reply = match failure.error {
        RelayError::BadRequestBody(_) => bad_request(),
        _ => bad_gateway(),
    };
    let _ = stream.write_all(reply).await;
}

/// A `CONNECT` tunnel.
async fn tunnel(client: &Client, mut stream: TcpStream, target: &Target, leftover: &[u8]) {
    let upstream = match open(client, target).await {
        Ok(upstream) => upstream,
        Err(refusal) => return refuse(client, &mut stream, refusal).await,
    };
    if stream.write_all(connection_established()).await.is_err() {
        return;
    }
    client.relay(stream, upstream, leftover).await;
}

fn authenticate(client: &Client, head: &RequestHead<'_>) -> Result<(), Refusal> {
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
