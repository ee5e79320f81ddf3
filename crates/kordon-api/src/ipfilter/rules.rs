//! `GET /api/ip_filter/list`, `GET /api/ip_filter/show`, `POST /api/ip_filter/create`,
//! `/update`, `/destroy`. List and show answer POST too; every call takes its parameters from
//! the query string or the body.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use kordon_model::coerce::Input;
use kordon_model::ipfilter::input::read_rule;
use kordon_model::ipfilter::RuleSpec;
use kordon_store::ipfilter::list::{RulePage, RuleSort};
use serde_json::{json, Map};

use super::auth::session;
use super::params::Params;
use super::reply::{self, IpFilterError, IpFilterResult};
use super::view::{rule_json, rule_view};
use crate::AppState;

/// Page size when the call gives none, and the largest accepted.
pub const PAGESIZE_DEFAULT: i64 = 100;
pub const PAGESIZE_MAX: i64 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/ip_filter/list", get(list).post(list))
        .route("/api/ip_filter/show", get(show).post(show))
        .route("/api/ip_filter/create", post(create))
        .route("/api/ip_filter/update", post(update))
        .route("/api/ip_filter/destroy", post(destroy))
}

/// The `id` of a rule: the document sends a string; a number is accepted too.
fn read_id(input: &mut Input) -> Option<i64> {
    let raw = input.req_str("id")?;
    match raw.trim().parse::<i64>() {
        Ok(id) if id > 0 => Some(id),
        _ => {
            input.error(
                "id",
                format!("\"{raw}\" is not a rule id (a positive integer)."),
            );
            None
        }
    }
}

/// `sort_by`: `DEFAULT` or `Optional` (by id) or a field name (`id`, `ip`, `type`, `expires_time`), with a
/// leading `-` for descending order.
fn read_sort(input: &mut Input) -> (String, RuleSort, bool) {
    let text = input
        .opt_str("sort_by")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "DEFAULT".into());
    // The document lists "DEFAULT" and "Optional" without saying what the second sorts by;
    // both are the default order.
    if text.eq_ignore_ascii_case("DEFAULT") || text.eq_ignore_ascii_case("Optional") {
        return (text.clone(), RuleSort::Id, false);
    }
    let (descending, name) = match text.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, text.as_str()),
    };
    match RuleSort::from_name(name) {
        Some(sort) => (text.clone(), sort, descending),
        None => {
            let names: Vec<&str> = RuleSort::NAMES.iter().map(|(n, _)| *n).collect();
            input.error(
                "sort_by",
                format!(
                    "Cannot sort by \"{text}\"; use DEFAULT or one of {} (a leading - sorts descending).",
                    names.join(", ")
                ),
            );
            ("DEFAULT".into(), RuleSort::Id, false)
        }
    }
}

fn read_bounded(input: &mut Input, field: &str, default: i64, max: i64) -> i64 {
    match input.opt_int(field) {
        None => default,
        Some(n) if (1..=max).contains(&n) => n,
        Some(_) => {
            input.error(field, format!("Must be an integer between 1 and {max}."));
            default
        }
    }
}

async fn list(State(state): State<AppState>, params: Params) -> IpFilterResult {
    session(&state, &params).await?;
    let mut input = params.input();
    let pagination = read_bounded(&mut input, "pagination", 1, 1_000_000_000);
    let pagesize = read_bounded(&mut input, "pagesize", PAGESIZE_DEFAULT, PAGESIZE_MAX);
    let (sort_by, sort, descending) = read_sort(&mut input);
    input.check()?;
    let page = RulePage {
        page: pagination,
        pagesize,
        sort,
        descending,
    };
    let now = state.ipfilter.now();
    let (total, rules) = state.store.list_ipfilter_rules(&page, now).await?;
    let tz = state.ipfilter.tz;
    let views: Vec<_> = rules.iter().map(|r| rule_view(r, tz)).collect();
    let mut reply = Map::new();
    reply.insert("pagination".into(), json!(pagination));
    reply.insert("pagesize".into(), json!(pagesize));
    reply.insert("sort_by".into(), json!(sort_by));
    reply.insert("page_count".into(), json!(page.page_count(total)));
    reply.insert("count".into(), json!(views.len()));
    reply.insert("total".into(), json!(total));
    reply.insert("ip_filters".into(), json!(views));
    Ok(reply::success(reply))
}

async fn show(State(state): State<AppState>, params: Params) -> IpFilterResult {
    session(&state, &params).await?;
    let mut input = params.input();
    let id = read_id(&mut input);
    input.check()?;
    let id = id.ok_or_else(|| IpFilterError::Internal("checked id missing".into()))?;
    let rule = state.store.ipfilter_rule(id, state.ipfilter.now()).await?;
    Ok(reply::success_value(rule_json(&rule, state.ipfilter.tz)))
}

/// Reads a rule's fields from the call.
fn read_spec(state: &AppState, input: &mut Input) -> Option<RuleSpec> {
    read_rule(input, state.ipfilter.tz, state.ipfilter.now())
}

async fn create(State(state): State<AppState>, params: Params) -> IpFilterResult {
    let session = session(&state, &params).await?;
    let mut input = params.input();
    let spec = read_spec(&state, &mut input);
    input.check()?;
    let spec = spec.ok_or_else(|| IpFilterError::Internal("checked rule missing".into()))?;
    let rule = state
        .store
        .create_ipfilter_rule(&spec, state.ipfilter.now())
        .await?;
    tracing::info!(id = rule.id, network = %rule.network, kind = rule.kind.code(),
                   user = session.user_id, "ipfilter rule created");
    Ok(reply::success_value(rule_json(&rule, state.ipfilter.tz)))
}

async fn update(State(state): State<AppState>, params: Params) -> IpFilterResult {
    let session = session(&state, &params).await?;
    let mut input = params.input();
    let id = read_id(&mut input);
    let spec = read_spec(&state, &mut input);
    input.check()?;
    let (Some(id), Some(spec)) = (id, spec) else {
        return Err(IpFilterError::Internal("checked fields missing".into()));
    };
    let rule = state
        .store
        .update_ipfilter_rule(id, &spec, state.ipfilter.now())
        .await?;
    tracing::info!(id, network = %rule.network, kind = rule.kind.code(),
                   user = session.user_id, "ipfilter rule updated");
    Ok(reply::success_value(rule_json(&rule, state.ipfilter.tz)))
}

async fn destroy(State(state): State<AppState>, params: Params) -> IpFilterResult {
    let session = session(&state, &params).await?;
    let mut input = params.input();
    let id = read_id(&mut input);
    input.check()?;
    let id = id.ok_or_else(|| IpFilterError::Internal("checked id missing".into()))?;
    state
        .store
        .delete_ipfilter_rule(id, state.ipfilter.now())
        .await?;
    tracing::info!(id, user = session.user_id, "ipfilter rule destroyed");
    Ok(reply::success_value(json!({ "id": id.to_string() })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sort_names() {
        let mut input = Input::from_value(json!({"sort_by": "-ip"}));
        assert_eq!(read_sort(&mut input), ("-ip".into(), RuleSort::Ip, true));
        let mut input = Input::from_value(json!({}));
        assert_eq!(read_sort(&mut input).1, RuleSort::Id);
        let mut input = Input::from_value(json!({"sort_by": "Optional"}));
        read_sort(&mut input);
        assert!(!input.errors().has("sort_by"), "the document's other value");
        let mut input = Input::from_value(json!({"sort_by": "colour"}));
        read_sort(&mut input);
        assert!(input.errors().has("sort_by"));
    }
}
