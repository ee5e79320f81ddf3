//! Facts about the machine kordon runs on: its network interfaces (with IPv4 address and
//! gateway) and its CPU load, memory and uptime.

pub mod net;
pub mod system;

pub use net::{interfaces, Interface};
pub use system::{SystemSampler, SystemStats};
