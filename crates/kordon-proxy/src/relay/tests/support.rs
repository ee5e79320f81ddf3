//! Loopback connection pairs, a counting meter, random payloads and a relay started between
//! a test "client" and a test "upstream".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::limits::{LoginLimit, TokenBucket};
use crate::relay::{
    relay, relay_streams, Direction, Engine, Meter, RelayControls, RelayError, RelayTotals,
};

/// Runs a test body once per engine, as `<name>::splice` and `<name>::copy`.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn splice() {
                super::$name(crate::relay::Engine::Splice).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn copy() {
                super::$name(crate::relay::Engine::Copy).await
            }
        }
    )*};
}
pub(crate) use on_both_engines;

#[derive(Debug, Default)]
pub(crate) struct CountingMeter {
    pub(crate) outbound: AtomicU64,
    pub(crate) inbound: AtomicU64,
    pub(crate) calls: AtomicU64,
}

impl Meter for CountingMeter {
    fn record(&self, direction: Direction, bytes: u64) {
        let counter = match direction {
            Direction::Outbound => &self.outbound,
            Direction::Inbound => &self.inbound,
        };
        counter.fetch_add(bytes, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

impl CountingMeter {
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.outbound.load(Ordering::Relaxed),
            self.inbound.load(Ordering::Relaxed),
        )
    }
}

/// Two ends of one loopback TCP connection.
pub(crate) async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (a.unwrap(), b.unwrap().0)
}

pub(crate) fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A login whose buckets start at these rates (bits per second, 0 = unlimited).
pub(crate) fn login(inbound: u64, outbound: u64) -> Arc<LoginLimit> {
    Arc::new(LoginLimit {
        inbound: TokenBucket::new(inbound),
        outbound: TokenBucket::new(outbound),
    })
}

#[derive(Clone)]
pub(crate) struct Setup {
    pub(crate) engine: Engine,
    pub(crate) leftover: Vec<u8>,
    pub(crate) limit: Option<Arc<LoginLimit>>,
    pub(crate) idle_timeout: Option<Duration>,
}

impl Setup {
    pub(crate) fn new(engine: Engine) -> Setup {
        Setup {
            engine,
            leftover: Vec::new(),
            limit: None,
            idle_timeout: None,
        }
    }
}

/// A relay running between `client` (the proxy user's side) and `upstream` (the origin's
/// side), both loopback sockets the test drives.
pub(crate) struct Rig {
    pub(crate) client: TcpStream,
    pub(crate) upstream: TcpStream,
    pub(crate) meter: Arc<CountingMeter>,
    pub(crate) stop: CancellationToken,
    pub(crate) relay: JoinHandle<Result<RelayTotals, RelayError>>,
}

pub(crate) async fn start(setup: Setup) -> Rig {
    let (client, relay_client) = connected_pair().await;
    let (relay_upstream, upstream) = connected_pair().await;
    let meter = Arc::new(CountingMeter::default());
    let stop = CancellationToken::new();
    let relay = tokio::spawn({
        let meter = Arc::clone(&meter);
        let stop = stop.clone();
        async move {
            match setup.engine {
                // The public entry point: owns and closes both streams.
                Engine::Splice => {
                    relay(
                        relay_client,
                        relay_upstream,
                        &setup.leftover,
                        setup.limit,
                        &*meter,
                        stop,
                        setup.idle_timeout,
                    )
                    .await
                }
                Engine::Copy => {
                    let controls = RelayControls {
                        limit: setup.limit.as_deref(),
                        meter: &*meter,
                        stop: &stop,
                        idle_timeout: setup.idle_timeout,
                    };
                    relay_streams(
                        Engine::Copy,
                        &relay_client,
                        &relay_upstream,
                        &setup.leftover,
                        &controls,
                    )
                    .await
                }
            }
        }
    });
    Rig {
        client,
        upstream,
        meter,
        stop,
        relay,
    }
}

/// Writes `bytes` then shuts down writing.
pub(crate) async fn send_and_finish(mut writer: impl AsyncWriteExt + Unpin, bytes: &[u8]) {
    writer.write_all(bytes).await.unwrap();
    writer.shutdown().await.unwrap();
}

pub(crate) async fn read_all(mut reader: impl AsyncReadExt + Unpin) -> Vec<u8> {
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    out
}

/// Waits for the relay task with a bound, so a hung relay fails the test instead of the run.
pub(crate) async fn finished(
    relay: JoinHandle<Result<RelayTotals, RelayError>>,
) -> Result<RelayTotals, RelayError> {
    tokio::time::timeout(Duration::from_secs(30), relay)
        .await
        .expect("relay did not end within 30 s")
        .expect("relay task panicked")
}
