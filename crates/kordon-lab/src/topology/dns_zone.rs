//! The fake internet's zone `kordon.test`, and how an authoritative server looks a name up in
//! it (RFC 1034 4.3.2 without delegations or wildcards): CNAMEs are followed inside the zone,
//! a name that exists without the asked type is NODATA and one that does not exist NXDOMAIN,
//! both with the SOA for negative caching (RFC 2308); a name outside the zone is REFUSED.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::echo::ECHO_ADDR;

/// The zone's apex.
pub const DNS_ZONE: &str = "kordon.test";
/// The zone's server (TEST-NET-3, like the echo host), UDP and TCP.
pub const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 53);
pub const DNS_PORT: u16 = 53;
/// `v6only.kordon.test`'s only address (documentation prefix, RFC 3849).
pub const V6ONLY_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);

const TTL: u32 = 300;
/// `whoami` changes with every rotation: nothing should cache it.
const WHOAMI_TTL: u32 = 0;
/// The SOA minimum: how long resolvers cache NXDOMAIN and NODATA.
const NEGATIVE_TTL: u32 = 60;
/// CNAME hops followed inside the zone before giving up on a chain.
const MAX_CHAIN: usize = 8;

/// What a name holds.
#[derive(Debug, Clone)]
enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Name),
    Ns(Name),
    Soa(SOA),
    /// The querier's own address, as the server sees it (A for IPv4, AAAA for IPv6).
    QuerierAddress,
}

/// The answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub code: ResponseCode,
    /// Whether the answer comes from this zone (the AA flag).
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
}

#[derive(Debug, Clone)]
pub struct Zone {
    apex: Name,
    nodes: Vec<(Name, Vec<Data>)>,
}

fn fqdn(relative: &str) -> Name {
    let text = if relative.is_empty() {
        format!("{DNS_ZONE}.")
    } else {
        format!("{relative}.{DNS_ZONE}.")
    };
    // The zone's own names are constants of this file: valid by construction.
    Name::from_ascii(&text).unwrap_or_else(|e| panic!("zone name {text:?}: {e}"))
}

impl Zone {
    /// The lab's zone: `echo`, `sink` and `source` on the echo host, `www` a CNAME to `echo`,
    /// `v6only` with only an AAAA, `whoami` answering the querier's address, `ns` the server.
    pub fn lab() -> Zone {
        let soa = SOA::new(
            fqdn("ns"),
            fqdn("hostmaster"),
            1,
            3600,
            600,
            86400,
            NEGATIVE_TTL,
        );
        let nodes = vec![
            (fqdn(""), vec![Data::Soa(soa), Data::Ns(fqdn("ns"))]),
            (fqdn("ns"), vec![Data::A(DNS_ADDR)]),
            (fqdn("echo"), vec![Data::A(ECHO_ADDR)]),
            (fqdn("sink"), vec![Data::A(ECHO_ADDR)]),
            (fqdn("source"), vec![Data::A(ECHO_ADDR)]),
            (fqdn("www"), vec![Data::Cname(fqdn("echo"))]),
            (fqdn("v6only"), vec![Data::Aaaa(V6ONLY_ADDR)]),
            (fqdn("whoami"), vec![Data::QuerierAddress]),
        ];
        Zone {
            apex: fqdn(""),
            nodes,
        }
    }

    /// Answers `qtype` records of `qname` to a querier at `querier`.
    pub fn lookup(&self, qname: &Name, qtype: RecordType, querier: IpAddr) -> Lookup {
        if !self.apex.zone_of(qname) {
            return Lookup {
                code: ResponseCode::Refused,
                authoritative: false,
                answers: Vec::new(),
                authorities: Vec::new(),
            };
        }
        let mut answers = Vec::new();
        // The first owner keeps the question's spelling, as servers echo it.
        let mut owner = qname.clone();
        for _ in 0..MAX_CHAIN {
            let Some(data) = self.node(&owner) else {
                return self.negative(ResponseCode::NXDomain, answers);
            };
            let follows = !matches!(qtype, RecordType::CNAME | RecordType::ANY);
            if let (true, Some(target)) = (follows, cname_of(data)) {
                answers.push(Record::from_rdata(
                    owner.clone(),
                    TTL,
                    RData::CNAME(CNAME(target.clone())),
                ));
                if !self.apex.zone_of(target) {
                    // Out of the zone: the resolver follows it from here.
                    return self.positive(answers);
                }
                owner = target.clone();
                continue;
            }
            let matching: Vec<Record> = data
                .iter()
                .filter_map(|d| record(d, &owner, qtype, querier))
                .collect();
            if matching.is_empty() {
                return self.negative(ResponseCode::NoError, answers);
            }
            answers.extend(matching);
            return self.positive(answers);
        }
        // A chain longer than any in this zone: what there is, as BIND does.
        self.positive(answers)
    }

    fn node(&self, name: &Name) -> Option<&[Data]> {
        self.nodes
            .iter()
            .find(|(n, _)| n.eq_ignore_root(name))
            .map(|(_, data)| data.as_slice())
    }

    fn positive(&self, answers: Vec<Record>) -> Lookup {
        Lookup {
            code: ResponseCode::NoError,
            authoritative: true,
            answers,
            authorities: Vec::new(),
        }
    }

    /// NXDOMAIN or NODATA with the SOA, whose TTL is the negative caching time.
    fn negative(&self, code: ResponseCode, answers: Vec<Record>) -> Lookup {
        let soa = self.node(&self.apex).and_then(|data| {
            data.iter().find_map(|d| match d {
                Data::Soa(soa) => Some(Record::from_rdata(
                    self.apex.clone(),
                    NEGATIVE_TTL,
                    RData::SOA(soa.clone()),
                )),
                _ => None,
            })
        });
        Lookup {
            code,
            authoritative: true,
            answers,
            authorities: soa.into_iter().collect(),
        }
    }
}

fn cname_of(data: &[Data]) -> Option<&Name> {
    data.iter().find_map(|d| match d {
        Data::Cname(target) => Some(target),
        _ => None,
    })
}

/// `data` as a record of `owner` if it answers `qtype`.
fn record(data: &Data, owner: &Name, qtype: RecordType, querier: IpAddr) -> Option<Record> {
    let wants = |t: RecordType| qtype == t || qtype == RecordType::ANY;
    let (ttl, rdata) = match data {
        Data::A(a) if wants(RecordType::A) => (TTL, RData::A(A(*a))),
        Data::Aaaa(a) if wants(RecordType::AAAA) => (TTL, RData::AAAA(AAAA(*a))),
        Data::Cname(target) if wants(RecordType::CNAME) => {
            (TTL, RData::CNAME(CNAME(target.clone())))
        }
        Data::Ns(ns) if wants(RecordType::NS) => (TTL, RData::NS(NS(ns.clone()))),
        Data::Soa(soa) if wants(RecordType::SOA) => (TTL, RData::SOA(soa.clone())),
        Data::QuerierAddress => match querier.to_canonical() {
            IpAddr::V4(a) if wants(RecordType::A) => (WHOAMI_TTL, RData::A(A(a))),
            IpAddr::V6(a) if wants(RecordType::AAAA) => (WHOAMI_TTL, RData::AAAA(AAAA(a))),
            _ => return None,
        },
        _ => return None,
    };
    Some(Record::from_rdata(owner.clone(), ttl, rdata))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    const QUERIER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 7));

    fn ask(name: &str, qtype: RecordType) -> Lookup {
        Zone::lab().lookup(&Name::from_ascii(name).unwrap(), qtype, QUERIER)
    }

    fn rdata(lookup: &Lookup) -> Vec<RData> {
        lookup.answers.iter().map(|r| r.data.clone()).collect()
    }

    #[test]
    fn addresses_and_whoami() {
        let echo = ask("echo.kordon.test.", RecordType::A);
        assert_eq!(echo.code, ResponseCode::NoError);
        assert!(echo.authoritative);
        assert_eq!(rdata(&echo), [RData::A(A(ECHO_ADDR))]);
        assert_eq!(echo.answers[0].ttl, 300);
        for name in ["sink.kordon.test.", "SOURCE.Kordon.Test."] {
            assert_eq!(rdata(&ask(name, RecordType::A)), [RData::A(A(ECHO_ADDR))]);
        }
        // The question's spelling is kept.
        let upper = ask("ECHO.kordon.test.", RecordType::A);
        assert_eq!(upper.answers[0].name.to_ascii(), "ECHO.kordon.test.");

        let me = ask("whoami.kordon.test.", RecordType::A);
        assert_eq!(rdata(&me), [RData::A(A(Ipv4Addr::new(198, 18, 0, 7)))]);
        assert_eq!(me.answers[0].ttl, 0);
        let v6 = Zone::lab().lookup(
            &Name::from_str("whoami.kordon.test.").unwrap(),
            RecordType::AAAA,
            IpAddr::V6(V6ONLY_ADDR),
        );
        assert_eq!(rdata(&v6), [RData::AAAA(AAAA(V6ONLY_ADDR))]);
    }

    #[test]
    fn cname_is_followed_inside_the_zone() {
        let www = ask("www.kordon.test.", RecordType::A);
        assert_eq!(www.code, ResponseCode::NoError);
        assert_eq!(
            rdata(&www),
            [RData::CNAME(CNAME(fqdn("echo"))), RData::A(A(ECHO_ADDR))]
        );
        assert_eq!(www.answers[1].name, fqdn("echo"));
        let only = ask("www.kordon.test.", RecordType::CNAME);
        assert_eq!(rdata(&only), [RData::CNAME(CNAME(fqdn("echo")))]);
        // The target has no AAAA: the CNAME and NODATA.
        let v6 = ask("www.kordon.test.", RecordType::AAAA);
        assert_eq!(v6.code, ResponseCode::NoError);
        assert_eq!(v6.answers.len(), 1);
        assert_eq!(v6.authorities[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn nodata_nxdomain_and_refused() {
        let v6only = ask("v6only.kordon.test.", RecordType::A);
        assert_eq!(v6only.code, ResponseCode::NoError);
        assert!(v6only.answers.is_empty());
        assert_eq!(v6only.authorities[0].record_type(), RecordType::SOA);
        assert_eq!(v6only.authorities[0].ttl, 60);
        assert_eq!(
            rdata(&ask("v6only.kordon.test.", RecordType::AAAA)),
            [RData::AAAA(AAAA(V6ONLY_ADDR))]
        );

        for name in ["nope.kordon.test.", "x.echo.kordon.test."] {
            let missing = ask(name, RecordType::A);
            assert_eq!(missing.code, ResponseCode::NXDomain, "{name}");
            assert!(missing.authoritative);
            assert_eq!(missing.authorities[0].record_type(), RecordType::SOA);
        }

        for name in ["example.com.", "kordon.test.example.", "test."] {
            let other = ask(name, RecordType::A);
            assert_eq!(other.code, ResponseCode::Refused, "{name}");
            assert!(!other.authoritative);
            assert!(other.answers.is_empty() && other.authorities.is_empty());
        }
    }

    #[test]
    fn apex_and_any() {
        let soa = ask("kordon.test.", RecordType::SOA);
        assert_eq!(soa.answers[0].record_type(), RecordType::SOA);
        let ns = ask("kordon.test.", RecordType::NS);
        assert_eq!(rdata(&ns), [RData::NS(NS(fqdn("ns")))]);
        assert_eq!(
            rdata(&ask("ns.kordon.test.", RecordType::A)),
            [RData::A(A(DNS_ADDR))]
        );
        assert_eq!(ask("kordon.test.", RecordType::ANY).answers.len(), 2);
        assert_eq!(ask("whoami.kordon.test.", RecordType::ANY).answers.len(), 1);
    }
}
