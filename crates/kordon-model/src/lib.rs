//! Domain types of kordon: enums of the farm dialect, field rules, catalogues (modem models,
//! OS fingerprint personalities), lenient value coercion, list filters and the Russian date
//! formats of the farm API. Nothing here does IO.

pub mod catalog;
pub mod coerce;
pub mod enums;
pub mod errors;
pub mod filter;
pub mod ipfilter;
pub mod prefix;
pub mod rules;
pub mod rutime;

pub use errors::FieldErrors;
