//! The targets every route leads to, on loopback inside the bench:
//! - the bulk server: a source (download) or a sink (upload) of as many bytes as the client's
//!   9-byte request names (`D` or `U`, then the count as a big-endian u64); a sink answers the
//!   count it received as 8 bytes once it has it all;
//! - the echo server: answers one 1 KiB request with the same 1 KiB and closes.
//!
//! Servers close first, so TIME_WAIT stays on their side and the many short connections of
//! the rate test never run the clients' (or the proxies') ephemeral ports dry.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The size of one request and of one reply in the connection-rate test.
pub const EXCHANGE_BYTES: usize = 1024;
/// The read and write size of bulk transfers.
pub const BULK_CHUNK: usize = 256 * 1024;

const DOWNLOAD: u8 = b'D';
const UPLOAD: u8 = b'U';

/// Which way bulk bytes flow, seen from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Server to client.
    Download,
    /// Client to server.
    Upload,
}

impl Direction {
    pub fn label(self) -> &'static str {
        match self {
            Direction::Download => "download",
            Direction::Upload => "upload",
        }
    }
}

/// The request that opens a bulk transfer.
pub fn bulk_request(direction: Direction, bytes: u64) -> [u8; 9] {
    let mut request = [0u8; 9];
    request[0] = match direction {
        Direction::Download => DOWNLOAD,
        Direction::Upload => UPLOAD,
    };
    request[1..].copy_from_slice(&bytes.to_be_bytes());
    request
}

/// The running servers; their accept loops end when this is dropped.
pub struct Servers {
    pub bulk: SocketAddr,
    pub echo: SocketAddr,
    accept_loops: Vec<JoinHandle<()>>,
}

impl Servers {
    pub async fn start() -> Result<Servers> {
        let bulk = TcpListener::bind("127.0.0.1:0").await?;
        let echo = TcpListener::bind("127.0.0.1:0").await?;
        let servers = Servers {
            bulk: bulk.local_addr()?,
            echo: echo.local_addr()?,
            accept_loops: vec![
                tokio::spawn(accept_loop(bulk, serve_bulk)),
                tokio::spawn(accept_loop(echo, serve_echo)),
            ],
        };
        Ok(servers)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for accept_loop in &self.accept_loops {
            accept_loop.abort();
        }
    }
}

async fn accept_loop<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                // A connection that fails only ends itself; the client reports its error.
                tokio::spawn(serve(stream));
            }
            Err(error) => {
                // Out of descriptors or a connection reset before accept: back off briefly.
                eprintln!("bench server: accept: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_bulk(mut stream: TcpStream) -> std::io::Result<()> {
    let mut request = [0u8; 9];
    stream.read_exact(&mut request).await?;
    let mut count = [0u8; 8];
    count.copy_from_slice(&request[1..]);
    let bytes = u64::from_be_bytes(count);
    let mut buffer = vec![0x5a_u8; BULK_CHUNK];
    match request[0] {
        DOWNLOAD => {
            let mut left = bytes;
            while left > 0 {
                let now = left.min(BULK_CHUNK as u64) as usize;
                stream.write_all(&buffer[..now]).await?;
                left -= now as u64;
            }
        }
        UPLOAD => {
            let mut received = 0u64;
            while received < bytes {
                let read = stream.read(&mut buffer).await?;
                if read == 0 {
                    break;
                }
                received += read as u64;
            }
            stream.write_all(&received.to_be_bytes()).await?;
        }
        _ => {}
    }
    stream.shutdown().await
}

async fn serve_echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut request = [0u8; EXCHANGE_BYTES];
    stream.read_exact(&mut request).await?;
    stream.write_all(&request).await?;
    stream.shutdown().await
}

/// The echo request: a pattern the reply must repeat exactly.
fn exchange_payload() -> [u8; EXCHANGE_BYTES] {
    let mut payload = [0u8; EXCHANGE_BYTES];
    for (index, byte) in payload.iter_mut().enumerate() {
        *byte = (index % 251) as u8;
    }
    payload
}

/// Sends the 1 KiB request and reads the 1 KiB reply, checking it.
pub async fn request_reply(stream: &mut TcpStream) -> Result<()> {
    let payload = exchange_payload();
    stream.write_all(&payload).await?;
    let mut reply = [0u8; EXCHANGE_BYTES];
    stream.read_exact(&mut reply).await?;
    if reply != payload {
        bail!("echo reply differs from the request");
    }
    Ok(())
}

/// Waits for the server's close after the reply: nothing more may arrive.
pub async fn await_close(stream: &mut TcpStream) -> Result<()> {
    let mut extra = [0u8; 64];
    let read = stream.read(&mut extra).await?;
    if read != 0 {
        bail!("{read} unexpected bytes after the echo reply");
    }
    Ok(())
}

/// One whole exchange: request, reply, close.
pub async fn exchange(stream: &mut TcpStream) -> Result<()> {
    request_reply(stream).await?;
    await_close(stream).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn echo_answers_once_and_closes() {
        let servers = Servers::start().await.unwrap();
        let mut stream = TcpStream::connect(servers.echo).await.unwrap();
        exchange(&mut stream).await.unwrap();
    }

    #[tokio::test]
    async fn bulk_sources_and_sinks_the_count_asked() {
        let servers = Servers::start().await.unwrap();
        let bytes = 3 * BULK_CHUNK as u64 + 17;

        let mut download = TcpStream::connect(servers.bulk).await.unwrap();
        download
            .write_all(&bulk_request(Direction::Download, bytes))
            .await
            .unwrap();
        let mut received = Vec::new();
        download.read_to_end(&mut received).await.unwrap();
        assert_eq!(received.len() as u64, bytes);

        let mut upload = TcpStream::connect(servers.bulk).await.unwrap();
        upload
            .write_all(&bulk_request(Direction::Upload, bytes))
            .await
            .unwrap();
        upload.write_all(&vec![1u8; bytes as usize]).await.unwrap();
        let mut ack = [0u8; 8];
        upload.read_exact(&mut ack).await.unwrap();
        assert_eq!(u64::from_be_bytes(ack), bytes);
    }
}
