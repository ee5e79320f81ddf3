//! DNS messages on the wire (hickory-proto), no IO: reading a query, building and encoding a
//! reply within the transport's size limit, and the header edits a forwarder makes.

use hickory_proto::op::{Edns, Header, Message, MessageType, Metadata, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use hickory_proto::ProtoError;

/// Every message starts with a 12-byte header (RFC 1035 4.1.1).
pub(crate) const HEADER_LEN: usize = 12;
/// DNS over UDP without EDNS (RFC 1035 4.2.1).
const CLASSIC_UDP_LIMIT: usize = 512;
/// The EDNS payload size the lab advertises and honours at most (DNS flag day 2020).
const EDNS_PAYLOAD: u16 = 1232;
/// The Extended DNS Error option (RFC 8914) and its code 23, "Network Error".
const EDE_OPTION: u16 = 15;
const EDE_NETWORK_ERROR: u16 = 23;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

/// What arrived, as far as a server can tell.
#[derive(Debug)]
pub(crate) enum Incoming {
    Query(Message),
    /// A query header followed by something that does not parse: answered with FORMERR.
    Malformed(Header),
}

/// Reads a received message. `None` for what a server drops unanswered: fewer bytes than a
/// header, or a response (answering those would let two servers loop).
pub(crate) fn read_query(bytes: &[u8]) -> Option<Incoming> {
    let header = read_header(bytes)?;
    if header.message_type != MessageType::Query {
        return None;
    }
    Some(match Message::from_vec(bytes) {
        Ok(message) => Incoming::Query(message),
        Err(_) => Incoming::Malformed(header),
    })
}

/// The header of a message, if it has one.
pub(crate) fn read_header(bytes: &[u8]) -> Option<Header> {
    Header::read(&mut BinDecoder::new(bytes.get(..HEADER_LEN)?)).ok()
}

/// An empty reply to `query`: its ID, opcode, RD and CD flags and question, and an OPT record
/// when the query had one (RFC 6891 7: a responder that got OPT must send OPT).
pub(crate) fn reply_to(query: &Message) -> Message {
    let mut reply = Message::new(0, MessageType::Response, query.metadata.op_code);
    reply.metadata = Metadata::response_from_request(&query.metadata);
    reply.add_queries(query.queries.iter().cloned());
    if query.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        reply.set_edns(edns);
    }
    reply
}

/// A reply to a query whose body did not parse: header only.
pub(crate) fn reply_to_header(header: &Header, code: ResponseCode) -> Message {
    let mut reply = Message::new(0, MessageType::Response, header.op_code);
    reply.metadata = Metadata::response_from_request(&header.metadata);
    reply.metadata.response_code = code;
    reply
}

/// Adds "Network Error" as the Extended DNS Error, when the reply carries EDNS at all.
pub(crate) fn add_network_error(reply: &mut Message) {
    if let Some(edns) = reply.edns.as_mut() {
        let info = EDE_NETWORK_ERROR.to_be_bytes().to_vec();
        edns.options_mut()
            .insert(EdnsOption::Unknown(EDE_OPTION, info));
    }
}

/// The largest reply `query` may get over `transport`: 65535 on TCP; on UDP 512 bytes, or
/// the EDNS size the client advertised within 512–1232.
pub(crate) fn size_limit(query: &Message, transport: Transport) -> usize {
    match (transport, &query.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => CLASSIC_UDP_LIMIT,
        (Transport::Udp, Some(edns)) => {
            usize::from(edns.max_payload().min(EDNS_PAYLOAD)).max(CLASSIC_UDP_LIMIT)
        }
    }
}

/// Encodes `reply`; one larger than `limit` goes out as header, question and OPT with the TC
/// flag set, which sends the client to TCP (RFC 1035 4.2.1, RFC 7766).
pub(crate) fn encode(reply: &Message, limit: usize) -> Result<Vec<u8>, ProtoError> {
    let bytes = reply.to_vec()?;
    if bytes.len() <= limit {
        return Ok(bytes);
    }
    reply.truncate().to_vec()
}

/// Edits the header of the message in `bytes` in place; `false` if it has none.
pub(crate) fn edit_header(bytes: &mut [u8], edit: impl FnOnce(&mut Metadata)) -> bool {
    let Some(mut header) = read_header(bytes) else {
        return false;
    };
    edit(&mut header.metadata);
    let mut encoded = Vec::with_capacity(HEADER_LEN);
    if header.emit(&mut BinEncoder::new(&mut encoded)).is_err() || encoded.len() != HEADER_LEN {
        return false;
    }
    bytes[..HEADER_LEN].copy_from_slice(&encoded);
    true
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::op::{OpCode, Query};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;

    fn query(edns_payload: Option<u16>) -> Message {
        let mut q = Message::new(0x4242, MessageType::Query, OpCode::Query);
        q.metadata.recursion_desired = true;
        q.add_query(Query::query(
            Name::from_str("echo.kordon.test.").unwrap(),
            RecordType::A,
        ));
        if let Some(payload) = edns_payload {
            let mut edns = Edns::new();
            edns.set_max_payload(payload);
            q.set_edns(edns);
        }
        q
    }

    #[test]
    fn replies_keep_id_question_and_edns() {
        let bytes = query(Some(4096)).to_vec().unwrap();
        let Some(Incoming::Query(q)) = read_query(&bytes) else {
            panic!("not read as a query");
        };
        let reply = reply_to(&q);
        assert_eq!(reply.metadata.id, 0x4242);
        assert!(reply.metadata.recursion_desired);
        assert_eq!(reply.metadata.message_type, MessageType::Response);
        assert_eq!(reply.queries, q.queries);
        assert_eq!(reply.edns.as_ref().map(Edns::max_payload), Some(1232));
        assert_eq!(size_limit(&q, Transport::Udp), 1232);
        assert_eq!(size_limit(&query(None), Transport::Udp), 512);
        assert_eq!(size_limit(&query(Some(100)), Transport::Udp), 512);
        assert_eq!(size_limit(&q, Transport::Tcp), 65535);
    }

    #[test]
    fn responses_and_scraps_are_dropped_and_bad_bodies_get_a_header() {
        assert!(read_query(&[0u8; 11]).is_none());
        let mut response = query(None);
        response.metadata.message_type = MessageType::Response;
        assert!(read_query(&response.to_vec().unwrap()).is_none());
        let mut cut = query(None).to_vec().unwrap();
        cut.truncate(HEADER_LEN + 3);
        let Some(Incoming::Malformed(header)) = read_query(&cut) else {
            panic!("a cut query is malformed");
        };
        let reply = reply_to_header(&header, ResponseCode::FormErr);
        assert_eq!(reply.metadata.id, 0x4242);
        assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    }

    #[test]
    fn oversized_udp_replies_are_truncated() {
        let q = query(None);
        let mut reply = reply_to(&q);
        for i in 0..40u8 {
            reply.add_answer(hickory_proto::rr::Record::from_rdata(
                Name::from_str("echo.kordon.test.").unwrap(),
                300,
                hickory_proto::rr::RData::A(std::net::Ipv4Addr::new(203, 0, 113, i).into()),
            ));
        }
        let full = encode(&reply, 65535).unwrap();
        assert!(full.len() > 512);
        let cut = encode(&reply, 512).unwrap();
        let read = Message::from_vec(&cut).unwrap();
        assert!(read.metadata.truncation);
        assert!(read.answers.is_empty());
        assert_eq!(read.queries, q.queries);
    }

    #[test]
    fn header_edits_and_network_error() {
        let mut bytes = query(Some(1232)).to_vec().unwrap();
        assert!(edit_header(&mut bytes, |m| {
            m.id = 7;
            m.recursion_available = true;
        }));
        let read = Message::from_vec(&bytes).unwrap();
        assert_eq!(read.metadata.id, 7);
        assert!(read.metadata.recursion_available);
        assert!(!edit_header(&mut [0u8; 5], |_| {}));

        let mut reply = reply_to(&read);
        add_network_error(&mut reply);
        let read = Message::from_vec(&reply.to_vec().unwrap()).unwrap();
        let options = read.edns.unwrap();
        let ede = options
            .options()
            .as_ref()
            .iter()
            .find_map(|(_, o)| match o {
                EdnsOption::Unknown(15, info) => Some(info.clone()),
                _ => None,
            });
        assert_eq!(ede, Some(vec![0, 23]));
    }
}
