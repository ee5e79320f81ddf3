//! Name resolution on the egress side: queries go out of the port's interface to the
//! resolver its modem offers (the modem's LAN address, where HiLink and ZTE firmware run a
//! DNS forwarder), never to the host's resolver, so a name resolves as the target network
//! sees it and no query leaks through another link.
//!
//! The wire format is hickory-proto's; this module only sends one question and reads the
//! answer (UDP, then TCP when the answer is truncated).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use socket2::{Domain, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

use super::connect::{bound_socket, connect_through};

/// Largest UDP answer read (EDNS-less servers send at most 512 bytes; some send more).
const MAX_UDP_ANSWER: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0:?} is not a valid domain name")]
    BadName(String),
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("{0} has no address")]
    NoAddress(String),
    #[error("the resolver answered {0}")]
    Failed(ResponseCode),
    #[error("no answer from the resolver within {0:?}")]
    Timeout(Duration),
    #[error("resolver unreachable: {0}")]
    Io(#[from] io::Error),
    #[error("unreadable answer: {0}")]
    Malformed(String),
}

impl ResolveError {
    /// The same error for another caller that waited on the same question (an `io::Error`
    /// cannot be cloned, so its kind and text are carried over).
    pub fn duplicate(&self) -> ResolveError {
        match self {
            ResolveError::BadName(name) => ResolveError::BadName(name.clone()),
            ResolveError::NotFound(name) => ResolveError::NotFound(name.clone()),
            ResolveError::NoAddress(name) => ResolveError::NoAddress(name.clone()),
            ResolveError::Failed(code) => ResolveError::Failed(*code),
            ResolveError::Timeout(after) => ResolveError::Timeout(*after),
            ResolveError::Io(error) => {
                ResolveError::Io(io::Error::new(error.kind(), error.to_string()))
            }
            ResolveError::Malformed(why) => ResolveError::Malformed(why.clone()),
        }
    }
}

/// Where and how a port resolves names.
#[derive(Debug, Clone)]
pub struct DnsPath<'a> {
    pub ifname: &'a str,
    pub server: SocketAddr,
    /// For each attempt (two attempts over UDP).
    pub timeout: Duration,
}

/// What a resolver said about a name, with the time-to-live it gave (seconds, as on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The name's addresses. `ttl` is the smallest TTL among the records they came from: the
    /// address records and the CNAMEs that led to them.
    Addresses { addresses: Vec<IpAddr>, ttl: u32 },
    /// The name does not exist or has no address. `ttl` is RFC 2308's negative-caching time
    /// (the smaller of the SOA record's TTL and its MINIMUM) when the answer carried the
    /// zone's SOA in its authority section.
    Absent { absence: Absence, ttl: Option<u32> },
}

/// Why a name has no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absence {
    /// NXDOMAIN.
    NotFound,
    /// The name exists but has neither an A nor an AAAA record.
    NoAddress,
}

impl Absence {
    /// The error a lookup of `name` reports in this case.
    pub fn error(self, name: &str) -> ResolveError {
        match self {
            Absence::NotFound => {
                let shown = fqdn(name).map_or_else(|_| name.to_string(), |fqdn| fqdn.to_utf8());
                ResolveError::NotFound(shown)
            }
            Absence::NoAddress => ResolveError::NoAddress(name.to_string()),
        }
    }
}

/// What the port's resolver says of `name`, with the answer's TTL: its IPv4 addresses (mobile
/// links are IPv4 first), its IPv6 ones when it has no IPv4 address, or why it has none. `Err`
/// is only for what says nothing about the name (a bad name, no or unreadable answer, a
/// failing resolver), so never worth keeping.
pub async fn resolve_answer(name: &str, path: &DnsPath<'_>) -> Result<Answer, ResolveError> {
    let fqdn = fqdn(name)?;
    let v4_ttl = match lookup(&fqdn, RecordType::A, path).await? {
        Answer::Absent {
            absence: Absence::NoAddress,
            ttl,
        } => ttl,
        found_or_missing => return Ok(found_or_missing),
    };
    Ok(match lookup(&fqdn, RecordType::AAAA, path).await? {
        Answer::Absent {
            absence: Absence::NoAddress,
            ttl,
        } => Answer::Absent {
            absence: Absence::NoAddress,
            // Both questions came back empty: the answer holds as long as the shorter one.
            ttl: [v4_ttl, ttl].into_iter().flatten().min(),
        },
        other => other,
    })
}

fn fqdn(name: &str) -> Result<Name, ResolveError> {
    Name::from_ascii(name)
        .and_then(|n| n.append_domain(&Name::root()))
        .map_err(|_| ResolveError::BadName(name.to_string()))
}

async fn lookup(name: &Name, kind: RecordType, path: &DnsPath<'_>) -> Result<Answer, ResolveError> {
    let id: u16 = rand::random();
    let mut query = Message::new(id, MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name.clone(), kind));
    let wire = query
        .to_vec()
        .map_err(|e| ResolveError::Malformed(e.to_string()))?;
    let mut answer = None;
    for _ in 0..2 {
        match tokio::time::timeout(path.timeout, ask_udp(&wire, path)).await {
            Ok(Ok(bytes)) => {
                answer = Some(bytes);
                break;
            }
            Ok(Err(error)) => return Err(error.into()),
            Err(_) => continue,
        }
    }
    let bytes = answer.ok_or(ResolveError::Timeout(path.timeout))?;
    let mut message = check(&bytes, id, name, kind)?;
    if message.metadata.truncation {
        let bytes = tokio::time::timeout(path.timeout, ask_tcp(&wire, path))
            .await
            .map_err(|_| ResolveError::Timeout(path.timeout))??;
        message = check(&bytes, id, name, kind)?;
    }
    let absence = match message.metadata.response_code {
        ResponseCode::NoError => Absence::NoAddress,
        ResponseCode::NXDomain => Absence::NotFound,
        code => return Err(ResolveError::Failed(code)),
    };
    let mut addresses = Vec::new();
    let mut ttl: Option<u32> = None;
    for record in &message.answers {
        let address = match &record.data {
            RData::A(a) if kind == RecordType::A => Some(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) if kind == RecordType::AAAA => Some(IpAddr::V6(aaaa.0)),
            RData::CNAME(_) => None,
            _ => continue,
        };
        addresses.extend(address);
        ttl = Some(ttl.map_or(record.ttl, |least| least.min(record.ttl)));
    }
    Ok(match ttl {
        Some(ttl) if !addresses.is_empty() && absence == Absence::NoAddress => {
            Answer::Addresses { addresses, ttl }
        }
        _ => Answer::Absent {
            absence,
            ttl: negative_ttl(&message),
        },
    })
}

/// RFC 2308 section 5: a negative answer lives as long as the smaller of the SOA record's
/// own TTL and its MINIMUM field.
fn negative_ttl(message: &Message) -> Option<u32> {
    message
        .authorities
        .iter()
        .find_map(|record| match &record.data {
            RData::SOA(soa) => Some(record.ttl.min(soa.minimum)),
            _ => None,
        })
}

/// Parses an answer and checks it answers our question (id and question echoed), so a stray
/// or spoofed datagram is not taken for the answer.
fn check(bytes: &[u8], id: u16, name: &Name, kind: RecordType) -> Result<Message, ResolveError> {
    let message = Message::from_vec(bytes).map_err(|e| ResolveError::Malformed(e.to_string()))?;
    let echoes = message.metadata.id == id
        && message.metadata.message_type == MessageType::Response
        && message
            .queries
            .first()
            .is_some_and(|q| q.query_type() == kind && q.name() == name);
    if !echoes {
        return Err(ResolveError::Malformed(
            "the answer does not match the question".into(),
        ));
    }
    Ok(message)
}

async fn ask_udp(wire: &[u8], path: &DnsPath<'_>) -> io::Result<Vec<u8>> {
    let socket = bound_socket(Domain::for_address(path.server), Type::DGRAM, path.ifname)?;
    let socket = UdpSocket::from_std(socket.into())?;
    socket.connect(path.server).await?;
    socket.send(wire).await?;
    let mut buf = vec![0u8; MAX_UDP_ANSWER];
    let len = socket.recv(&mut buf).await?;
    buf.truncate(len);
    Ok(buf)
}

async fn ask_tcp(wire: &[u8], path: &DnsPath<'_>) -> io::Result<Vec<u8>> {
    let mut stream = connect_through(path.ifname, path.server, path.timeout).await?;
    let len = u16::try_from(wire.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(wire).await?;
    let answer_len = stream.read_u16().await?;
    let mut buf = vec![0u8; usize::from(answer_len)];
    stream.read_exact(&mut buf).await?;
    Ok(buf)
}
