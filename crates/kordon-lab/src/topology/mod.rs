//! The lab's network namespaces (needs root, `ip` from iproute2 and `nft`).
//!
//! ```text
//!  farm namespace (where `kordon serve` runs)          namespace <lab>-m<i> (one per modem)
//!  <lab>u<i> 192.168.8.100/24  ── veth ("USB") ──  lan0 192.168.8.1/24  (web API on :80)
//!                                                   nft: masquerade out of wan0
//!                                                   wan0 <public /32>, default dev wan0
//!                                                        │ veth (mobile data link)
//!  namespace <lab>-inet:  w<i> (route <public>/32)  ─────┘
//!                         lo 203.0.113.10: echo :80, sink :9, source :19, UDP echo :7
//!                         lo 203.0.113.53: DNS for kordon.test (UDP and TCP :53)
//! ```
//!
//! Each modem also runs its firmware's DNS forwarder on its LAN address, port 53, which
//! forwards to 203.0.113.53 through `wan0`, so the zone's `whoami` sees the public address.
//!
//! ZTE modems use 192.168.0.1 / 192.168.0.100 instead: every modem of a family has the same
//! factory LAN, as real ones do. Public addresses come from the operators' pools
//! ([`crate::operators`]); a reconnect takes `wan0` down, moves the address, and brings it up.

mod command;
mod control;
mod dns_server;
mod dns_zone;
mod echo;
mod error;
mod lab;
pub mod names;
pub mod netns;
mod udp_echo;

pub use control::{NamespaceControl, UsbLink};
pub use dns_server::spawn_dns_server;
pub use dns_zone::{Lookup, Zone, DNS_ADDR, DNS_PORT, DNS_ZONE, V6ONLY_ADDR};
pub use echo::{ECHO_ADDR, ECHO_PORT, SINK_PORT, SOURCE_PORT};
pub use error::TopologyError;
pub use lab::{remove, Lab, LabModem, LabSpec, LabStatus, ModemStatus};
pub use udp_echo::{echo_reply, spawn_udp_echo, UDP_ECHO_PORT};

/// Whether this process can build labs (it runs as root).
pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}
