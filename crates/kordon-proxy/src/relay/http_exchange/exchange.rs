//! One request and its response between a client connection and an upstream connection.

use std::pin::pin;
use std::sync::atomic::{AtomicU16, Ordering};

use tokio::net::TcpStream;

use super::body::forward_body;
use super::plan::{plan_response, ResponsePlan};
use super::response_head::{ResponseError, ResponseLimits};
use super::{ExchangeError, ExchangeOutcome, ForwardRequest};
use crate::protocol::Progress;
use crate::relay::bidirectional::{both_ways, Ends};
use crate::relay::error::RelayError;
use crate::relay::flow::Flow;
use crate::relay::tally::{Direction, Tally};
use crate::relay::watch::{self, Ended};
use crate::relay::{Engine, RelayControls};

/// Interim responses accepted before the final one (103 Early Hints may come several times;
/// an endless stream of them is an upstream fault).
const MAX_INTERIM: usize = 16;

/// Bytes read at a time while waiting for a response head.
const HEAD_READ_ROOM: usize = 8 * 1024;

/// How the response side ended.
enum ResponseEnd {
    Final {
        keep_client: bool,
        /// The upstream connection can carry the next request.
        upstream_reusable: bool,
    },
    /// 101: the rest is a tunnel; these bytes followed the 101 head.
    Switched { upstream_rest: Vec<u8> },
}

/// What the work inside the stop/idle supervision produced.
struct Done {
    client_keep_alive: bool,
    upstream_reusable: bool,
    upgraded: bool,
}

pub(crate) async fn run(
    engine: Engine,
    client: &TcpStream,
    upstream: &TcpStream,
    client_buf: &mut Vec<u8>,
    request: &ForwardRequest<'_>,
    controls: &RelayControls<'_>,
) -> Result<ExchangeOutcome, ExchangeError> {
    let tally = Tally::new(controls.meter);
    // The final status once its head starts towards the client; 0 before.
    let answered = AtomicU16::new(0);
    let work = pin!(exchange(
        engine, client, upstream, client_buf, request, controls, &tally, &answered
    ));
    let result = watch::supervise(work, controls, &tally).await;
    let status = match answered.load(Ordering::Relaxed) {
        0 => None,
        status => Some(status),
    };
    let ended = result.map_err(|error| ExchangeError {
        error,
        answered: status.is_some(),
    })?;
    let end = ended.end();
    let done = match ended {
        Ended::Done(done) => done,
        Ended::Stopped | Ended::IdleTimeout => Done {
            client_keep_alive: false,
            upstream_reusable: false,
            upgraded: false,
        },
    };
    Ok(ExchangeOutcome {
        status,
        client_keep_alive: done.client_keep_alive,
        upstream_reusable: done.upstream_reusable,
        upgraded: done.upgraded,
        end,
        outbound: tally.outbound(),
        inbound: tally.inbound(),
    })
}

#[allow(clippy::too_many_arguments)] // private: the pieces of `run` one exchange borrows
async fn exchange(
    engine: Engine,
    client: &TcpStream,
    upstream: &TcpStream,
    client_buf: &mut Vec<u8>,
    request: &ForwardRequest<'_>,
    controls: &RelayControls<'_>,
    tally: &Tally<'_>,
    answered: &AtomicU16,
) -> Result<Done, RelayError> {
    let mut outbound = Flow::new(
        Direction::Outbound,
        client,
        upstream,
        controls,
        tally,
        engine,
    );
    let mut inbound = Flow::new(
        Direction::Inbound,
        client,
        upstream,
        controls,
        tally,
        engine,
    );
    outbound.write_all(request.upstream_head).await?;
    // The request body and the response run at once: a client that sent
    // `Expect: 100-continue` waits for the interim response before its body, and an origin
    // may answer before it has read the whole body.
    let (response, body_complete) = {
        let mut body = pin!(forward_body(&mut outbound, client_buf, request.body.into()));
        let mut response = pin!(forward_response(&mut inbound, request, answered));
        let mut body_complete = false;
        loop {
            // The body first: a response that is already whole (a quick origin, a busy
            // machine) must not end the loop before a body that is just as done has been
            // polled, or a finished exchange would count as cut short and both connections
            // would be dropped.
            tokio::select! {
                biased;
                sent = &mut body, if !body_complete => {
                    sent?;
                    body_complete = true;
                }
                response = &mut response => break (response?, body_complete),
            }
        }
    };
    match response {
        ResponseEnd::Final {
            keep_client,
            upstream_reusable,
        } => Ok(Done {
            // A body cut short leaves the client's next bytes unaccounted for, and the
            // upstream expecting the rest: neither connection can carry another request.
            client_keep_alive: keep_client && body_complete,
            upstream_reusable: upstream_reusable && body_complete,
            upgraded: false,
        }),
        ResponseEnd::Switched { upstream_rest } => {
            let ends = Ends {
                client,
                upstream,
                client_first: client_buf,
                upstream_first: &upstream_rest,
            };
            both_ways(engine, ends, controls, tally).await?;
            client_buf.clear();
            Ok(Done {
                client_keep_alive: false,
                upstream_reusable: false,
                upgraded: true,
            })
        }
    }
}

/// Reads response heads until the final one (forwarding interim ones), forwards it and its
/// body, or the 101 that turns the exchange into a tunnel.
async fn forward_response(
    flow: &mut Flow<'_>,
    request: &ForwardRequest<'_>,
    answered: &AtomicU16,
) -> Result<ResponseEnd, RelayError> {
    let mut buf = Vec::new();
    for _ in 0..=MAX_INTERIM {
        let (plan, consumed) = read_head(flow, &mut buf, request).await?;
        match plan {
            ResponsePlan::Interim { head } => {
                flow.write_all(&head).await?;
                buf.drain(..consumed);
            }
            ResponsePlan::Switch { head } => {
                answered.store(101, Ordering::Relaxed);
                flow.write_all(&head).await?;
                buf.drain(..consumed);
                return Ok(ResponseEnd::Switched { upstream_rest: buf });
            }
            ResponsePlan::Final {
                status,
                head,
                framing,
                keep_client,
                upstream_persistent,
            } => {
                answered.store(status, Ordering::Relaxed);
                flow.write_all(&head).await?;
                buf.drain(..consumed);
                forward_body(flow, &mut buf, framing).await?;
                return Ok(ResponseEnd::Final {
                    keep_client,
                    // Bytes after the body were not asked for: the connection is out of step.
                    upstream_reusable: upstream_persistent
                        && framing.is_delimited()
                        && buf.is_empty(),
                });
            }
        }
    }
    Err(ResponseError::TooManyInterim(MAX_INTERIM).into())
}

/// Reads until `buf` starts with a complete response head and plans it.
async fn read_head(
    flow: &Flow<'_>,
    buf: &mut Vec<u8>,
    request: &ForwardRequest<'_>,
) -> Result<(ResponsePlan, usize), RelayError> {
    loop {
        if !buf.is_empty() {
            if let Progress::Done { value, consumed } =
                plan_response(buf, request, ResponseLimits::default())?
            {
                return Ok((value, consumed));
            }
        }
        if flow.read_into(buf, HEAD_READ_ROOM).await? == 0 {
            return Err(if buf.is_empty() {
                RelayError::UpstreamClosed
            } else {
                ResponseError::IncompleteHead.into()
            });
        }
    }
}
