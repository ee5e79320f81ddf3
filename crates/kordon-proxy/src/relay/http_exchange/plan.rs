//! What to do with one upstream response head: forward it as an interim response, switch
//! the connection to a tunnel, or forward it with its body, and what it means for both
//! connections afterwards. No IO: the exchange reads and writes, this decides.

use crate::protocol::Progress;

use super::client_head::{encode_client_head, ClientConnection};
use super::framing::{response_framing, ConnectionOptions, Framing};
use super::response_head::{parse_response_head, ResponseError, ResponseLimits};
use super::ForwardRequest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponsePlan {
    /// A 1xx response another one follows. `head` is what the client gets: empty for HTTP/1.0
    /// clients, which must not be sent 1xx responses (RFC 9110 §15.2).
    Interim { head: Vec<u8> },
    /// 101 to a request that asked for an upgrade: write `head`, then relay both ways.
    Switch { head: Vec<u8> },
    /// The final response: write `head`, then the body as `framing` delimits it.
    Final {
        status: u16,
        head: Vec<u8>,
        framing: Framing,
        /// The client connection may carry another request afterwards (and `head` says so):
        /// the client wants it, the body is delimited and the upstream did not say `close`.
        keep_client: bool,
        /// The upstream keeps its connection open after this response: it says so for its
        /// version, and the request was HTTP/1.1 (an HTTP/1.0 request is forwarded as such,
        /// without keep-alive, so the origin closes after answering it).
        upstream_persistent: bool,
    },
}

/// Parses the response head at the start of `buf` (`NeedMore` until it is complete) and
/// decides what to do with it for `request`.
pub fn plan_response(
    buf: &[u8],
    request: &ForwardRequest<'_>,
    limits: ResponseLimits,
) -> Result<Progress<ResponsePlan>, ResponseError> {
    let Some((head, consumed)) = parse_response_head(buf, limits)?.done() else {
        return Ok(Progress::NeedMore);
    };
    let mut out = Vec::with_capacity(consumed + 32);
    let plan = if head.status == 101 {
        if !request.upgrade {
            return Err(ResponseError::UnexpectedSwitch);
        }
        encode_client_head(&head, ClientConnection::Upgrade, &mut out);
        ResponsePlan::Switch { head: out }
    } else if head.is_interim() {
        if request.client_minor_version >= 1 {
            encode_client_head(&head, ClientConnection::Interim, &mut out);
        }
        ResponsePlan::Interim { head: out }
    } else {
        let framing = response_framing(&head, request.method_is_head)?;
        let options = ConnectionOptions::of(&head);
        let keep_client = request.client_keep_alive && framing.is_delimited() && !options.close;
        let connection = if keep_client {
            ClientConnection::KeepAlive {
                client_minor_version: request.client_minor_version,
            }
        } else {
            ClientConnection::Close
        };
        encode_client_head(&head, connection, &mut out);
        ResponsePlan::Final {
            status: head.status,
            head: out,
            framing,
            keep_client,
            upstream_persistent: options.persistent(head.minor_version)
                && request.client_minor_version >= 1,
        }
    };
    Ok(Progress::Done {
        value: plan,
        consumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::BodyFraming;

    fn request(minor: u8, keep_alive: bool) -> ForwardRequest<'static> {
        ForwardRequest {
            upstream_head: b"",
            body: BodyFraming::Empty,
            method_is_head: false,
            client_minor_version: minor,
            client_keep_alive: keep_alive,
            upgrade: false,
        }
    }

    fn plan(raw: &[u8], request: &ForwardRequest<'_>) -> Result<ResponsePlan, ResponseError> {
        match plan_response(raw, request, ResponseLimits::default())? {
            Progress::Done { value, consumed } => {
                assert!(consumed <= raw.len());
                Ok(value)
            }
            Progress::NeedMore => panic!("incomplete"),
        }
    }

    fn final_parts(plan: ResponsePlan) -> (Framing, bool, bool) {
        match plan {
            ResponsePlan::Final {
                framing,
                keep_client,
                upstream_persistent,
                ..
            } => (framing, keep_client, upstream_persistent),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keep_alive_decisions() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(
            final_parts(plan(ok, &request(1, true)).unwrap()),
            (Framing::Length(2), true, true)
        );
        assert_eq!(
            final_parts(plan(ok, &request(1, false)).unwrap()),
            (Framing::Length(2), false, true)
        );
        let close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(
            final_parts(plan(close, &request(1, true)).unwrap()),
            (Framing::Length(2), false, false)
        );
        let until_close = b"HTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(
            final_parts(plan(until_close, &request(1, true)).unwrap()),
            (Framing::UntilClose, false, true)
        );
        // An HTTP/1.0 origin with a length: the client may stay, the origin connection not.
        let old = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(
            final_parts(plan(old, &request(1, true)).unwrap()),
            (Framing::Length(2), true, false)
        );
        // An HTTP/1.0 request is forwarded without keep-alive: the origin will close.
        assert_eq!(
            final_parts(plan(ok, &request(0, true)).unwrap()),
            (Framing::Length(2), true, false)
        );
    }

    #[test]
    fn interim_for_old_clients_is_dropped() {
        let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
        assert_eq!(
            plan(cont, &request(1, true)),
            Ok(ResponsePlan::Interim {
                head: cont.to_vec()
            })
        );
        assert_eq!(
            plan(cont, &request(0, true)),
            Ok(ResponsePlan::Interim { head: Vec::new() })
        );
    }

    #[test]
    fn switch_only_when_asked() {
        let switch = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        assert_eq!(
            plan(switch, &request(1, true)),
            Err(ResponseError::UnexpectedSwitch)
        );
        let mut upgrading = request(1, true);
        upgrading.upgrade = true;
        assert!(matches!(
            plan(switch, &upgrading),
            Ok(ResponsePlan::Switch { .. })
        ));
    }
}
