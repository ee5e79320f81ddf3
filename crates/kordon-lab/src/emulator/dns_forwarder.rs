//! The firmware's DNS forwarder (dnsmasq on HiLink and ZTE sticks). It answers on the modem's
//! LAN address, port 53, and forwards each query to the operator's resolver through the data
//! link, so the query leaves NATed with the modem's public address. As dnsmasq does:
//!
//! - a UDP query leaves from a fresh socket (a random source port) with a new random ID; the
//!   answer goes back with the client's ID, RA set and AD cleared;
//! - a TCP client connection gets its own TCP connection upstream;
//! - at most 150 UDP queries are in flight (`dns-forward-max`) and 20 TCP connections open;
//! - a query that cannot be sent — no data session (disconnected, or reconnecting during a
//!   rotation), no route, connection refused — is answered at once with REFUSED, plus the
//!   Extended DNS Error 23 "Network Error" when the client used EDNS: dnsmasq's answer when it
//!   "could not send on" (`forward_query`, `tcp_request`);
//! - a query sent but never answered gets no answer: the client retries or times out;
//! - while the firmware reboots or the stick is unplugged nothing answers at all.
//!
//! There is no cache (dnsmasq's would keep an answer for its TTL; `whoami`'s is 0 anyway).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use socket2::Type;
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::task::JoinSet;

use super::modem::EmulatedModem;
use super::state::Connection;
use crate::dns::framing::{read_message, write_message};
use crate::dns::serve::{serve, Limits, Responder, MAX_UDP_PAYLOAD};
use crate::dns::wire::{self, Incoming, Transport};

const LIMITS: Limits = Limits {
    in_flight: 150,
    connections: 20,
    idle: Duration::from_secs(30),
};
/// How long a forwarded query waits for its answer (dnsmasq's `TIMEOUT`).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// A running forwarder; dropping it stops it.
pub struct DnsForwarder {
    addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl DnsForwarder {
    /// Where it answers (UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Serves `modem`'s forwarder on `udp` and `tcp` (the same address), relaying to `upstream`
/// through sockets the modem opens on its data link ([`EmulatedModem::data_socket`]).
pub fn spawn_dns_forwarder(
    udp: UdpSocket,
    tcp: TcpListener,
    upstream: SocketAddr,
    modem: EmulatedModem,
) -> io::Result<DnsForwarder> {
    let addr = udp.local_addr()?;
    let mut tasks = JoinSet::new();
    serve(udp, tcp, Relay { modem, upstream }, LIMITS, &mut tasks);
    Ok(DnsForwarder { addr, tasks })
}

struct Relay {
    modem: EmulatedModem,
    upstream: SocketAddr,
}

/// What became of a forwarded query.
enum Forwarded {
    Answered(Vec<u8>),
    /// Sent, never answered.
    Lost,
    /// Could not be sent.
    Unsent,
}

impl Responder for Relay {
    /// The upstream connection of a client's TCP connection.
    type Session = Option<TcpStream>;

    async fn respond(
        &self,
        upstream_tcp: &mut Option<TcpStream>,
        query: Vec<u8>,
        _peer: SocketAddr,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let state = self.modem.state();
        if !state.reachable() {
            return None;
        }
        let parsed = match wire::read_query(&query)? {
            Incoming::Query(parsed) => parsed,
            Incoming::Malformed(header) => {
                let reply = wire::reply_to_header(&header, ResponseCode::FormErr);
                return wire::encode(&reply, usize::MAX).ok();
            }
        };
        let forwarded = if state.connection == Connection::Connected {
            match transport {
                Transport::Udp => self.via_udp(&query).await,
                Transport::Tcp => self.via_tcp(upstream_tcp, &query).await,
            }
        } else {
            Forwarded::Unsent
        };
        match forwarded {
            Forwarded::Answered(mut answer) => {
                let client_id = parsed.metadata.id;
                wire::edit_header(&mut answer, |h| {
                    h.id = client_id;
                    h.recursion_available = true;
                    h.authentic_data = false;
                });
                Some(answer)
            }
            Forwarded::Lost => None,
            Forwarded::Unsent => refused(&parsed, transport),
        }
    }
}

/// dnsmasq's reply to a query it could not send on.
fn refused(query: &Message, transport: Transport) -> Option<Vec<u8>> {
    let mut reply = wire::reply_to(query);
    reply.metadata.response_code = ResponseCode::Refused;
    reply.metadata.recursion_available = true;
    wire::add_network_error(&mut reply);
    wire::encode(&reply, wire::size_limit(query, transport)).ok()
}

impl Relay {
    async fn via_udp(&self, query: &[u8]) -> Forwarded {
        let socket = match self.udp_socket().await {
            Ok(socket) => socket,
            Err(e) => return unsent(e),
        };
        let id: u16 = rand::random();
        let mut out = query.to_vec();
        wire::edit_header(&mut out, |h| h.id = id);
        if let Err(e) = socket.send(&out).await {
            return unsent(e);
        }
        let mut buf = vec![0u8; MAX_UDP_PAYLOAD];
        let answer = async {
            loop {
                // The socket is connected: only the upstream's datagrams arrive. A stray one
                // with another ID (a late answer, a spoof) is skipped.
                let len = socket.recv(&mut buf).await?;
                if wire::read_header(&buf[..len]).is_some_and(|h| h.id == id) {
                    return io::Result::Ok(buf[..len].to_vec());
                }
            }
        };
        match tokio::time::timeout(UPSTREAM_TIMEOUT, answer).await {
            Ok(Ok(answer)) => Forwarded::Answered(answer),
            // An ICMP error (port unreachable) is no answer: dnsmasq waits it out too.
            _ => Forwarded::Lost,
        }
    }

    async fn via_tcp(&self, upstream: &mut Option<TcpStream>, query: &[u8]) -> Forwarded {
        if upstream.is_none() {
            match self.tcp_connect().await {
                Ok(stream) => *upstream = Some(stream),
                Err(e) => return unsent(e),
            }
        }
        let Some(stream) = upstream.as_mut() else {
            return Forwarded::Unsent;
        };
        let id: u16 = rand::random();
        let mut out = query.to_vec();
        wire::edit_header(&mut out, |h| h.id = id);
        if let Err(e) = write_message(stream, &out).await {
            *upstream = None;
            return unsent(e);
        }
        match tokio::time::timeout(UPSTREAM_TIMEOUT, read_message(stream)).await {
            Ok(Ok(Some(answer))) if wire::read_header(&answer).is_some_and(|h| h.id == id) => {
                Forwarded::Answered(answer)
            }
            Ok(_) => {
                *upstream = None;
                Forwarded::Unsent
            }
            Err(_) => {
                *upstream = None;
                Forwarded::Lost
            }
        }
    }

    /// A UDP socket on the data link on a random port, connected to the upstream.
    async fn udp_socket(&self) -> io::Result<UdpSocket> {
        let modem = self.modem.clone();
        let socket = tokio::task::spawn_blocking(move || -> io::Result<std::net::UdpSocket> {
            let socket = modem.data_socket(Type::DGRAM)?;
            socket.set_nonblocking(true)?;
            socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)).into())?;
            Ok(socket.into())
        })
        .await
        .map_err(io::Error::other)??;
        let socket = UdpSocket::from_std(socket)?;
        socket.connect(self.upstream).await?;
        Ok(socket)
    }

    async fn tcp_connect(&self) -> io::Result<TcpStream> {
        let modem = self.modem.clone();
        let socket = tokio::task::spawn_blocking(move || -> io::Result<std::net::TcpStream> {
            let socket = modem.data_socket(Type::STREAM)?;
            socket.set_nonblocking(true)?;
            Ok(socket.into())
        })
        .await
        .map_err(io::Error::other)??;
        let connect = TcpSocket::from_std_stream(socket).connect(self.upstream);
        match tokio::time::timeout(UPSTREAM_TIMEOUT, connect).await {
            Ok(stream) => stream,
            Err(_) => Err(io::Error::from(io::ErrorKind::TimedOut)),
        }
    }
}

fn unsent(e: io::Error) -> Forwarded {
    tracing::debug!("DNS forwarder could not send on: {e}");
    Forwarded::Unsent
}
