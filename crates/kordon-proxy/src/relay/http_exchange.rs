//! Forwarding one absolute-URI HTTP/1.x request (`GET http://host/path`) and its response
//! over connections that may carry more exchanges afterwards.
//!
//! The connection handler parses the request head (`protocol::http`), connects upstream and encodes the
//! forwarded head; [`http_exchange`] then sends it, forwards the request body exactly as
//! framed, reads the response head (`response_head`), strips this hop's fields from it
//! (`client_head`), forwards it and its body (`body`, `chunked`) and says whether each
//! connection can carry the next request. A `101 Switching Protocols` to an upgrade request
//! turns the exchange into a two-way relay. Bytes move through the same shaped, metered
//! flows as [`relay`](super::relay).

mod body;
pub mod chunked;
pub mod client_head;
pub(crate) mod exchange;
pub mod framing;
pub mod plan;
pub mod response_head;

use tokio::net::TcpStream;

use crate::protocol::http::{body_framing, BodyFraming, HopByHop, HttpError, RequestHead};

use super::{Engine, RelayControls, RelayEnd, RelayError};

pub use chunked::{ChunkError, ChunkedScanner};
pub use framing::Framing;
pub use plan::{plan_response, ResponsePlan};
pub use response_head::{parse_response_head, ResponseError, ResponseHead, ResponseLimits};

/// What the exchange needs to know about the request.
#[derive(Debug, Clone, Copy)]
pub struct ForwardRequest<'a> {
    /// The head to send upstream (`encode_forward_head`).
    pub upstream_head: &'a [u8],
    /// How the request body is delimited.
    pub body: BodyFraming,
    /// The method is HEAD: the response has no body whatever its fields say.
    pub method_is_head: bool,
    /// 0 for an HTTP/1.0 client (no 1xx responses, keep-alive spelled out).
    pub client_minor_version: u8,
    /// The client asked to keep its connection (`RequestHead::wants_keep_alive`).
    pub client_keep_alive: bool,
    /// The request asks for an upgrade and the forwarded head passes it on, so a 101 turns
    /// the exchange into a tunnel.
    pub upgrade: bool,
}

impl<'a> ForwardRequest<'a> {
    /// Reads everything from the client's head; `upstream_head` is what
    /// `encode_forward_head` made of it with `hop`.
    ///
    /// Refuses a head whose `Connection` names a framing field it carries: the forwarded
    /// head would lose `Content-Length` or `Transfer-Encoding` while the body still follows,
    /// and the origin would read the body as the next request.
    pub fn new(
        head: &RequestHead<'_>,
        hop: &HopByHop<'_>,
        upstream_head: &'a [u8],
    ) -> Result<ForwardRequest<'a>, HttpError> {
        for framing_field in ["content-length", "transfer-encoding"] {
            if hop.strips(framing_field) && head.values(framing_field).next().is_some() {
                return Err(HttpError::AmbiguousFraming(
                    "Connection lists a body framing field",
                ));
            }
        }
        Ok(ForwardRequest {
            upstream_head,
            body: body_framing(head)?,
            method_is_head: head.method == "HEAD",
            client_minor_version: head.minor_version,
            client_keep_alive: head.wants_keep_alive(),
            upgrade: hop.keeps_upgrade() && head.values("upgrade").next().is_some(),
        })
    }
}

/// How an exchange went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeOutcome {
    /// The final status whose head went to the client (101 when upgraded); `None` if no
    /// final head reached it (stopped or idle before one), so the handler may still answer.
    pub status: Option<u16>,
    /// The client connection may carry another request; its next bytes are in `client_buf`.
    pub client_keep_alive: bool,
    /// The upstream connection may carry the next request to the same host and port.
    pub upstream_reusable: bool,
    /// A 101 turned the exchange into a tunnel, relayed to its end.
    pub upgraded: bool,
    pub end: RelayEnd,
    /// Bytes written upstream (head and body) and to the client (heads and bodies).
    pub outbound: u64,
    pub inbound: u64,
}

/// A failed exchange. Both connections are to be closed.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ExchangeError {
    #[source]
    pub error: RelayError,
    /// A final response head was (at least partly) sent to the client: the handler can no
    /// longer answer 502 or 504 itself.
    pub answered: bool,
}

/// Forwards one request and its response.
///
/// `client_buf` holds the bytes read from the client after the request head; the request
/// body is taken from it first, and on return it holds what the client sent after the body
/// (a pipelined request, for the handler's next parse).
///
/// Errors: [`RelayError::UpstreamClosed`] when the upstream closed before any response (a
/// reused connection the origin timed out: retry an idempotent request on a new one);
/// [`RelayError::BadResponse`] for a response that cannot be forwarded safely (502 when not
/// `answered`); [`RelayError::BadRequestBody`] for a malformed chunked request body (400);
/// IO errors name the side that failed.
pub async fn http_exchange(
    client: &TcpStream,
    upstream: &TcpStream,
    client_buf: &mut Vec<u8>,
    request: &ForwardRequest<'_>,
    controls: &RelayControls<'_>,
) -> Result<ExchangeOutcome, ExchangeError> {
    exchange::run(
        Engine::Splice,
        client,
        upstream,
        client_buf,
        request,
        controls,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::{parse_head, HeadLimits};

    fn forward_request(raw: &'static [u8]) -> Result<ForwardRequest<'static>, HttpError> {
        let (head, _) = parse_head(raw, HeadLimits::default())
            .unwrap()
            .done()
            .unwrap();
        let hop = HopByHop::of(&head, head.values("upgrade").next().is_some());
        ForwardRequest::new(&head, &hop, b"")
    }

    #[test]
    fn reads_the_request() {
        let request = forward_request(
            b"HEAD http://a/ HTTP/1.0\r\nProxy-Connection: keep-alive\r\nContent-Length: 3\r\n\r\n",
        )
        .unwrap();
        assert!(request.method_is_head && request.client_keep_alive && !request.upgrade);
        assert_eq!(request.client_minor_version, 0);
        assert_eq!(request.body, BodyFraming::Length(3));
        let upgrade = forward_request(
            b"GET http://a/ HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        )
        .unwrap();
        assert!(upgrade.upgrade && !upgrade.method_is_head);
    }

    /// `Connection: Content-Length` would strip the length from the forwarded head while the
    /// body is still sent: a smuggled request.
    #[test]
    fn refuses_connection_naming_framing_fields() {
        for raw in [
            &b"POST http://a/ HTTP/1.1\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n"[..],
            b"POST http://a/ HTTP/1.1\r\nConnection: keep-alive, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let raw: &'static [u8] = raw;
            assert!(
                matches!(forward_request(raw), Err(HttpError::AmbiguousFraming(_))),
                "{raw:?}"
            );
        }
    }
}
