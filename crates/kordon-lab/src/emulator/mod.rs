//! Emulators of the modems' web APIs, faithful to the firmwares kordon's drivers talk to.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use kordon_lab::emulator::{spawn, EmulatedModem, LoopbackControl, ModemConfig};
//! use kordon_lab::operators::{WanPools, OPERATORS};
//! use kordon_model::catalog::MODEM_MODELS;
//!
//! let config = ModemConfig::new(MODEM_MODELS[0], OPERATORS[0]);
//! let modem = EmulatedModem::new(config, WanPools::new(), Arc::new(LoopbackControl))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = spawn(listener, modem.clone())?;
//! // … drive http://{server.local_addr()}/api/… ; modem.set_faults(…), modem.state() …
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod control;
mod dns_forwarder;
pub mod huawei;
mod listener;
mod modem;
mod server;
mod state;
pub mod zte;

pub use control::{ControlError, ControlFuture, LoopbackControl, ModemControl};
pub use dns_forwarder::{spawn_dns_forwarder, DnsForwarder};
pub use modem::{EmulatedModem, EmulatorError, ModemConfig};
pub use server::{spawn, EmulatorServer};
pub use state::{Connection, Faults, Lan, ModemState, NetMode, Rat, Signal};
