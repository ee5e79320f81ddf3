//! The bare relay: the thinnest SOCKS5 relay that can be written, as a floor under every
//! proxy's bulk figures. No authentication, CONNECT to an IPv4 address from an allow-list,
//! then one thread per direction doing nothing but blocking 1 MiB reads and writes (the size
//! that moved most per CPU second on loopback; smaller buffers cost more per byte). Whatever
//! it moves on a machine is about what any user-space relay of TCP streams can move there, so
//! a proxy's ratio to dante is only worth comparing with the bare relay's own.
//!
//! The bench starts it as a child process (itself, with [`SUBCOMMAND`]) so that its CPU time
//! is metered like any other proxy's.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::lanes::free_port;
use super::process::ProxyProcess;
use super::socks5::{ATYP_IPV4, CONNECT, NO_ACCEPTABLE_METHOD, NO_AUTH, VERSION};

/// The argument that makes the bench binary serve as the bare relay:
/// `proxy-bench --serve-bare-relay LISTEN TARGET...`.
pub const SUBCOMMAND: &str = "--serve-bare-relay";

/// Bytes per read and write.
const COPY_BUFFER: usize = 1 << 20;

const SUCCEEDED: u8 = 0x00;
const NOT_ALLOWED: u8 = 0x02;
const COMMAND_NOT_SUPPORTED: u8 = 0x07;

/// Starts the bare relay as a child process allowing `targets` and waits until it listens.
pub async fn start(dir: &Path, targets: &[SocketAddr]) -> Result<(ProxyProcess, SocketAddr)> {
    std::fs::create_dir_all(dir)?;
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let mut command = Command::new(std::env::current_exe()?);
    command.arg(SUBCOMMAND).arg(listen.to_string());
    command.args(targets.iter().map(SocketAddr::to_string));
    let mut process = ProxyProcess::spawn("bare relay", command, &dir.join("bare-relay.out"))?;
    process
        .wait_accepting(listen, Duration::from_secs(15))
        .await?;
    Ok((process, listen))
}

/// Serves until killed: `args` are the listen address and the allowed targets.
pub fn serve(args: &[String]) -> Result<()> {
    let [listen, targets @ ..] = args else {
        bail!("usage: proxy-bench {SUBCOMMAND} LISTEN TARGET...");
    };
    let listen: SocketAddr = listen
        .parse()
        .with_context(|| format!("{SUBCOMMAND}: {listen:?} is not an address:port"))?;
    let targets = targets
        .iter()
        .map(|target| {
            target
                .parse::<SocketAddr>()
                .with_context(|| format!("{SUBCOMMAND}: target {target:?} is not an address:port"))
        })
        .collect::<Result<Vec<_>>>()?;
    let listener = TcpListener::bind(listen).with_context(|| format!("bind {listen}"))?;
    for client in listener.incoming() {
        let client = match client {
            Ok(client) => client,
            Err(error) => {
                // Out of descriptors, say: give the sessions a moment to end instead of
                // spinning on the same error.
                eprintln!("bare relay: accept: {error}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let targets = targets.clone();
        std::thread::spawn(move || {
            if let Err(error) = session(client, &targets) {
                eprintln!("bare relay: {error:#}");
            }
        });
    }
    Ok(())
}

fn session(mut client: TcpStream, targets: &[SocketAddr]) -> Result<()> {
    client.set_nodelay(true)?;
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting)?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods)?;
    if greeting[0] != VERSION || !methods.contains(&NO_AUTH) {
        client.write_all(&[VERSION, NO_ACCEPTABLE_METHOD])?;
        bail!("greeting without SOCKS5's no-authentication method");
    }
    client.write_all(&[VERSION, NO_AUTH])?;
    // VER CMD RSV ATYP, then an IPv4 address and a port: the only request this relay takes.
    let mut request = [0u8; 10];
    client.read_exact(&mut request)?;
    if request[0] != VERSION || request[1] != CONNECT || request[3] != ATYP_IPV4 {
        client.write_all(&reply(COMMAND_NOT_SUPPORTED, None))?;
        bail!("only CONNECT to an IPv4 address is served");
    }
    let ip = Ipv4Addr::new(request[4], request[5], request[6], request[7]);
    let target = SocketAddr::from((ip, u16::from_be_bytes([request[8], request[9]])));
    if !targets.contains(&target) {
        client.write_all(&reply(NOT_ALLOWED, None))?;
        bail!("{target} is not an allowed target");
    }
    let upstream = TcpStream::connect(target).with_context(|| format!("connect {target}"))?;
    upstream.set_nodelay(true)?;
    client.write_all(&reply(SUCCEEDED, Some(upstream.local_addr()?)))?;
    let outbound = {
        let (from, to) = (client.try_clone()?, upstream.try_clone()?);
        std::thread::spawn(move || pump(from, to))
    };
    let inbound = pump(upstream, client);
    let outbound = outbound
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("outbound thread panicked")));
    inbound.and(outbound).context("relaying")
}

/// A reply with the bound address (IPv4 only; zeros when there is none).
fn reply(code: u8, bound: Option<SocketAddr>) -> [u8; 10] {
    let (ip, port) = match bound {
        Some(SocketAddr::V4(bound)) => (bound.ip().octets(), bound.port()),
        _ => ([0; 4], 0),
    };
    let mut reply = [VERSION, code, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0];
    reply[4..8].copy_from_slice(&ip);
    reply[8..].copy_from_slice(&port.to_be_bytes());
    reply
}

/// Copies `from` to `to` until `from` ends, then half-closes `to`.
fn pump(mut from: TcpStream, mut to: TcpStream) -> io::Result<()> {
    let mut buffer = vec![0u8; COPY_BUFFER];
    loop {
        let read = from.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        to.write_all(&buffer[..read])?;
    }
    match to.shutdown(Shutdown::Write) {
        Err(error) if error.kind() != io::ErrorKind::NotConnected => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{self, Route};
    use crate::servers::{self, Servers};

    #[test]
    fn replies_carry_the_code_and_the_bound_address() {
        let bound: SocketAddr = "127.0.0.1:4660".parse().unwrap();
        assert_eq!(
            reply(SUCCEEDED, Some(bound)),
            [5, 0, 0, 1, 127, 0, 0, 1, 0x12, 0x34]
        );
        assert_eq!(reply(NOT_ALLOWED, None), [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
    }

    /// The relay served in this process on a thread: the bench's own SOCKS5 client carries an
    /// echo exchange through it, and a target off the list is refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn carries_allowed_targets_and_refuses_others() {
        let servers = Servers::start().await.unwrap();
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
        let args = vec![listen.to_string(), servers.echo.to_string()];
        std::thread::spawn(move || serve(&args));
        let route = Route::Socks5 {
            proxy: listen,
            login: None,
        };
        let mut stream = loop {
            match client::open(&route, servers.echo).await {
                Ok(stream) => break stream,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        servers::exchange(&mut stream).await.unwrap();
        let refused = client::open(&route, servers.bulk).await.unwrap_err();
        assert!(format!("{refused:#}").contains("SOCKS5"), "{refused:#}");
    }
}
