//! The `farm` dialect: the REST API of the mobile-proxy farm document
//! (`/api/auth`, `/api/devices/…`, `/api/proxy/…`, `/api/users/…`, `/api/dashboard/…`).
//!
//! Conventions (see CONTRACTS.md): validation errors are HTTP 200 with
//! `{"errors": {"<field>": ["…"]}}`; missing objects 404 and bad keys 401 with `{"detail"}`;
//! batch actions reply `{"result": "ok"}`; lists are bare arrays or `{"meta", "data"}` as the
//! document shows each.

pub mod auth;
pub mod body;
pub mod reply;

mod catalog;
mod dashboard;
mod history;
mod login;
mod ports;
mod proxies;
mod proxy_ips;
mod proxy_logins;
mod proxy_stats;
mod services;
mod site_lists;
mod users;

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(login::routes())
        .merge(catalog::routes())
        .merge(ports::routes())
        .merge(history::routes())
        .merge(proxies::routes())
        .merge(proxy_logins::routes())
        .merge(proxy_stats::routes())
        .merge(proxy_ips::routes())
        .merge(site_lists::routes())
        .merge(users::routes())
        .merge(services::routes())
        .merge(dashboard::routes())
}
