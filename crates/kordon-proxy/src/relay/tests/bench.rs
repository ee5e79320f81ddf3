//! Throughput and memory measurements, ignored by default. Run them in release:
//!
//! ```sh
//! cargo test --release -p kordon-proxy --lib relay::tests::bench -- --ignored --nocapture --test-threads 1
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::support::{connected_pair, start, CountingMeter, Setup};
use crate::protocol::http::BodyFraming;
use crate::relay::{http_exchange, relay, Engine, ForwardRequest, RelayControls};

const RUN: Duration = Duration::from_secs(3);

/// Bytes per second from `writer` to `reader` while writing for [`RUN`].
async fn stream(mut writer: TcpStream, mut reader: TcpStream) -> u64 {
    let sending = tokio::spawn(async move {
        let chunk = vec![0xa5u8; 256 * 1024];
        let started = Instant::now();
        while started.elapsed() < RUN {
            writer.write_all(&chunk).await.unwrap();
        }
        writer.shutdown().await.unwrap();
    });
    let mut buf = vec![0u8; 256 * 1024];
    let started = Instant::now();
    let mut received = 0u64;
    loop {
        let n = reader.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        received += n as u64;
    }
    sending.await.unwrap();
    (received as f64 / started.elapsed().as_secs_f64()) as u64
}

/// What the bytes go through between writer and reader.
#[derive(Debug, Clone, Copy)]
enum Path {
    Direct,
    Relay(Engine),
    /// `tokio::io::copy_bidirectional`, for comparison.
    TokioCopy,
}

/// Two ends, `writer` and `reader`, connected through `path`.
async fn ends(path: Path) -> (TcpStream, TcpStream) {
    match path {
        Path::Direct => connected_pair().await,
        Path::Relay(engine) => {
            let rig = start(Setup::new(engine)).await;
            (rig.client, rig.upstream)
        }
        Path::TokioCopy => {
            let (writer, mut a) = connected_pair().await;
            let (mut b, reader) = connected_pair().await;
            tokio::spawn(async move {
                let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
            });
            (writer, reader)
        }
    }
}

/// `streams` transfers at once through `path`: the summed rate in bytes per second, and the
/// bytes moved per CPU-second of the whole process (writers and readers included).
async fn measure(streams: usize, path: Path) -> (f64, f64) {
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut runs = Vec::new();
    for _ in 0..streams {
        let (writer, reader) = ends(path).await;
        runs.push(tokio::spawn(stream(writer, reader)));
    }
    let mut rate = 0.0;
    for run in runs {
        rate += run.await.unwrap() as f64;
    }
    let cpu = (cpu_time() - cpu_before).as_secs_f64();
    (rate, rate * started.elapsed().as_secs_f64() / cpu)
}

fn gbit(bytes_per_second: f64) -> f64 {
    bytes_per_second * 8.0 / 1e9
}

/// One and sixteen streams, each path three times interleaved (the host is shared, so
/// rates drift); the best rate of each path and its ratio to direct.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn throughput() {
    let paths = [
        Path::Direct,
        Path::Relay(Engine::Splice),
        Path::Relay(Engine::Copy),
        Path::TokioCopy,
    ];
    for streams in [1, 16] {
        let mut best = [(0.0f64, 0.0f64); 4];
        for _round in 0..3 {
            for (path, best) in paths.iter().zip(best.iter_mut()) {
                let (rate, per_cpu) = measure(streams, *path).await;
                *best = (best.0.max(rate), best.1.max(per_cpu));
            }
        }
        for (path, (rate, per_cpu)) in paths.iter().zip(best) {
            eprintln!(
                "{streams:>2} stream(s) {:<16} {:>6.2} Gbit/s ({:>3.0} % of direct), {:.2} GB per CPU-second",
                format!("{path:?}"),
                gbit(rate),
                100.0 * rate / best[0].0,
                per_cpu / 1e9,
            );
        }
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Raises the descriptor limit to `wanted` if allowed; returns the limit in force.
fn raise_nofile(wanted: u64) -> u64 {
    let limit = libc::rlimit {
        rlim_cur: wanted,
        rlim_max: wanted,
    };
    // SAFETY: plain value in, no pointers kept.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
        return wanted;
    }
    let mut current = std::mem::MaybeUninit::<libc::rlimit>::zeroed();
    // SAFETY: getrlimit fills the struct it is given.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, current.as_mut_ptr());
        current.assume_init().rlim_cur
    }
}

/// The far ends of the idle relays, in another process so the relays get this process's
/// descriptors: connects `count` clients to the relay listener, accepts as many upstream
/// connections, sends one byte each way through every relay, then holds them all open until
/// its standard input closes.
const IDLE_PEERS: &str = r#"
import socket, sys
count, relay_port = int(sys.argv[1]), int(sys.argv[2])
origin = socket.socket()
origin.bind(("127.0.0.1", 0))
origin.listen(1024)
print(origin.getsockname()[1], flush=True)
held = []
for _ in range(count):
    client = socket.create_connection(("127.0.0.1", relay_port))
    upstream, _ = origin.accept()
    client.sendall(b"q")
    assert upstream.recv(1) == b"q"
    upstream.sendall(b"a")
    assert client.recv(1) == b"a"
    held.append((client, upstream))
print("ready", flush=True)
sys.stdin.read()
"#;

/// Idle relays that each moved a byte both ways: resident memory of this process (the relays
/// and their 2 sockets each) and CPU used while they sit idle. The descriptor limit here is
/// 20 000 and cannot be raised without CAP_SYS_RESOURCE, so as many relays as fit under it
/// (each holds two sockets), up to 10 000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run in release with --ignored --nocapture"]
async fn idle_relays_memory() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use tokio::net::TcpListener;

    let limit = raise_nofile(20_100);
    let relays = 10_000usize.min((limit as usize).saturating_sub(300) / 2);
    let meter = Arc::new(CountingMeter::default());
    let stop = CancellationToken::new();
    {
        let (a, b) = connected_pair().await;
        let (c, d) = connected_pair().await;
        let future = relay(a, c, &[], None, &*meter, stop.clone(), None);
        eprintln!(
            "relay future: {} bytes before its first poll",
            std::mem::size_of_val(&future)
        );
        let mut buf = Vec::new();
        let request = ForwardRequest {
            upstream_head: b"GET / HTTP/1.1\r\n\r\n",
            body: BodyFraming::Empty,
            method_is_head: false,
            client_minor_version: 1,
            client_keep_alive: true,
            upgrade: false,
        };
        let controls = RelayControls {
            limit: None,
            meter: &*meter,
            stop: &stop,
            idle_timeout: None,
        };
        let (client, upstream) = connected_pair().await;
        let exchange = http_exchange(&client, &upstream, &mut buf, &request, &controls);
        eprintln!(
            "http_exchange future: {} bytes before its first poll",
            std::mem::size_of_val(&exchange)
        );
        drop((future, exchange, b, d));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    let mut peers = Command::new("python3")
        .args([
            "-c",
            IDLE_PEERS,
            &relays.to_string(),
            &relay_port.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = std::io::BufReader::new(peers.stdout.take().unwrap()).lines();
    let origin_port: u16 = lines.next().unwrap().unwrap().trim().parse().unwrap();
    let before = rss_kib();
    for _ in 0..relays {
        let (relay_client, _) = listener.accept().await.unwrap();
        let relay_upstream = TcpStream::connect(("127.0.0.1", origin_port))
            .await
            .unwrap();
        let meter = Arc::clone(&meter);
        let stop = stop.clone();
        tokio::spawn(async move {
            let _ = relay(
                relay_client,
                relay_upstream,
                &[],
                None,
                &*meter,
                stop,
                Some(Duration::from_secs(600)),
            )
            .await;
        });
    }
    let ready = tokio::task::spawn_blocking(move || lines.next().unwrap().unwrap());
    assert_eq!(ready.await.unwrap(), "ready");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib();
    let cpu_before = cpu_time();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_cpu = cpu_time() - cpu_before;
    eprintln!(
        "{relays} idle relays: RSS {:.1} MiB -> {:.1} MiB ({:.0} bytes per relay); meter {:?}; CPU over 2 s idle: {idle_cpu:?}",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after - before) as f64 * 1024.0 / relays as f64,
        meter.counts(),
    );
    assert_eq!(meter.counts(), (relays as u64, relays as u64));
    assert!(after < 200 * 1024, "RSS {after} KiB");
    stop.cancel();
    drop(peers.stdin.take());
    peers.wait().unwrap();
}
