//! The plane's DNS answer cache against real DNS servers on loopback that count the questions
//! they receive: an answer is asked once and served from memory until its TTL runs out;
//! NXDOMAIN is kept for the SOA's negative time; TTL 0, server failures and silence are never
//! kept; another server or another link epoch asks again; lookups at the same moment share
//! one question, and a cancelled asker hands it over. Then the running plane: SOCKS5
//! clients (curl) naming a host share one question until the port rotates. The questions
//! leave through `lo` (`SO_BINDTODEVICE`, as through a port's interface), which needs root.

mod table_support;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, Metadata, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use kordon_model::enums::ProxyType;
use kordon_proxy::egress::{DnsPath, LinkEpoch, NameCache, PortActivity, ResolveError};
use kordon_proxy::service::{run, PlaneConfig};
use kordon_proxy::stats::{NameCacheCounters, NameCacheTotals, PlaneStats};
use kordon_store::proxies::ProxyFields;
use table_support::{free_port, needs_root, strong_http, Farm};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_util::sync::CancellationToken;

const SHORT_LIVED: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const LONG_LIVED: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 8);
const V6_ONLY: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9);
/// How long the server takes to answer `slow.test.` (well within [`patient_path`]'s timeout).
const SLOW_ANSWER: Duration = Duration::from_millis(300);
/// The negative time the `test.` zone's SOA gives (its MINIMUM; the record's TTL is longer).
const NEGATIVE_SECS: u32 = 2;

/// A DNS server on loopback for the zone `test.` that counts every question it receives.
#[derive(Clone)]
struct CountingServer {
    address: SocketAddr,
    questions: Arc<Mutex<HashMap<(String, RecordType), usize>>>,
}

impl CountingServer {
    async fn start() -> CountingServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server = CountingServer {
            address: socket.local_addr().unwrap(),
            questions: Arc::default(),
        };
        let questions = Arc::clone(&server.questions);
        let socket = Arc::new(socket);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
                let Ok(query) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                let Some(question) = query.queries.first().cloned() else {
                    continue;
                };
                let name = question.name().to_ascii().to_ascii_lowercase();
                *questions
                    .lock()
                    .unwrap()
                    .entry((name.clone(), question.query_type()))
                    .or_default() += 1;
                let Some(reply) = answer(&query, &name, question.query_type()) else {
                    continue;
                };
                let reply = reply.to_vec().unwrap();
                if name == "slow.test." {
                    // Answered later, from its own task, so questions asked meanwhile
                    // (by other callers) would reach the server.
                    let socket = Arc::clone(&socket);
                    tokio::spawn(async move {
                        tokio::time::sleep(SLOW_ANSWER).await;
                        let _ = socket.send_to(&reply, peer).await;
                    });
                } else {
                    let _ = socket.send_to(&reply, peer).await;
                }
            }
        });
        server
    }

    fn asked(&self, name: &str, kind: RecordType) -> usize {
        let questions = self.questions.lock().unwrap();
        questions
            .get(&(format!("{name}."), kind))
            .copied()
            .unwrap_or(0)
    }
}

/// The zone: what each name answers, `None` for a name the server never answers.
fn answer(query: &Message, name: &str, kind: RecordType) -> Option<Message> {
    let mut reply = Message::new(0, MessageType::Response, query.metadata.op_code);
    reply.metadata = Metadata::response_from_request(&query.metadata);
    reply.add_queries(query.queries.iter().cloned());
    let owner = Name::from_ascii(name).unwrap();
    let record = |ttl, data| Record::from_rdata(owner.clone(), ttl, data);
    match (name, kind) {
        ("short.test.", RecordType::A) => {
            reply.add_answer(record(1, RData::A(A(SHORT_LIVED))));
        }
        ("long.test." | "slow.test.", RecordType::A) => {
            reply.add_answer(record(3_600, RData::A(A(LONG_LIVED))));
        }
        ("service.test.", RecordType::A) => {
            reply.add_answer(record(3_600, RData::A(A(Ipv4Addr::LOCALHOST))));
        }
        ("service.test.", _) => {
            reply.add_authority(zone_soa());
        }
        ("zero.test.", RecordType::A) => {
            reply.add_answer(record(0, RData::A(A(LONG_LIVED))));
        }
        ("v6only.test.", RecordType::AAAA) => {
            reply.add_answer(record(600, RData::AAAA(AAAA(V6_ONLY))));
        }
        ("v6only.test.", _) => {
            reply.add_authority(zone_soa());
        }
        ("broken.test.", _) => reply.metadata.response_code = ResponseCode::ServFail,
        ("silent.test.", _) => return None,
        _ => {
            reply.metadata.response_code = ResponseCode::NXDomain;
            reply.add_authority(zone_soa());
        }
    }
    Some(reply)
}

fn zone_soa() -> Record {
    let zone = Name::from_ascii("test.").unwrap();
    let soa = SOA::new(
        Name::from_ascii("ns.test.").unwrap(),
        Name::from_ascii("hostmaster.test.").unwrap(),
        1,
        3_600,
        600,
        86_400,
        NEGATIVE_SECS,
    );
    Record::from_rdata(zone, 3_600, RData::SOA(soa))
}

fn path(server: SocketAddr) -> DnsPath<'static> {
    DnsPath {
        ifname: "lo",
        server,
        timeout: Duration::from_millis(300),
    }
}

/// A path whose timeout leaves the slow answer a wide margin on a busy machine.
fn patient_path(server: SocketAddr) -> DnsPath<'static> {
    DnsPath {
        timeout: Duration::from_secs(3),
        ..path(server)
    }
}

const EPOCH: LinkEpoch = LinkEpoch {
    address: Some(Ipv4Addr::LOCALHOST),
    rotations: 0,
};

fn cache() -> (NameCache, Arc<NameCacheCounters>) {
    let counters = Arc::new(NameCacheCounters::default());
    (NameCache::new(100, Arc::clone(&counters)), counters)
}

#[tokio::test]
async fn an_answer_is_asked_once_and_again_after_its_ttl() {
    if needs_root() {
        return;
    }
    let server = CountingServer::start().await;
    let (cache, counters) = cache();
    let path = path(server.address);
    for _ in 0..3 {
        let addresses = cache.resolve("short.test", &path, EPOCH).await.unwrap();
        assert_eq!(addresses, vec![IpAddr::V4(SHORT_LIVED)]);
    }
    // Names differ only in case and the root's dot: the same answer.
    let same = cache.resolve("SHORT.test.", &path, EPOCH).await.unwrap();
    assert_eq!(same, vec![IpAddr::V4(SHORT_LIVED)]);
    assert_eq!(server.asked("short.test", RecordType::A), 1);
    assert_eq!(counters.totals(), NameCacheTotals { hits: 3, misses: 1 });

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    cache.resolve("short.test", &path, EPOCH).await.unwrap();
    assert_eq!(
        server.asked("short.test", RecordType::A),
        2,
        "TTL 1 s ran out"
    );
    assert_eq!(counters.totals(), NameCacheTotals { hits: 3, misses: 2 });
}

/// Ten lookups of `name` at the same moment.
async fn burst(
    cache: &NameCache,
    name: &str,
    path: &DnsPath<'_>,
) -> Vec<Result<Vec<IpAddr>, ResolveError>> {
    futures_util::future::join_all((0..10).map(|_| cache.resolve(name, path, EPOCH))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_at_the_same_moment_share_one_question() {
    if needs_root() {
        return;
    }
    let server = CountingServer::start().await;
    let (cache, counters) = cache();
    let path = path(server.address);
    let patient = patient_path(server.address);
    for answer in burst(&cache, "slow.test", &patient).await {
        assert_eq!(answer.unwrap(), vec![IpAddr::V4(LONG_LIVED)]);
    }
    assert_eq!(server.asked("slow.test", RecordType::A), 1);
    assert_eq!(counters.totals(), NameCacheTotals { hits: 9, misses: 1 });
    // A question that times out is shared too (two attempts), and its error reaches every
    // caller; it is not kept, so the next lookup asks again.
    for answer in burst(&cache, "silent.test", &path).await {
        assert!(
            matches!(answer, Err(ResolveError::Timeout(_))),
            "{answer:?}"
        );
    }
    assert_eq!(server.asked("silent.test", RecordType::A), 2);
    cache
        .resolve("silent.test", &path, EPOCH)
        .await
        .unwrap_err();
    assert_eq!(server.asked("silent.test", RecordType::A), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_lookup_asks_itself_when_the_asking_one_is_cancelled() {
    if needs_root() {
        return;
    }
    let server = CountingServer::start().await;
    let (cache, _) = cache();
    let cache = Arc::new(cache);
    let lookup = |cache: Arc<NameCache>| async move {
        cache
            .resolve("slow.test", &patient_path(server.address), EPOCH)
            .await
    };
    let asking = tokio::spawn(lookup(Arc::clone(&cache)));
    tokio::time::sleep(SLOW_ANSWER / 3).await;
    let waiting = tokio::spawn(lookup(Arc::clone(&cache)));
    tokio::time::sleep(SLOW_ANSWER / 3).await;
    // The client of the first connection went away while its question was out.
    asking.abort();
    let answer = waiting.await.unwrap();
    assert_eq!(answer.unwrap(), vec![IpAddr::V4(LONG_LIVED)]);
    assert_eq!(server.asked("slow.test", RecordType::A), 2);
}

#[tokio::test]
async fn nxdomain_is_kept_for_the_zones_negative_time() {
    if needs_root() {
        return;
    }
    let server = CountingServer::start().await;
    let (cache, counters) = cache();
    let path = path(server.address);
    for _ in 0..3 {
        let error = cache
            .resolve("nowhere.test", &path, EPOCH)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ResolveError::NotFound(ref name) if name == "nowhere.test."),
            "{error:?}"
        );
    }
    assert_eq!(server.asked("nowhere.test", RecordType::A), 1);
    assert_eq!(server.asked("nowhere.test", RecordType::AAAA), 0);
    assert_eq!(counters.totals(), NameCacheTotals { hits: 2, misses: 1 });

    // The SOA's MINIMUM (2 s), not the fixed 30 s, bounds it.
    tokio::time::sleep(Duration::from_secs(u64::from(NEGATIVE_SECS)) + Duration::from_millis(100))
        .await;
    cache
        .resolve("nowhere.test", &path, EPOCH)
        .await
        .unwrap_err();
    assert_eq!(server.asked("nowhere.test", RecordType::A), 2);
}

#[tokio::test]
async fn an_ipv6_only_name_is_kept_after_both_questions() {
    if needs_root() {
        return;
    }
    let server = CountingServer::start().await;
    let (cache, _) = cache();
    let path = path(server.address);
    for _ in 0..2 {
        let addresses = cache.resolve("v6only.test", &path, EPOCH).await.unwrap();
        assert_eq!(addresses, vec![IpAddr::V6(V6_ONLY)]);
    }
    assert_eq!(server.asked("v6only.test", RecordType::A), 1);
    assert_eq!(server.asked("v6only.test", RecordType::AAAA), 1);
}

#[tokio::test]
async fn ttl_zero_failures_and_timeouts_are_never_kept() {
    if needs_root() {
        return;
    }
    let server = CountingServer::start().await;
    let (cache, counters) = cache();
    let path = path(server.address);
    for _ in 0..2 {
        let addresses = cache.resolve("zero.test", &path, EPOCH).await.unwrap();
        assert_eq!(addresses, vec![IpAddr::V4(LONG_LIVED)]);
        let failed = cache.resolve("broken.test", &path, EPOCH).await;
        assert!(
            matches!(failed, Err(ResolveError::Failed(ResponseCode::ServFail))),
            "{failed:?}"
        );
        let silent = cache.resolve("silent.test", &path, EPOCH).await;
        assert!(
            matches!(silent, Err(ResolveError::Timeout(_))),
            "{silent:?}"
        );
    }
    assert_eq!(server.asked("zero.test", RecordType::A), 2);
    assert_eq!(server.asked("broken.test", RecordType::A), 2);
    // Two attempts over UDP per lookup.
    assert_eq!(server.asked("silent.test", RecordType::A), 4);
    assert_eq!(counters.totals(), NameCacheTotals { hits: 0, misses: 6 });
    assert!(cache.is_empty());
}

#[tokio::test]
async fn another_server_or_link_epoch_asks_again() {
    if needs_root() {
        return;
    }
    let first = CountingServer::start().await;
    let second = CountingServer::start().await;
    let (cache, counters) = cache();
    let rotated = LinkEpoch {
        rotations: 1,
        ..EPOCH
    };
    let readdressed = LinkEpoch {
        address: Some(Ipv4Addr::new(127, 0, 0, 2)),
        ..EPOCH
    };
    for _ in 0..2 {
        for (server, epoch) in [
            (&first, EPOCH),
            (&second, EPOCH),
            (&first, rotated),
            (&first, readdressed),
        ] {
            let addresses = cache
                .resolve("long.test", &path(server.address), epoch)
                .await
                .unwrap();
            assert_eq!(addresses, vec![IpAddr::V4(LONG_LIVED)]);
        }
    }
    assert_eq!(first.asked("long.test", RecordType::A), 3);
    assert_eq!(second.asked("long.test", RecordType::A), 1);
    assert_eq!(counters.totals(), NameCacheTotals { hits: 4, misses: 4 });
    assert_eq!(cache.len(), 4);
}

/// The modem plane's rotation state as a switch the test flips.
#[derive(Clone, Default)]
struct Switch(Arc<AtomicBool>);

impl PortActivity for Switch {
    fn is_rotating(&self, _port_id: i64) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// An HTTP service on loopback answering every request with `ok`.
async fn http_service() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

async fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// curl through a SOCKS5 proxy that resolves the name; returns (exit code, stdout).
async fn curl_socks5_hostname(proxy: String, url: String) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "5", "--socks5-hostname", &proxy, &url])
            .output()
            .expect("curl");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_plane_asks_once_per_name_until_the_port_rotates() {
    if needs_root() {
        return;
    }
    let dns = CountingServer::start().await;
    let farm = Farm::new().await;
    let port = farm.port("lo", true).await;
    let login = farm.login("kraken", 0, 0).await;
    let listen = free_port();
    farm.profile(ProxyFields {
        proxy_type: ProxyType::Socks,
        ..strong_http(port, i64::from(listen), login)
    })
    .await;
    let service = http_service().await;
    let rotation = Switch::default();
    let stats = PlaneStats::new();
    let stop = CancellationToken::new();
    let config = PlaneConfig {
        bind: "127.0.0.1".parse().unwrap(),
        egress_wait: Duration::from_secs(3),
        dns_server: Some(dns.address),
        dns_timeout: Duration::from_millis(500),
        permitted_networks: vec!["127.0.0.0/8".parse().unwrap()],
        ..PlaneConfig::default()
    };
    tokio::spawn(run(
        farm.store.clone(),
        config,
        Arc::new(rotation.clone()),
        Arc::clone(&stats),
        stop.clone(),
    ));
    wait_listening(listen).await;
    let fetch = || {
        curl_socks5_hostname(
            format!("kraken:kraken-pw@127.0.0.1:{listen}"),
            format!("http://service.test:{service}/"),
        )
    };

    for _ in 0..3 {
        assert_eq!(fetch().await, (0, "ok\n".to_string()));
    }
    assert_eq!(dns.asked("service.test", RecordType::A), 1);
    assert_eq!(
        stats.name_cache().totals(),
        NameCacheTotals { hits: 2, misses: 1 }
    );

    // A rotation (seen by the plane's 200 ms poll) makes the next connection ask again.
    rotation.0.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    rotation.0.store(false, Ordering::SeqCst);
    assert_eq!(fetch().await, (0, "ok\n".to_string()));
    assert_eq!(fetch().await, (0, "ok\n".to_string()));
    assert_eq!(dns.asked("service.test", RecordType::A), 2);
    assert_eq!(
        stats.name_cache().totals(),
        NameCacheTotals { hits: 3, misses: 2 }
    );
    stop.cancel();
}
