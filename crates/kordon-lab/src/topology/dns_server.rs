//! The zone's authoritative server in the internet namespace: it reads each query, answers
//! from [`Zone`] with the querier's source address as it arrives (after the modem's NAT, the
//! modem's public address), and says so the way an authoritative-only server does: AA on
//! answers from the zone, no RA, NOTIMP for opcodes other than QUERY, FORMERR for anything but
//! one question, REFUSED for classes other than IN.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::DNSClass;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;

use crate::dns::serve::{serve, Limits, Responder};
use crate::dns::wire::{self, Incoming, Transport};

use super::dns_zone::Zone;

const LIMITS: Limits = Limits {
    in_flight: 256,
    connections: 64,
    idle: Duration::from_secs(10),
};

/// Serves the lab's zone on `udp` and `tcp` (both on port 53 of its address).
pub fn spawn_dns_server(udp: UdpSocket, tcp: TcpListener, tasks: &mut JoinSet<()>) {
    serve(udp, tcp, Authority { zone: Zone::lab() }, LIMITS, tasks);
}

struct Authority {
    zone: Zone,
}

impl Responder for Authority {
    type Session = ();

    async fn respond(
        &self,
        _session: &mut (),
        query: Vec<u8>,
        peer: SocketAddr,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let (reply, limit) = match wire::read_query(&query)? {
            Incoming::Query(query) => (
                answer(&self.zone, &query, peer.ip()),
                wire::size_limit(&query, transport),
            ),
            Incoming::Malformed(header) => (
                wire::reply_to_header(&header, ResponseCode::FormErr),
                usize::MAX,
            ),
        };
        match wire::encode(&reply, limit) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                tracing::warn!("encoding a DNS reply to {peer}: {e}");
                None
            }
        }
    }
}

/// The reply of the authoritative server to `query` from `querier`.
fn answer(zone: &Zone, query: &Message, querier: IpAddr) -> Message {
    let mut reply = wire::reply_to(query);
    let code = match (query.metadata.op_code, query.queries.as_slice()) {
        (OpCode::Query, [question]) if question.query_class() == DNSClass::IN => {
            let lookup = zone.lookup(question.name(), question.query_type(), querier);
            reply.metadata.authoritative = lookup.authoritative;
            reply.add_answers(lookup.answers);
            reply.add_authorities(lookup.authorities);
            lookup.code
        }
        (OpCode::Query, [_]) => ResponseCode::Refused,
        (OpCode::Query, _) => ResponseCode::FormErr,
        _ => ResponseCode::NotImp,
    };
    reply.metadata.response_code = code;
    reply
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::str::FromStr;

    use hickory_proto::op::{MessageType, Query};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;

    const QUERIER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 1, 9));

    fn query(name: &str, qtype: RecordType) -> Message {
        let mut q = Message::new(99, MessageType::Query, OpCode::Query);
        q.metadata.recursion_desired = true;
        q.add_query(Query::query(Name::from_str(name).unwrap(), qtype));
        q
    }

    #[test]
    fn answers_are_authoritative_without_recursion() {
        let reply = answer(
            &Zone::lab(),
            &query("echo.kordon.test.", RecordType::A),
            QUERIER,
        );
        assert_eq!(reply.metadata.id, 99);
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert!(reply.metadata.authoritative);
        assert!(reply.metadata.recursion_desired);
        assert!(!reply.metadata.recursion_available);
        assert_eq!(reply.answers.len(), 1);
        let other = answer(&Zone::lab(), &query("example.org.", RecordType::A), QUERIER);
        assert_eq!(other.metadata.response_code, ResponseCode::Refused);
        assert!(!other.metadata.authoritative);
    }

    #[test]
    fn odd_queries_get_the_standard_errors() {
        let zone = Zone::lab();
        let mut two = query("echo.kordon.test.", RecordType::A);
        two.add_query(Query::query(fqdn_echo(), RecordType::AAAA));
        assert_eq!(
            answer(&zone, &two, QUERIER).metadata.response_code,
            ResponseCode::FormErr
        );

        let mut none = query("echo.kordon.test.", RecordType::A);
        none.queries.clear();
        assert_eq!(
            answer(&zone, &none, QUERIER).metadata.response_code,
            ResponseCode::FormErr
        );

        let mut notify = query("kordon.test.", RecordType::SOA);
        notify.metadata.op_code = OpCode::Notify;
        assert_eq!(
            answer(&zone, &notify, QUERIER).metadata.response_code,
            ResponseCode::NotImp
        );

        let mut chaos = Query::query(Name::from_str("version.bind.").unwrap(), RecordType::TXT);
        chaos.set_query_class(DNSClass::CH);
        let mut ch = query("echo.kordon.test.", RecordType::A);
        ch.queries = vec![chaos];
        assert_eq!(
            answer(&zone, &ch, QUERIER).metadata.response_code,
            ResponseCode::Refused
        );
    }

    fn fqdn_echo() -> Name {
        Name::from_str("echo.kordon.test.").unwrap()
    }
}
