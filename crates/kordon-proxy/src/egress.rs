//! Leaving through a port: the host's interfaces as a snapshot (`host_view`), TCP pinned to
//! the port's interface (`connect`), names resolved through the port's modem (`resolve`) and
//! the answers remembered per port link (`name_cache`), and the modem plane's rotation state
//! behind a trait (`activity`).

mod activity;
mod connect;
mod host_view;
mod name_cache;
mod resolve;

pub use activity::{NoActivity, PortActivity};
pub use connect::{connect_through, udp_through};
pub use host_view::{watch_host, HostView, Link, REFRESH};
pub use name_cache::{LinkEpoch, NameCache, DEFAULT_CAPACITY as DEFAULT_NAME_CACHE_CAPACITY};
pub use resolve::{DnsPath, ResolveError};
