//! The kordon lab: emulated USB LTE modems for tests, benchmarks and demos.
//!
//! - [`emulator`]: the web APIs of the five supported modem models (Huawei HiLink, ZTE goform)
//!   as async HTTP servers on any `TcpListener`, backed by a shared [`emulator::ModemState`]
//!   and a [`emulator::ModemControl`] that applies link changes to the environment.
//! - [`operators`]: the mobile operators of the lab and their public address pools.
//! - [`topology`] (root): network namespaces that make each emulated modem a real interface
//!   with NAT to a fake internet holding an IP echo service, a UDP echo and an authoritative
//!   DNS server, which each modem's DNS forwarder reaches through its NAT.

mod dns;
pub mod emulator;
pub mod operators;
pub mod topology;
