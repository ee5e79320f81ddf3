//! Drivers for the USB modems kordon turns into ports.
//!
//! Every supported model speaks one of two web APIs on its LAN address: Huawei HiLink (XML
//! under `/api/…`, a session cookie and single-use request tokens) or ZTE goform (JSON from
//! `goform_get_cmd_process`, form posts to `goform_set_cmd_process`). [`driver::Driver`] hides
//! which one behind [`driver::ModemDriver`], the operations monitoring and rotation need.
//!
//! Every Huawei modem answers on the same 192.168.8.1 (every ZTE one on 192.168.0.1), so a
//! driver talks through an HTTP client bound to its port's interface ([`http::HttpConfig`]);
//! one client per port, never shared, since a connection pool keyed by host would otherwise
//! hand one modem's connection to another.
//!
//! Layout: `huawei::xml` and `zte::reply` parse the firmware's replies (no IO),
//! `status` holds the shared vocabulary (signal strings, network generations), the driver
//! modules do the HTTP exchanges. [`service`] holds the plane's services (monitoring,
//! rotation, timed rotation) and the per-port policy routing they rely on.

pub mod driver;
pub mod error;
pub mod http;
pub mod huawei;
pub mod service;
pub mod status;
pub mod zte;

pub use driver::{Driver, ModemDriver};
pub use error::DriverError;
pub use http::HttpConfig;
pub use status::ModemStatus;
