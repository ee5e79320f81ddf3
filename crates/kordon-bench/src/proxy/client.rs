//! Opening a TCP stream to a target, directly or through a SOCKS5 or HTTP CONNECT proxy: the
//! handshake IO over the byte-level `socks5` and `connect` modules.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{connect, socks5};

/// A proxy login (`strong` authentication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

/// How the bench reaches a target.
#[derive(Debug, Clone)]
pub enum Route {
    Direct,
    Socks5 {
        proxy: SocketAddr,
        login: Option<Credentials>,
    },
    Connect {
        proxy: SocketAddr,
        login: Option<Credentials>,
    },
}

/// A stream to `target` with the route's handshake done, ready for the workload's bytes.
pub async fn open(route: &Route, target: SocketAddr) -> Result<TcpStream> {
    let first_hop = match route {
        Route::Direct => target,
        Route::Socks5 { proxy, .. } | Route::Connect { proxy, .. } => *proxy,
    };
    let mut stream = TcpStream::connect(first_hop)
        .await
        .with_context(|| format!("connect to {first_hop}"))?;
    // Small request/reply exchanges must not wait for Nagle's timer, as with curl.
    stream.set_nodelay(true)?;
    match route {
        Route::Direct => {}
        Route::Socks5 { login, .. } => socks5_handshake(&mut stream, target, login.as_ref())
            .await
            .with_context(|| format!("SOCKS5 handshake with {first_hop}"))?,
        Route::Connect { login, .. } => connect_handshake(&mut stream, target, login.as_ref())
            .await
            .with_context(|| format!("HTTP CONNECT handshake with {first_hop}"))?,
    }
    Ok(stream)
}

async fn socks5_handshake(
    stream: &mut TcpStream,
    target: SocketAddr,
    login: Option<&Credentials>,
) -> Result<()> {
    stream.write_all(&socks5::greeting(login)).await?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await?;
    socks5::check_method_choice(choice, login)?;
    if let Some(login) = login {
        stream.write_all(&socks5::login_request(login)?).await?;
        let mut status = [0u8; 2];
        stream.read_exact(&mut status).await?;
        socks5::check_login_status(status)?;
    }
    stream.write_all(&socks5::connect_request(target)).await?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    let rest = match socks5::reply_rest(head)? {
        socks5::ReplyRest::Exactly(length) => length,
        socks5::ReplyRest::Domain => usize::from(stream.read_u8().await?) + 2,
    };
    let mut bound = vec![0u8; rest];
    stream.read_exact(&mut bound).await?;
    Ok(())
}

async fn connect_handshake(
    stream: &mut TcpStream,
    target: SocketAddr,
    login: Option<&Credentials>,
) -> Result<()> {
    stream
        .write_all(connect::request(target, login).as_bytes())
        .await?;
    let mut received = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    let head = loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("proxy closed the connection before its reply head ended");
        }
        received.extend_from_slice(&chunk[..read]);
        if let Some(length) = connect::head_length(&received) {
            break length;
        }
        if received.len() > connect::MAX_HEAD {
            bail!("CONNECT reply head longer than {} bytes", connect::MAX_HEAD);
        }
    };
    connect::check_status(&received[..head])?;
    // Every bench server speaks only after the client, so nothing may follow the head yet.
    if received.len() > head {
        bail!(
            "proxy sent {} bytes after its reply head before the client spoke",
            received.len() - head
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::{self, Servers};
    use tokio::net::TcpListener;

    const LOGIN: &str = "bench";
    const PASSWORD: &str = "secret1";

    fn credentials(password: &str) -> Credentials {
        Credentials {
            login: LOGIN.into(),
            password: password.into(),
        }
    }

    /// A one-connection SOCKS5 server requiring a login: checks every byte the client sends,
    /// connects to the requested target and relays.
    async fn tiny_socks5(listener: TcpListener) {
        let (mut client, _) = listener.accept().await.unwrap();
        let mut greeting = [0u8; 3];
        client.read_exact(&mut greeting).await.unwrap();
        assert_eq!(greeting, [5, 1, 2], "greeting offers login only");
        client.write_all(&[5, 2]).await.unwrap();
        let mut version_and_length = [0u8; 2];
        client.read_exact(&mut version_and_length).await.unwrap();
        let mut user = vec![0u8; usize::from(version_and_length[1])];
        client.read_exact(&mut user).await.unwrap();
        let mut password = vec![0u8; usize::from(client.read_u8().await.unwrap())];
        client.read_exact(&mut password).await.unwrap();
        if user != LOGIN.as_bytes() || password != PASSWORD.as_bytes() {
            client.write_all(&[1, 1]).await.unwrap();
            return;
        }
        client.write_all(&[1, 0]).await.unwrap();
        let mut request = [0u8; 10];
        client.read_exact(&mut request).await.unwrap();
        assert_eq!(&request[..4], &[5, 1, 0, 1], "CONNECT to an IPv4 literal");
        let target = SocketAddr::from((
            [request[4], request[5], request[6], request[7]],
            u16::from_be_bytes([request[8], request[9]]),
        ));
        let mut upstream = TcpStream::connect(target).await.unwrap();
        client
            .write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
            .await
            .unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }

    /// A one-connection HTTP CONNECT server requiring Basic credentials.
    async fn tiny_connect(listener: TcpListener) {
        let (mut client, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut byte = [0u8; 1];
        while connect::head_length(&received).is_none() {
            client.read_exact(&mut byte).await.unwrap();
            received.push(byte[0]);
        }
        let head = String::from_utf8(received).unwrap();
        let target: SocketAddr = head
            .strip_prefix("CONNECT ")
            .and_then(|rest| rest.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        // base64("bench:secret1")
        if !head.contains("\r\nProxy-Authorization: Basic YmVuY2g6c2VjcmV0MQ==\r\n") {
            client
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                .await
                .unwrap();
            return;
        }
        let mut upstream = TcpStream::connect(target).await.unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }

    async fn through_tiny_proxy<F, Fut>(serve: F, route: impl Fn(SocketAddr) -> Route) -> Result<()>
    where
        F: FnOnce(TcpListener) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let servers = Servers::start().await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener));
        let outcome = async {
            let mut stream = open(&route(proxy), servers.echo).await?;
            servers::exchange(&mut stream).await
        }
        .await;
        server.await.unwrap();
        outcome
    }

    #[tokio::test]
    async fn socks5_with_login_reaches_the_echo_server() {
        through_tiny_proxy(tiny_socks5, |proxy| Route::Socks5 {
            proxy,
            login: Some(credentials(PASSWORD)),
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn socks5_wrong_password_is_a_refused_login() {
        let error = through_tiny_proxy(tiny_socks5, |proxy| Route::Socks5 {
            proxy,
            login: Some(credentials("wrong")),
        })
        .await
        .unwrap_err();
        assert!(format!("{error:#}").contains("login refused"), "{error:#}");
    }

    #[tokio::test]
    async fn connect_with_basic_reaches_the_echo_server() {
        through_tiny_proxy(tiny_connect, |proxy| Route::Connect {
            proxy,
            login: Some(credentials(PASSWORD)),
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn connect_wrong_password_is_the_proxy_status() {
        let error = through_tiny_proxy(tiny_connect, |proxy| Route::Connect {
            proxy,
            login: Some(credentials("wrong")),
        })
        .await
        .unwrap_err();
        assert!(format!("{error:#}").contains("407"), "{error:#}");
    }
}
