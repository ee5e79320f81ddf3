//! Mobile operators of the lab and the public address pools their subscribers get.
//!
//! The pools lie in 198.18.0.0/15, the range RFC 2544 reserves for benchmark networks: it never
//! appears on the real internet, yet is not private, so it looks like a public address to kordon.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use ipnet::Ipv4Net;
use rand::seq::IteratorRandom;

/// A mobile network operator as a modem reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// Long name (`FullName` of HiLink's `current-plmn`).
    pub full_name: &'static str,
    /// Short name (`ShortName`; ZTE's `network_provider`).
    pub short_name: &'static str,
    /// MCC + MNC.
    pub numeric: &'static str,
    /// Public addresses handed to this operator's subscribers.
    pub pool: Ipv4Net,
}

/// The lab's operators; a modem with index `i` uses `OPERATORS[i % 3]`.
pub const OPERATORS: [Operator; 3] = [
    Operator {
        full_name: "MegaFon RUS",
        short_name: "MegaFon",
        numeric: "25002",
        pool: net(198, 18, 0),
    },
    Operator {
        full_name: "MTS RUS",
        short_name: "MTS",
        numeric: "25001",
        pool: net(198, 18, 1),
    },
    Operator {
        full_name: "Beeline",
        short_name: "Beeline",
        numeric: "25099",
        pool: net(198, 18, 2),
    },
];

const fn net(a: u8, b: u8, c: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, 0), 24)
}

/// Leases of the operators' pools: no two modems of one lab hold the same public address.
#[derive(Debug, Clone, Default)]
pub struct WanPools {
    leased: Arc<Mutex<HashSet<Ipv4Addr>>>,
}

/// Every address of the pool is leased.
#[derive(Debug, thiserror::Error)]
#[error("the address pool {0} of the operator is exhausted")]
pub struct PoolExhausted(pub Ipv4Net);

impl WanPools {
    pub fn new() -> Self {
        Self::default()
    }

    /// Leases a random free address of `operator`'s pool.
    pub fn lease(&self, operator: &Operator) -> Result<Ipv4Addr, PoolExhausted> {
        let mut leased = self.lock();
        let pick = operator
            .pool
            .hosts()
            .filter(|a| !leased.contains(a))
            .choose(&mut rand::thread_rng())
            .ok_or(PoolExhausted(operator.pool))?;
        leased.insert(pick);
        Ok(pick)
    }

    /// Returns `old` to the pool and leases another address, never `old` itself (unless it is
    /// the only free one).
    pub fn renew(&self, operator: &Operator, old: Ipv4Addr) -> Result<Ipv4Addr, PoolExhausted> {
        let fresh = self.lease(operator);
        self.release(old);
        match fresh {
            Ok(addr) => Ok(addr),
            Err(_) => self.lease(operator),
        }
    }

    pub fn release(&self, addr: Ipv4Addr) {
        self.lock().remove(&addr);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Ipv4Addr>> {
        // A poisoned set of leases is still a valid set.
        self.leased.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renew_gives_another_address_of_the_pool() {
        let pools = WanPools::new();
        let op = OPERATORS[1];
        let first = pools.lease(&op).unwrap();
        assert!(op.pool.contains(&first));
        for _ in 0..50 {
            let next = pools.renew(&op, first).unwrap();
            assert_ne!(next, first);
            assert!(op.pool.contains(&next));
            pools.release(next);
            pools.lock().insert(first);
        }
    }
}
