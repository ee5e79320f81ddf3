//! How an emulated modem acts on its environment. In the namespace lab the data link and the
//! public address are real (`ip` in the modem's namespace); on loopback nothing outside the
//! state changes.

use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;

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
}
