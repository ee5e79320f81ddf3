//! The peers of the HTTP exchange tests: a Python `http.server` origin (`origin.py`) and a
//! minimal proxy connection handler around [`exchange::run`](crate::relay::http_exchange) (parse the
//! request head, connect or reuse upstream, exchange, loop while the client keeps alive).

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::support::CountingMeter;
use crate::limits::LoginLimit;
use crate::protocol::http::refusal::{bad_gateway, bad_request};
use crate::protocol::http::{
    classify, encode_forward_head, parse_head, HeadLimits, HopByHop, HttpError, ProxyRequest,
};
use crate::relay::http_exchange::{exchange, ExchangeOutcome, ForwardRequest};
use crate::relay::{Engine, RelayControls};

/// The Python origin; killed when dropped.
pub(crate) struct Origin {
    child: Child,
    pub(crate) port: u16,
}

impl Origin {
    pub(crate) fn start() -> Origin {
        let mut child = Command::new("python3")
            .args(["-c", include_str!("origin.py")])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("origin port");
        Origin { child, port }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A proxy listening on loopback that forwards absolute-URI requests with the exchange.
pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    pub(crate) meter: Arc<CountingMeter>,
    /// Upstream connections opened so far (fewer than requests when reused).
    pub(crate) upstream_connects: Arc<AtomicUsize>,
    /// Every exchange's result, in order of completion (errors as text).
    pub(crate) outcomes: Arc<Mutex<Vec<Result<ExchangeOutcome, String>>>>,
    accept: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Proxy {
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn outcomes(&self) -> Vec<Result<ExchangeOutcome, String>> {
        self.outcomes.lock().unwrap().clone()
    }
}

struct Shared {
    engine: Engine,
    limit: Option<Arc<LoginLimit>>,
    meter: Arc<CountingMeter>,
    stop: CancellationToken,
    upstream_connects: Arc<AtomicUsize>,
    outcomes: Arc<Mutex<Vec<Result<ExchangeOutcome, String>>>>,
}

pub(crate) async fn start_proxy(engine: Engine, limit: Option<Arc<LoginLimit>>) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shared = Arc::new(Shared {
        engine,
        limit,
        meter: Arc::new(CountingMeter::default()),
        stop: CancellationToken::new(),
        upstream_connects: Arc::new(AtomicUsize::new(0)),
        outcomes: Arc::new(Mutex::new(Vec::new())),
    });
    let proxy = Proxy {
        addr,
        meter: Arc::clone(&shared.meter),
        upstream_connects: Arc::clone(&shared.upstream_connects),
        outcomes: Arc::clone(&shared.outcomes),
        accept: tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(handle(client, Arc::clone(&shared)));
            }
        }),
    };
    proxy
}

/// What a request head gives the handler, owned so the receive buffer can move on.
struct Parsed {
    consumed: usize,
    authority: String,
    upstream_head: Vec<u8>,
    request: ForwardRequest<'static>,
}

fn parse(buf: &[u8]) -> Result<Option<Parsed>, HttpError> {
    let Some((head, consumed)) = parse_head(buf, HeadLimits::default())?.done() else {
        return Ok(None);
    };
    let ProxyRequest::Forward { target, path } = classify(&head)? else {
        return Err(HttpError::Malformed("CONNECT is not part of these tests"));
    };
    let hop = HopByHop::of(&head, head.values("upgrade").next().is_some());
    let mut upstream_head = Vec::new();
    encode_forward_head(&head, &target, &path, &hop, &mut upstream_head);
    Ok(Some(Parsed {
        consumed,
        authority: target.to_string(),
        request: ForwardRequest::new(&head, &hop, &[])?,
        upstream_head,
    }))
}

async fn handle(mut client: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    let mut upstream: Option<(String, TcpStream)> = None;
    loop {
        let parsed = loop {
            match parse(&buf) {
                Ok(Some(parsed)) => break parsed,
                Ok(None) => {}
                Err(_) => {
                    let _ = client.write_all(bad_request()).await;
                    return;
                }
            }
            match client.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        buf.drain(..parsed.consumed);
        if upstream.as_ref().map(|(a, _)| a) != Some(&parsed.authority) {
            let Ok(stream) = TcpStream::connect(&parsed.authority).await else {
                let _ = client.write_all(bad_gateway()).await;
                return;
            };
            shared.upstream_connects.fetch_add(1, Ordering::Relaxed);
            upstream = Some((parsed.authority.clone(), stream));
        }
        let Some((_, stream)) = upstream.as_ref() else {
            return;
        };
        let request = ForwardRequest {
            upstream_head: &parsed.upstream_head,
            ..parsed.request
        };
        let controls = RelayControls {
            limit: shared.limit.as_deref(),
            meter: &*shared.meter,
            stop: &shared.stop,
            idle_timeout: Some(Duration::from_secs(20)),
        };
        let result = exchange::run(
            shared.engine,
            &client,
            stream,
            &mut buf,
            &request,
            &controls,
        )
        .await;
        shared
            .outcomes
            .lock()
            .unwrap()
            .push(result.as_ref().map(|o| *o).map_err(|e| format!("{e:?}")));
        match result {
            Err(failure) => {
                if !failure.answered {
                    let _ = client.write_all(bad_gateway()).await;
                }
                return;
            }
            Ok(outcome) => {
                if !outcome.upstream_reusable {
                    upstream = None;
                }
                if !outcome.client_keep_alive {
                    return;
                }
            }
        }
    }
}

/// Runs curl through `proxy` with `args`; returns (stdout, stderr) after checking success.
pub(crate) async fn curl(proxy: &Proxy, args: &[&str]) -> (Vec<u8>, String) {
    let mut command = tokio::process::Command::new("curl");
    command
        .args(["--silent", "--show-error", "--verbose", "--max-time", "30"])
        .args(["--proxy", &proxy.url()])
        .args(args)
        .kill_on_drop(true);
    let output = command.output().await.expect("curl");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "curl {args:?} failed: {stderr}");
    (output.stdout, stderr)
}

/// Reads one HTTP/1.1 response with a Content-Length body from a raw client connection;
/// returns the head (text) and the body. `carry` holds bytes read past earlier responses.
pub(crate) async fn read_response(
    stream: &mut TcpStream,
    carry: &mut Vec<u8>,
) -> (String, Vec<u8>) {
    loop {
        if let Some(end) = carry.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(carry[..end + 4].to_vec()).unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().unwrap())
                })
                .unwrap_or(0);
            while carry.len() < end + 4 + length {
                assert!(stream.read_buf(carry).await.unwrap() > 0, "closed mid-body");
            }
            let body = carry[end + 4..end + 4 + length].to_vec();
            carry.drain(..end + 4 + length);
            return (head, body);
        }
        assert!(
            stream.read_buf(carry).await.unwrap() > 0,
            "closed before a response"
        );
    }
}
