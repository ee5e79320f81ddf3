//! The running plane on loopback with real clients (curl) — SOCKS5, CONNECT and plain HTTP
//! forwarding with keep-alive: profiles from a real store, the
//! egress pinned to `lo`, loopback destinations permitted explicitly (as the benchmark does).
//! Pinning sockets to an interface needs root.

mod table_support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kordon_model::enums::{ProxyAuth, ProxyType};
use kordon_proxy::egress::NoActivity;
use kordon_proxy::service::{run, PlaneConfig};
use kordon_proxy::stats::{PlaneStats, RefusalKind};
use kordon_store::Scope;
use table_support::{free_port, needs_root, strong_http, Farm};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A loopback service answering each connection with `hello <client address>\n` and then
/// echoing what it reads.
async fn echo_service() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, peer)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.write_all(format!("hello {peer}\n").as_bytes()).await;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

/// An HTTP/1.0 service that answers any request with its path, for curl.
async fn http_service() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut len = 0;
                while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => len += n,
                    }
                }
                let line = String::from_utf8_lossy(&buf[..len]);
                let path = line.split(' ').nth(1).unwrap_or("?").to_string();
                let body = format!("path {path}\n");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    address
}

struct Running {
    farm: Farm,
    stats: Arc<PlaneStats>,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn start(farm: Farm, permit_loopback: bool) -> Running {
    let config = PlaneConfig {
        bind: "127.0.0.1".parse().unwrap(),
        handshake_timeout: Duration::from_secs(3),
        egress_wait: Duration::from_millis(500),
        permitted_networks: if permit_loopback {
            vec!["127.0.0.0/8".parse().unwrap()]
        } else {
            Vec::new()
        },
        ..PlaneConfig::default()
    };
    let stats = PlaneStats::new();
    let stop = CancellationToken::new();
    tokio::spawn(run(
        farm.store.clone(),
        config,
        Arc::new(NoActivity),
        Arc::clone(&stats),
        stop.clone(),
    ));
    Running { farm, stats, stop }
}

/// Waits until something accepts on `port` (the plane opens listeners asynchronously).
async fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_closed(port: u16) -> Duration {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{port} still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// curl through a proxy; returns (exit code, stdout).
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

fn refusals(stats: &PlaneStats, profile: i64, kind: RefusalKind) -> u64 {
    stats
        .snapshot()
        .profiles
        .iter()
        .find(|(id, _)| *id == profile)
        .and_then(|(_, totals)| totals.refusals.iter().find(|(k, _)| *k == kind))
        .map_or(0, |(_, n)| *n)
}

#[tokio::test]
async fn socks5_and_http_connect_carry_traffic_with_the_right_credentials() {
    if needs_root() {
        return;
    }
    let farm = Farm::new().await;
    let port = farm.port("lo", true).await;
    let login = farm.login("kraken", 0, 0).await;
    let (socks_port, http_port) = (free_port(), free_port());
    let socks = farm
        .profile(kordon_store::proxies::ProxyFields {
            proxy_type: ProxyType::Socks,
            ..strong_http(port, i64::from(socks_port), login)
        })
        .await;
    let http = farm
        .profile(strong_http(port, i64::from(http_port), login))
        .await;
    let service = http_service().await;
    let plane = start(farm, true).await;
    wait_listening(socks_port).await;
    wait_listening(http_port).await;

    let url = format!("http://{service}/through");
    let (code, body) = curl(vec![
        "--socks5-hostname".into(),
        format!("kraken:kraken-pw@127.0.0.1:{socks_port}"),
        url.clone(),
    ])
    .await;
    assert_eq!((code, body.as_str()), (0, "path /through\n"));
    let (code, body) = curl(vec![
        "-p".into(),
        "-x".into(),
        format!("http://kraken:kraken-pw@127.0.0.1:{http_port}"),
        url.clone(),
    ])
    .await;
    assert_eq!((code, body.as_str()), (0, "path /through\n"));

    // Wrong password: SOCKS5 auth failure; HTTP 407.
    let (code, _) = curl(vec![
        "--socks5-hostname".into(),
        format!("kraken:wrong@127.0.0.1:{socks_port}"),
        url.clone(),
    ])
    .await;
    assert_ne!(code, 0);
    let (_, status) = curl(vec![
        "-p".into(),
        "-o".into(),
        "/dev/null".into(),
        "-w".into(),
        "%{http_connect}".into(),
        "-x".into(),
        format!("http://kraken:wrong@127.0.0.1:{http_port}"),
        url.clone(),
    ])
    .await;
    assert_eq!(status, "407");
    assert_eq!(refusals(&plane.stats, socks, RefusalKind::Auth), 1);
    assert_eq!(refusals(&plane.stats, http, RefusalKind::Auth), 1);
    let snapshot = plane.stats.snapshot();
    let login_traffic = snapshot
        .logins
        .iter()
        .find(|(id, _)| *id == login)
        .unwrap()
        .1;
    assert_eq!(login_traffic.connections, 2);
    assert!(login_traffic.bytes_in > 0 && login_traffic.bytes_out > 0);
}

#[tokio::test]
async fn loopback_is_refused_without_an_explicit_permit() {
    if needs_root() {
        return;
    }
    let farm = Farm::new().await;
    let port = farm.port("lo", true).await;
    let login = farm.login("kraken", 0, 0).await;
    let socks_port = free_port();
    let socks = farm
        .profile(kordon_store::proxies::ProxyFields {
            proxy_type: ProxyType::Socks,
            ..strong_http(port, i64::from(socks_port), login)
        })
        .await;
    let service = http_service().await;
    let plane = start(farm, false).await;
    wait_listening(socks_port).await;
    for target in [
        format!("http://{service}/"),
        format!("http://localhost:{}/", service.port()),
        format!("http://[::1]:{}/", service.port()),
        format!("http://0.0.0.0:{}/", service.port()),
    ] {
        let (code, _) = curl(vec![
            "--socks5".into(),
            format!("kraken:kraken-pw@127.0.0.1:{socks_port}"),
            target.clone(),
        ])
        .await;
        assert_ne!(code, 0, "{target} reached");
    }
    assert!(refusals(&plane.stats, socks, RefusalKind::Forbidden) >= 3);
}

#[tokio::test]
async fn maxconn_refuses_the_next_connection_and_rules_apply() {
    if needs_root() {
        return;
    }
    let farm = Farm::new().await;
    let port = farm.port("lo", true).await;
    let login = farm.login("kraken", 0, 0).await;
    let echo = echo_service().await;
    let listen = free_port();
    let mut fields = kordon_store::proxies::ProxyFields {
        proxy_type: ProxyType::Socks,
        maxconn: 1,
        ..strong_http(port, i64::from(listen), login)
    };
    let profile = farm.profile(fields.clone()).await;
    let plane = start(farm, true).await;
    wait_listening(listen).await;
    // wait_listening's probe connections are refused by the handshake timeout only later;
    // let them end first.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut first = socks5_connect(listen, "kraken", "kraken-pw", echo)
        .await
        .unwrap();
    let mut hello = [0u8; 6];
    first.read_exact(&mut hello).await.unwrap();
    assert_eq!(&hello, b"hello ");
    let second = socks5_connect(listen, "kraken", "kraken-pw", echo).await;
    assert_eq!(second.err(), Some(0x01), "maxconn reached: general failure");
    assert_eq!(refusals(&plane.stats, profile, RefusalKind::Maxconn), 1);
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(socks5_connect(listen, "kraken", "kraken-pw", echo)
        .await
        .is_ok());

    // A target-port rule: only port 1 allowed.
    fields.target_ports = vec![1];
    fields.is_ports = true;
    plane
        .farm
        .store
        .update_proxy(Scope::All, profile, &fields)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let refused = socks5_connect(listen, "kraken", "kraken-pw", echo).await;
    assert_eq!(refused.err(), Some(0x02), "not allowed by ruleset");
    assert_eq!(refusals(&plane.stats, profile, RefusalKind::TargetPort), 1);
}

#[tokio::test]
async fn iponly_admits_listed_clients_and_changes_apply_live() {
    if needs_root() {
        return;
    }
    let farm = Farm::new().await;
    let port = farm.port("lo", true).await;
    let listed = farm.client_ip("127.0.0.1").await;
    let echo = echo_service().await;
    let listen = free_port();
    let profile = farm
        .profile(kordon_store::proxies::ProxyFields {
            proxy_type: ProxyType::Socks,
            auth: ProxyAuth::IpOnly,
            auth_ids: vec![listed],
            ..strong_http(port, i64::from(listen), 0)
        })
        .await;
    let plane = start(farm, true).await;
    wait_listening(listen).await;
    let mut open = socks5_connect(listen, "", "", echo).await.unwrap();
    let mut hello = [0u8; 6];
    open.read_exact(&mut hello).await.unwrap();

    // Deactivating the profile closes its listener within a second, and its connections.
    plane
        .farm
        .store
        .set_proxies_active(Scope::All, &[profile], false)
        .await
        .unwrap();
    let closed_after = wait_closed(listen).await;
    assert!(closed_after < Duration::from_secs(1), "{closed_after:?}");
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(2), open.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "connection of a disabled profile stays open");
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
    let _plane = start(farm, true).await;
    wait_listening(listen).await;
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
}

/// A SOCKS5 CONNECT by hand; `Err(reply code)` when refused at the request.
async fn socks5_connect(
    listen: u16,
    login: &str,
    password: &str,
    target: SocketAddr,
) -> Result<TcpStream, u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", listen)).await.unwrap();
    let method = if login.is_empty() { 0x00 } else { 0x02 };
    stream.write_all(&[5, 1, method]).await.unwrap();
    let mut selection = [0u8; 2];
    stream.read_exact(&mut selection).await.unwrap();
    assert_eq!(selection, [5, method]);
    if method == 0x02 {
        let mut auth = vec![1, login.len() as u8];
        auth.extend_from_slice(login.as_bytes());
        auth.push(password.len() as u8);
        auth.extend_from_slice(password.as_bytes());
        stream.write_all(&auth).await.unwrap();
        let mut status = [0u8; 2];
        stream.read_exact(&mut status).await.unwrap();
        if status[1] != 0 {
            return Err(0xff);
        }
    }
    let SocketAddr::V4(v4) = target else {
        panic!("IPv4 only")
    };
    let mut request = vec![5, 1, 0, 1];
    request.extend_from_slice(&v4.ip().octets());
    request.extend_from_slice(&v4.port().to_be_bytes());
    stream.write_all(&request).await.unwrap();
    let mut reply = [0u8; 10];
    stream.read_exact(&mut reply).await.unwrap();
    if reply[1] != 0 {
        return Err(reply[1]);
    }
    Ok(stream)
}
