//! A rule as the dialect shows it: id as a string, network address, dotted mask,
//! `expires_time` in the server's zone (empty for a permanent block), numeric type.

use chrono_tz::Tz;
use kordon_model::ipfilter::{mask, time};
use kordon_store::ipfilter::IpFilterRule;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct RuleView {
    pub id: String,
    pub ip: String,
    pub mask: String,
    pub expires_time: String,
    #[serde(rename = "type")]
    pub kind: i64,
    pub description: String,
}

pub fn rule_view(rule: &IpFilterRule, tz: Tz) -> RuleView {
    RuleView {
        id: rule.id.to_string(),
        ip: rule.network.addr().to_string(),
        mask: mask::mask_text(&rule.network),
        expires_time: rule
            .expires_at
            .map(|at| time::format(at, tz))
            .unwrap_or_default(),
        kind: rule.kind.code(),
        description: rule.description.clone(),
    }
}

pub fn rule_json(rule: &IpFilterRule, tz: Tz) -> serde_json::Value {
    serde_json::to_value(rule_view(rule, tz)).unwrap_or_default()
}
