//! What the plane tells about itself (`GET /api/ip_filter/status`).

use std::sync::{Arc, Mutex};

use kordon_api::ipfilter::status::EnforcementReport;
use kordon_netfilter::ipfilter::IpFilterTable;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
struct State {
    table: String,
    hooks: Vec<&'static str>,
    kernel_active: bool,
    kernel_reason: String,
    kernel_elements: usize,
    permits: usize,
    blocks: usize,
    in_process: bool,
}

/// Shared between the plane's services and the API.
#[derive(Debug, Clone)]
pub struct PlaneReport {
    state: Arc<Mutex<State>>,
}

impl PlaneReport {
    pub fn new(table: &IpFilterTable, kernel_enabled: bool) -> Self {
        let reason = if kernel_enabled {
            "starting"
        } else {
            "disabled by the ipfilter_nft setting"
        };
        Self {
            state: Arc::new(Mutex::new(State {
                table: format!("inet {}", table.name),
                hooks: table.hooks.iter().map(|h| h.name()).collect(),
                kernel_active: false,
                kernel_reason: reason.into(),
                kernel_elements: 0,
                permits: 0,
                blocks: 0,
                in_process: false,
            })),
        }
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn kernel_active(&self, elements: usize) {
        self.update(|s| {
            s.kernel_active = true;
            s.kernel_reason.clear();
            s.kernel_elements = elements;
        });
    }

    pub fn kernel_inactive(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.update(|s| {
            s.kernel_active = false;
            s.kernel_reason = reason;
            s.kernel_elements = 0;
        });
    }

    pub fn in_process(&self, running: bool, (permits, blocks): (usize, usize)) {
        self.update(|s| {
            s.in_process = running;
            s.permits = permits;
            s.blocks = blocks;
        });
    }
}

impl EnforcementReport for PlaneReport {
    fn report(&self) -> Value {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        json!({
            "kernel": {
                "active": s.kernel_active,
                "table": s.table,
                "hooks": s.hooks,
                "elements": s.kernel_elements,
                "reason": s.kernel_reason,
            },
            "in_process": {
                "active": s.in_process,
                "permit_elements": s.permits,
                "block_elements": s.blocks,
            },
        })
    }
}
