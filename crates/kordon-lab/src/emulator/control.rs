//! How an emulated modem acts on its environment. In the namespace lab the data link and the
//! public address are real (`ip` in the modem's namespace); on loopback nothing outside the
//! state changes.

use std::future::Future;
use std::io;
use std::net::Ipv4Addr;
use std::pin::Pin;

use socket2::{Domain, Socket, Type};

/// A failed change of the environment.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ControlError(pub String);

pub type ControlFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ControlError>> + Send + 'a>>;

/// The environment of one emulated modem.
pub trait ModemControl: Send + Sync + 'static {
    /// Brings the mobile data link (the WAN side) up or down.
    fn set_data_link(&self, up: bool) -> ControlFuture<'_>;
    /// Moves the public address from `old` to `new` (called with the link down).
    fn move_wan_addr(&self, old: Ipv4Addr, new: Ipv4Addr) -> ControlFuture<'_>;
    /// Detaches the USB device: the host's interface of the modem disappears.
    fn unplug(&self) -> ControlFuture<'_>;
    /// Attaches it again: the host's interface comes back.
    fn replug(&self) -> ControlFuture<'_>;
    /// A new IPv4 socket of `kind` on the modem's side of the data link, for the firmware's
    /// own traffic to the internet (its DNS forwarder). Blocking: call it off the runtime.
    fn data_socket(&self, kind: Type) -> io::Result<Socket>;
}

/// The environment of an emulator on loopback: the state is the only thing that changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopbackControl;

impl ModemControl for LoopbackControl {
    fn set_data_link(&self, _up: bool) -> ControlFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn move_wan_addr(&self, _old: Ipv4Addr, _new: Ipv4Addr) -> ControlFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn unplug(&self) -> ControlFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn replug(&self) -> ControlFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn data_socket(&self, kind: Type) -> io::Result<Socket> {
        Socket::new(Domain::IPV4, kind, None)
    }
}
