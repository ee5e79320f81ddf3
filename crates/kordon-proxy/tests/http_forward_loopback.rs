//! Plain absolute-URI forwarding through a running plane on loopback, with curl: keep-alive
//! towards the client, the upstream connection reused for the same origin, a new one for
//! another, and request bodies. Needs root (egress pinned to `lo`).

mod table_support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kordon_proxy::egress::NoActivity;
use kordon_proxy::service::{run, PlaneConfig};
use kordon_proxy::stats::PlaneStats;
use table_support::{strong_http, Farm};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

fn needs_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return false;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "needs root (CI=true makes this a failure)"
    );
    eprintln!("skipped: needs root");
    true
}

/// A keep-alive HTTP/1.1 origin answering `<method> <path> body=<n bytes> conn=<connection
/// number>`, counting the connections it accepted.
async fn origin() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let number = counter.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(serve_origin(stream, number));
        }
    });
    (address, accepted)
}

async fn serve_origin(mut stream: TcpStream, number: usize) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let mut words = head.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let body = format!("{method} {path} body={length} conn={number}\n");
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
        buf.drain(..head_end + length);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn curl(args: Vec<String>) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "5"])
            .args(&args)
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
async fn absolute_uri_requests_are_forwarded_with_keep_alive() {
    if needs_root() {
        return;
    }
    let farm = Farm::new().await;
    let port = farm.port("lo", true).await;
    let login = farm.login("kraken", 0, 0).await;
    let listen = free_port();
    farm.profile(strong_http(port, i64::from(listen), login))
        .await;
    let (first, first_accepted) = origin().await;
    let (second, second_accepted) = origin().await;
    let stop = CancellationToken::new();
    let config = PlaneConfig {
        bind: "127.0.0.1".parse().unwrap(),
        permitted_networks: vec!["127.0.0.0/8".parse().unwrap()],
        ..PlaneConfig::default()
    };
    tokio::spawn(run(
        farm.store.clone(),
        config,
        Arc::new(NoActivity),
        PlaneStats::new(),
        stop.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(3);
    while TcpStream::connect(("127.0.0.1", listen)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the profile's listener never opened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let proxy = format!("http://kraken:kraken-pw@127.0.0.1:{listen}");

    // Three requests on one curl connection: two to the first origin (one upstream
    // connection), then one to the second origin; a POST body goes through intact.
    let (code, out) = curl(vec![
        "-x".into(),
        proxy.clone(),
        format!("http://{first}/a"),
        format!("http://{first}/b"),
        "--next".into(),
        "-x".into(),
        proxy.clone(),
        "--data-binary".into(),
        "0123456789".into(),
        format!("http://{second}/c"),
    ])
    .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "GET /a body=0 conn=1\nGET /b body=0 conn=1\nPOST /c body=10 conn=1\n"
    );
    assert_eq!(
        first_accepted.load(Ordering::SeqCst),
        1,
        "upstream reused for the same origin"
    );
    assert_eq!(second_accepted.load(Ordering::SeqCst), 1);

    // Wrong credentials on a forwarded request: 407, not forwarded.
    let (_, status) = curl(vec![
        "-o".into(),
        "/dev/null".into(),
        "-w".into(),
        "%{http_code}".into(),
        "-x".into(),
        format!("http://kraken:nope@127.0.0.1:{listen}"),
        format!("http://{first}/x"),
    ])
    .await;
    assert_eq!(status, "407");
    assert_eq!(first_accepted.load(Ordering::SeqCst), 1);
    stop.cancel();
}
