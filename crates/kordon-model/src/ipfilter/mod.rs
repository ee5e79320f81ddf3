//! The `ipfilter` domain: rules `{ip, mask, expires_time, type, description}` of the ipfilter
//! dialect, their checks, and what enforcement is built from them.
//!
//! - [`RuleKind`]: 0 permanent block, 1 block until `expires_time`, 2 permit until
//!   `expires_time`; a permit wins over every block covering the same address.
//! - [`mask`]: netmasks (dotted, IPv6 form, or a prefix length) to prefix lengths and back.
//! - [`time`]: `YYYY-MM-DD HH:mm` in the server's zone.
//! - [`input`]: one rule read from a request, every problem collected per field.
//! - [`book`]: the enforcement elements (one per network and action, expiring when the last
//!   rule behind it does) kept up to date rule by rule, with the change each step makes.
//! - [`snapshot`]: the immutable admission check kordon's own listeners ask, and the shared
//!   handle it is published through.

pub mod book;
pub mod input;
pub mod mask;
pub mod snapshot;
pub mod time;

use ipnet::IpNet;

/// The `type` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKind {
    PermanentBlock,
    TimedBlock,
    Permit,
}

impl RuleKind {
    pub const ALL: [RuleKind; 3] = [
        RuleKind::PermanentBlock,
        RuleKind::TimedBlock,
        RuleKind::Permit,
    ];

    /// The dialect's number for the kind.
    pub fn code(self) -> i64 {
        match self {
            RuleKind::PermanentBlock => 0,
            RuleKind::TimedBlock => 1,
            RuleKind::Permit => 2,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        RuleKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// What the rule does to a matching source address.
    pub fn action(self) -> Action {
        match self {
            RuleKind::PermanentBlock | RuleKind::TimedBlock => Action::Block,
            RuleKind::Permit => Action::Permit,
        }
    }

    /// Whether the rule ends at its `expires_time` (permanent blocks never do).
    pub fn expires(self) -> bool {
        !matches!(self, RuleKind::PermanentBlock)
    }
}

/// What enforcement does with a source address a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Permit,
    Block,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Permit => "permit",
            Action::Block => "block",
        }
    }
}

/// When something stops applying. `At` sorts before `Never`, so the latest of several
/// expiries is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expiry {
    /// Unix seconds.
    At(i64),
    Never,
}

impl Expiry {
    pub fn from_unix(at: Option<i64>) -> Self {
        at.map_or(Expiry::Never, Expiry::At)
    }

    pub fn unix(self) -> Option<i64> {
        match self {
            Expiry::At(at) => Some(at),
            Expiry::Never => None,
        }
    }

    /// Whether it still applies at `now` (unix seconds).
    pub fn is_live(self, now: i64) -> bool {
        match self {
            Expiry::At(at) => at > now,
            Expiry::Never => true,
        }
    }
}

/// A checked rule, ready to store: the network has no host bits, `expires_at` is set exactly
/// when the kind expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub network: IpNet,
    pub kind: RuleKind,
    /// Unix seconds; `None` for permanent blocks.
    pub expires_at: Option<i64>,
    pub description: String,
}

impl RuleSpec {
    pub fn expiry(&self) -> Expiry {
        Expiry::from_unix(self.expires_at)
    }
}
