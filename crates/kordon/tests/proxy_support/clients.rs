//! Hand-made clients opened inside the farm namespace (a thread enters it to open the socket;
//! the socket then serves from the test's runtime): plain TCP to a listener, SOCKS5 CONNECT
//! that reports the proxy's reply code, and reads that tell a moving connection from a
//! closed one.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use kordon_lab::topology::netns;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a hand-made handshake may take before the test fails: above the plane's egress
/// wait and connect timeout (10 s each), so a refusal that comes late is still seen as one.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(25);

/// A TCP connection to `127.0.0.1:port` opened inside namespace `ns`.
pub async fn connect_in(ns: &str, port: u16) -> io::Result<TcpStream> {
    let ns = ns.to_owned();
    let opened = tokio::task::spawn_blocking(move || {
        netns::run_in(&ns, move || {
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            Ok(
                std::net::TcpStream::connect_timeout(&address, Duration::from_secs(5)).and_then(
                    |stream| {
                        stream.set_nonblocking(true)?;
                        Ok(stream)
                    },
                ),
            )
        })
        .expect("enter the farm namespace")
    })
    .await
    .expect("connect thread");
    TcpStream::from_std(opened?)
}

/// Waits until a listener accepts on `port` in `ns`.
pub async fn wait_listening(ns: &str, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while connect_in(ns, port).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether connecting to `port` in `ns` is refused (no listener).
pub async fn is_refused(ns: &str, port: u16) -> bool {
    matches!(
        connect_in(ns, port).await,
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused
    )
}

/// Waits until nothing listens on `port` in `ns`; returns how long that took.
pub async fn wait_refused(ns: &str, port: u16, within: Duration) -> Duration {
    let started = Instant::now();
    while !is_refused(ns, port).await {
        assert!(started.elapsed() < within, "{port} still accepts");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// Why a hand-made SOCKS5 CONNECT did not get through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Socks5Refusal {
    /// The proxy refused the login/password (RFC 1929 status).
    Auth,
    /// The proxy answered the request with this reply code (RFC 1928).
    Reply(u8),
}

/// A SOCKS5 CONNECT through the profile on `listen` to `host:port` (an IPv4 literal or a
/// domain name, resolved by the proxy); `credentials` for `strong` profiles. Panics when the
/// proxy closes or stalls without an answer: every refusal must be the protocol's own.
pub async fn socks5_connect(
    ns: &str,
    listen: u16,
    credentials: Option<(&str, &str)>,
    host: &str,
    port: u16,
) -> Result<TcpStream, Socks5Refusal> {
    let mut stream = connect_in(ns, listen)
        .await
        .unwrap_or_else(|error| panic!("cannot reach the proxy on {listen}: {error}"));
    let handshake = socks5_handshake(&mut stream, credentials, host, port);
    match tokio::time::timeout(HANDSHAKE_LIMIT, handshake).await {
        Ok(Ok(Ok(()))) => Ok(stream),
        Ok(Ok(Err(refusal))) => Err(refusal),
        Ok(Err(error)) => panic!("SOCKS5 to {host}:{port} via {listen}: no answer ({error})"),
        Err(_) => panic!("SOCKS5 to {host}:{port} via {listen}: no answer in {HANDSHAKE_LIMIT:?}"),
    }
}

async fn socks5_handshake(
    stream: &mut TcpStream,
    credentials: Option<(&str, &str)>,
    host: &str,
    port: u16,
) -> io::Result<Result<(), Socks5Refusal>> {
    let method = if credentials.is_some() { 0x02 } else { 0x00 };
    stream.write_all(&[5, 1, method]).await?;
    let mut selection = [0u8; 2];
    stream.read_exact(&mut selection).await?;
    if selection[1] != method {
        return Ok(Err(Socks5Refusal::Auth));
    }
    if let Some((login, password)) = credentials {
        let mut auth = vec![1, login.len() as u8];
        auth.extend_from_slice(login.as_bytes());
        auth.push(password.len() as u8);
        auth.extend_from_slice(password.as_bytes());
        stream.write_all(&auth).await?;
        let mut status = [0u8; 2];
        stream.read_exact(&mut status).await?;
        if status[1] != 0 {
            return Ok(Err(Socks5Refusal::Auth));
        }
    }
    let mut request = vec![5, 1, 0];
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            request.push(1);
            request.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            request.push(4);
            request.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            request.push(3);
            request.push(host.len() as u8);
            request.extend_from_slice(host.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    let address_len = match head[3] {
        1 => 4,
        4 => 16,
        3 => usize::from(stream.read_u8().await?),
        other => return Err(io::Error::other(format!("address type {other}"))),
    };
    let mut bound = vec![0u8; address_len + 2];
    stream.read_exact(&mut bound).await?;
    Ok(match head[1] {
        0 => Ok(()),
        code => Err(Socks5Refusal::Reply(code)),
    })
}

/// Reads `count` bytes (discarding them) within `within`; returns how many arrived, fewer
/// when the connection ended or stalled.
pub async fn read_count(stream: &mut TcpStream, count: usize, within: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    while total < count {
        let want = buf.len().min(count - total);
        match tokio::time::timeout_at(deadline, stream.read(&mut buf[..want])).await {
            Ok(Ok(n)) if n > 0 => total += n,
            _ => break,
        }
    }
    total
}

/// Reads and discards until the connection ends (end of stream or reset); returns how long
/// that took, `None` when it still delivered after `within`.
pub async fn wait_closed(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}
