//! The `ipfilter` dialect: the firewall-rule API of the ipfilter document, under
//! `/api/ip_filter/…`, with short-lived access tokens from
//! `POST /api/account/credentials/verify`.
//!
//! Conventions (see `docs/ipfilter-api.md`): parameters come from the query string or the body
//! (JSON or form); every reply carries `errcode` (0 on success) and `errmsg`; field problems
//! are listed under `errors`; ids are strings; `expires_time` is `YYYY-MM-DD HH:mm` in the
//! server's zone.
//!
//! Extensions: bulk `import`/`export`, `status` (how the rules are enforced), and
//! `POST /api/users/ipfilter_access` (farm key, superuser) to give panel users the right.

pub mod access;
pub mod admission;
pub mod auth;
pub mod bulk;
pub mod clock;
pub mod params;
pub mod reply;
pub mod rules;
pub mod status;
pub mod tokens;
pub mod view;

use std::sync::Arc;

use axum::Router;
use chrono_tz::Tz;

use crate::AppState;
use clock::{Clock, SystemClock};
use status::EnforcementReport;
use tokens::TokenBook;

/// What the dialect needs beyond the store: tokens, the clock, the server's zone and, when
/// the plane runs, its report.
#[derive(Clone)]
pub struct IpFilterApi {
    pub tokens: TokenBook,
    /// The zone of `expires_time`.
    pub tz: Tz,
    pub report: Option<Arc<dyn EnforcementReport>>,
}

impl Default for IpFilterApi {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock), chrono_tz::UTC)
    }
}

impl IpFilterApi {
    pub fn new(clock: Arc<dyn Clock>, tz: Tz) -> Self {
        Self {
            tokens: TokenBook::new(clock),
            tz,
            report: None,
        }
    }

    pub fn with_report(mut self, report: Arc<dyn EnforcementReport>) -> Self {
        self.report = Some(report);
        self
    }

    /// Unix seconds by the dialect's clock.
    pub fn now(&self) -> i64 {
        self.tokens.clock().now_seconds()
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(auth::routes())
        .merge(rules::routes())
        .merge(bulk::routes())
        .merge(status::routes())
        .merge(access::routes())
}
