//! SOCKS5 UDP ASSOCIATE: a relay socket for the client beside its control connection, and
//! egress sockets pinned to the port's interface. Datagrams are taken only from the client's
//! address, go only where the profile's rules allow, and answers are passed back only from
//! destinations the client wrote to (no open inbound relay). The association ends with its
//! control connection or after the idle timeout.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::open::destinations;
use super::refusal::Refusal;
use super::Client;
use crate::egress::udp_through;
use crate::limits::LoginLimit;
use crate::protocol::socks5::{
    encode_failure, encode_reply, encode_udp_header, parse_udp_datagram, ReplyCode,
};
use crate::protocol::Target;
use crate::relay::{Direction, Meter};
use crate::stats::RefusalKind;

/// The largest datagram relayed (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;
/// An association with no datagram either way for this long ends (when the plane has no
/// idle timeout of its own).
const DEFAULT_IDLE: Duration = Duration::from_secs(120);

pub async fn associate(client: &Client, mut control: TcpStream) {
    if client.permit.is_none() {
        return refuse(client, &mut control, Refusal::Maxconn).await;
    }
    let relay = match control
        .local_addr()
        .and_then(|local| std::net::UdpSocket::bind((local.ip(), 0)))
        .and_then(|socket| {
            socket.set_nonblocking(true)?;
            UdpSocket::from_std(socket)
        }) {
        Ok(socket) => socket,
        Err(_) => {
            let _ = control
                .write_all(encode_failure(ReplyCode::GeneralFailure).as_bytes())
                .await;
            return;
        }
    };
    let Ok(bound) = relay.local_addr() else {
        return;
    };
    if control
        .write_all(encode_reply(ReplyCode::Succeeded, bound).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let meter = client.start_meter();
    let mut association = Association {
        client,
        relay,
        client_address: None,
        egress: HashMap::new(),
        contacted: HashSet::new(),
        resolved: HashMap::new(),
        limit: client.login_limit(),
        meter: &meter,
    };
    association.run(&mut control).await;
}

struct Association<'a> {
    client: &'a Client,
    relay: UdpSocket,
    /// The client's UDP address, fixed by its first datagram (from its TCP address's IP).
    client_address: Option<SocketAddr>,
    /// One egress socket per address family.
    egress: HashMap<bool, Arc<UdpSocket>>,
    contacted: HashSet<SocketAddr>,
    resolved: HashMap<Target, SocketAddr>,
    limit: Option<Arc<LoginLimit>>,
    meter: &'a dyn Meter,
}

impl Association<'_> {
    async fn run(&mut self, control: &mut TcpStream) {
        let idle = self
            .client
            .plane
            .config
            .idle_timeout
            .unwrap_or(DEFAULT_IDLE);
        let mut from_client = vec![0u8; MAX_DATAGRAM];
        let mut from_internet4 = vec![0u8; MAX_DATAGRAM];
        let mut from_internet6 = vec![0u8; MAX_DATAGRAM];
        let mut control_byte = [0u8; 64];
        loop {
            let v4 = self.egress.get(&true).cloned();
            let v6 = self.egress.get(&false).cloned();
            tokio::select! {
                read = control.read(&mut control_byte) => {
                    // The client closing (or breaking) its control connection ends it all.
                    if !matches!(read, Ok(n) if n > 0) { return; }
                }
                received = self.relay.recv_from(&mut from_client) => {
                    if let Ok((len, source)) = received {
                        self.outbound(&from_client[..len], source).await;
                    }
                }
                received = recv_on(v4.as_deref(), &mut from_internet4) => {
                    if let Ok((len, source)) = received {
                        self.inbound(&from_internet4[..len], source).await;
                    }
                }
                received = recv_on(v6.as_deref(), &mut from_internet6) => {
                    if let Ok((len, source)) = received {
                        self.inbound(&from_internet6[..len], source).await;
                    }
                }
                _ = tokio::time::sleep(idle) => return,
            }
        }
    }

    /// A datagram from the client: checked, then sent out through the port.
    async fn outbound(&mut self, datagram: &[u8], source: SocketAddr) {
        if source.ip() != self.client.peer.ip() && !same_ip(source.ip(), self.client.peer.ip()) {
            return;
        }
        match self.client_address {
            Some(known) if known != source => return,
            Some(_) => {}
            None => self.client_address = Some(source),
        }
        let Ok(parsed) = parse_udp_datagram(datagram) else {
            self.client.count_refusal(RefusalKind::Protocol);
            return;
        };
        let Ok(target) = parsed.destination.target() else {
            self.client.count_refusal(RefusalKind::Protocol);
            return;
        };
        let destination = match self.resolved.get(&target) {
            Some(address) => *address,
            None => match destinations(self.client, &target).await {
                Ok((_, addresses)) => match addresses.first() {
                    Some(address) => {
                        self.resolved.insert(target, *address);
                        *address
                    }
                    None => return,
                },
                Err(refusal) => {
                    self.client.count_refusal(refusal.kind());
                    return;
                }
            },
        };
        let Some(socket) = self.egress_socket(destination) else {
            return;
        };
        if let Some(limit) = &self.limit {
            limit.outbound.take(parsed.data.len() as u64).await;
        }
        if socket.send_to(parsed.data, destination).await.is_ok() {
            self.contacted.insert(destination);
            self.meter
                .record(Direction::Outbound, parsed.data.len() as u64);
        }
    }

    /// A datagram from the internet: passed back only from a destination the client used.
    async fn inbound(&mut self, data: &[u8], source: SocketAddr) {
        let Some(client_address) = self.client_address else {
            return;
        };
        if !self.contacted.contains(&source) {
            return;
        }
        if let Some(limit) = &self.limit {
            limit.inbound.take(data.len() as u64).await;
        }
        let mut packet = Vec::with_capacity(data.len() + 22);
        encode_udp_header(source, &mut packet);
        packet.extend_from_slice(data);
        if self.relay.send_to(&packet, client_address).await.is_ok() {
            self.meter.record(Direction::Inbound, data.len() as u64);
        }
    }

    fn egress_socket(&mut self, destination: SocketAddr) -> Option<Arc<UdpSocket>> {
        let v4 = destination.is_ipv4();
        if let Some(socket) = self.egress.get(&v4) {
            return Some(Arc::clone(socket));
        }
        match udp_through(&self.client.profile.egress.ifname, destination) {
            Ok(socket) => {
                let socket = Arc::new(socket);
                self.egress.insert(v4, Arc::clone(&socket));
                Some(socket)
            }
            Err(error) => {
                tracing::debug!(%error, "cannot open a UDP socket through the port");
                self.client.count_refusal(RefusalKind::Egress);
                None
            }
        }
    }
}

/// Receives on `socket`, or never when there is none yet.
async fn recv_on(
    socket: Option<&UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(socket) => socket.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// The same host seen as IPv4 and as IPv4-mapped IPv6.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

async fn refuse(client: &Client, control: &mut TcpStream, refusal: Refusal) {
    let _ = control
        .write_all(encode_failure(refusal.socks5_reply()).as_bytes())
        .await;
    client.count_refusal(refusal.kind());
}
