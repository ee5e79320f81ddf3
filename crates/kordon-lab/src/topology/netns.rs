//! Doing things inside a named network namespace from this process: a short-lived thread
//! enters the namespace (`setns`), does the work, and ends. Sockets it opens stay in that
//! namespace, so they serve from the main runtime afterwards.

use std::fs::File;
use std::io;
use std::net::SocketAddr;

use nix::sched::{setns, CloneFlags};

use super::error::TopologyError;

/// Runs `work` on a thread inside namespace `name` (`/run/netns/NAME`, as `ip netns` makes).
pub fn run_in<T, F>(name: &str, work: F) -> Result<T, TopologyError>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let fail = |source: io::Error| TopologyError::Namespace {
        namespace: name.to_string(),
        source,
    };
    let file = File::open(format!("/run/netns/{name}")).map_err(fail)?;
    let thread = std::thread::spawn(move || -> io::Result<T> {
        setns(&file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        work()
    });
    match thread.join() {
        Ok(result) => result.map_err(fail),
        Err(_) => Err(fail(io::Error::other("the namespace thread panicked"))),
    }
}

/// Runs `work` inside namespace `name`, or right here when `name` is `None`.
fn in_namespace<T, F>(name: Option<&str>, work: F) -> Result<T, TopologyError>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    match name {
        Some(ns) => run_in(ns, work),
        None => Ok(work()?),
    }
}

/// A tokio listener on `addr` inside namespace `name`; `None` is the current namespace.
pub fn listen(
    name: Option<&str>,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, TopologyError> {
    let listener = in_namespace(name, move || {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    })?;
    Ok(tokio::net::TcpListener::from_std(listener)?)
}

/// A tokio UDP socket bound to `addr` inside namespace `name`; `None` is the current one.
pub fn bind_udp(
    name: Option<&str>,
    addr: SocketAddr,
) -> Result<tokio::net::UdpSocket, TopologyError> {
    let socket = in_namespace(name, move || {
        let socket = std::net::UdpSocket::bind(addr)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    })?;
    Ok(tokio::net::UdpSocket::from_std(socket)?)
}

/// Writes a sysctl (`/proc/sys/…`) inside namespace `name`.
pub fn sysctl(name: &str, key: &'static str, value: &'static str) -> Result<(), TopologyError> {
    run_in(name, move || {
        std::fs::write(format!("/proc/sys/{}", key.replace('.', "/")), value)
    })
}
