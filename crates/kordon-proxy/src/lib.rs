//! The proxy data plane: HTTP and SOCKS5 listeners whose traffic leaves through a port's modem.
//!
//! `protocol` parses the wire (no IO); `table` is the immutable snapshot of the profiles the
//! hot path reads; `limits` holds the shared token buckets and connection caps; `relay` moves
//! the bytes of an established connection (splice, shaping, metering, HTTP forwarding);
//! `egress` leaves through a port (its interface, its modem's resolver), `guard` decides which
//! destinations a profile may reach, `stats` counts, and `service` runs it all: listeners,
//! sessions and the tasks that keep the snapshots current.

pub mod egress;
pub mod guard;
pub mod limits;
pub mod protocol;
pub mod relay;
pub mod service;
pub mod stats;
pub mod table;
