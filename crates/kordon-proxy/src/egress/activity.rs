//! What the modem plane tells the proxy plane about a port without the planes knowing each
//! other: the binary implements [`PortActivity`] with the modem plane's rotation state.

/// Whether a port is busy with something that stops its traffic (a rotation).
pub trait PortActivity: Send + Sync + 'static {
    fn is_rotating(&self, port_id: i64) -> bool;
}

/// For a plane with no modem plane beside it (tests, benchmarks): ports are never busy.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoActivity;

impl PortActivity for NoActivity {
    fn is_rotating(&self, _port_id: i64) -> bool {
        false
    }
}
