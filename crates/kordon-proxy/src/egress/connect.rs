//! TCP connections that leave through one interface only.
//!
//! `SO_BINDTODEVICE` pins the socket to the port's interface: with the modem plane's policy
//! routing (`ip rule oif <if>`) the kernel routes it through that modem, and if the interface
//! is gone the connect fails instead of leaking out through another one.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

/// A socket of `domain` pinned to `ifname`, non-blocking, ready for tokio.
pub(crate) fn bound_socket(domain: Domain, kind: Type, ifname: &str) -> io::Result<Socket> {
    let protocol = if kind == Type::DGRAM {
        Protocol::UDP
    } else {
        Protocol::TCP
    };
    // Non-blocking from the start: one syscall fewer per connection than setting it after.
    let socket = Socket::new(domain, kind.cloexec().nonblocking(), Some(protocol))?;
    socket.bind_device(Some(ifname.as_bytes()))?;
    Ok(socket)
}

/// Connects to `address` through `ifname`, giving up after `timeout`.
pub async fn connect_through(
    ifname: &str,
    address: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let socket = bound_socket(Domain::for_address(address), Type::STREAM, ifname)?;
    socket.set_tcp_nodelay(true)?;
    let socket = TcpSocket::from_std_stream(socket.into());
    match tokio::time::timeout(timeout, socket.connect(address)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer from {address} within {timeout:?}"),
        )),
    }
}

/// A UDP socket of `address`'s family that sends through `ifname` only.
pub fn udp_through(ifname: &str, address: SocketAddr) -> io::Result<tokio::net::UdpSocket> {
    let socket = bound_socket(Domain::for_address(address), Type::DGRAM, ifname)?;
    let unspecified: SocketAddr = if address.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    socket.bind(&unspecified.into())?;
    tokio::net::UdpSocket::from_std(socket.into())
}
