//! One pair of buckets per proxy login, shared by all its connections on all its profiles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::TokenBucket;
use crate::table::{LoginRates, ProxyTable};

/// A login's two directions.
#[derive(Debug)]
pub struct LoginLimit {
    /// Bytes received from the internet for the client (`bitrate_in`).
    pub inbound: TokenBucket,
    /// Bytes the client sends to the internet (`bitrate_out`).
    pub outbound: TokenBucket,
}

impl LoginLimit {
    fn new(rates: LoginRates) -> LoginLimit {
        LoginLimit {
            inbound: TokenBucket::new(rates.bitrate_in),
            outbound: TokenBucket::new(rates.bitrate_out),
        }
    }

    fn set(&self, rates: LoginRates) {
        self.inbound.set_rate(rates.bitrate_in);
        self.outbound.set_rate(rates.bitrate_out);
    }
}

/// The buckets by login id. Connections hold their login's `Arc`, so a rate change reaches
/// connections already open.
#[derive(Debug, Default)]
pub struct LoginBuckets {
    logins: Mutex<HashMap<i64, Arc<LoginLimit>>>,
}

impl LoginBuckets {
    pub fn new() -> LoginBuckets {
        LoginBuckets::default()
    }

    /// The login's buckets, made with `rates` if it has none yet.
    pub fn login(&self, login_id: i64, rates: LoginRates) -> Arc<LoginLimit> {
        Arc::clone(
            self.lock()
                .entry(login_id)
                .or_insert_with(|| Arc::new(LoginLimit::new(rates))),
        )
    }

    /// The login's buckets if it has any.
    pub fn get(&self, login_id: i64) -> Option<Arc<LoginLimit>> {
        self.lock().get(&login_id).cloned()
    }

    /// Follows a new table: every login it uses gets its rates (live, for open connections
    /// too); logins no profile uses any more are forgotten (their open connections keep their
    /// buckets until they end).
    pub fn apply(&self, table: &ProxyTable) {
        let mut logins = self.lock();
        logins.retain(|id, _| table.login_rates(*id).is_some());
        for (id, rates) in table.logins() {
            match logins.get(&id) {
                Some(limit) => limit.set(rates),
                None => {
                    logins.insert(id, Arc::new(LoginLimit::new(rates)));
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<LoginLimit>>> {
        // A map of Arcs has no invariant a panic could break half-way.
        self.logins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
