//! Failures of building or changing the lab's namespaces.

use crate::operators::PoolExhausted;

#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("network namespace {namespace}: {source}")]
    Namespace {
        namespace: String,
        source: std::io::Error,
    },
    #[error("lab name {0:?} must be 1 to 8 characters of a-z and 0-9, starting with a letter")]
    InvalidName(String),
    #[error("a lab has 1 to {max} modems, not {got}", max = super::names::MAX_MODEMS)]
    ModemCount { got: usize },
    #[error(transparent)]
    Pool(#[from] PoolExhausted),
    #[error("serving in the lab: {0}")]
    Io(#[from] std::io::Error),
}
