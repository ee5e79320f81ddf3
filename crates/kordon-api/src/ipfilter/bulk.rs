//! Bulk import and export of rules (extension), for operators who load blocklists.
//!
//! `POST /api/ip_filter/import` takes either JSON (`{"ip_filters": [rule, …]}` or a bare
//! array, each rule as `create` takes it) or text: one rule per line as
//! `ip[/prefix],mask,type,expires_time,description` (the export's CSV), or a bare address or
//! network per line as blocklists are published (`#` and `;` start comments), typed by the
//! query's `type`, `expires_time` and `description`. Every rule is checked before any is
//! stored, and the import is one transaction. `duplicates=skip` leaves out rules already
//! stored instead of failing.
//!
//! `GET /api/ip_filter/export?format=json|csv` streams every alive rule in id order.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{HeaderValue, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use kordon_model::coerce::Input;
use kordon_model::ipfilter::input::read_rule;
use kordon_model::ipfilter::RuleSpec;
use kordon_model::FieldErrors;
use kordon_store::ipfilter::bulk::Duplicates;
use serde_json::{json, Map, Value};

use super::auth::session;
use super::params::{merge, query_object, Params};
use super::reply::{self, IpFilterError, IpFilterResult};
use super::view::rule_view;
use crate::AppState;

/// The largest import body (a million CSV lines is about 50 MB).
const MAX_IMPORT: usize = 512 * 1024 * 1024;
/// Errors reported at most per import.
const MAX_ERRORS: usize = 100;
/// Rules read from the store per export step.
const EXPORT_CHUNK: i64 = 5000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/ip_filter/import", post(import))
        .route("/api/ip_filter/export", get(export).post(export))
}

/// Where a rule of an import came from, to name it in errors.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// Index in a JSON list.
    Item(usize),
    /// 1-based line of a text import.
    Line(usize),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Item(index) => write!(f, "ip_filters[{index}]"),
            Origin::Line(line) => write!(f, "line[{line}]"),
        }
    }
}

type Items<'a> = Box<dyn Iterator<Item = (Origin, Value)> + 'a>;

/// The import body's rule objects, made one at a time (a million rules never exist as JSON
/// objects all at once when they come as text).
fn items<'a>(bytes: &'a [u8], defaults: &'a Map<String, Value>) -> IpFilterResult<Items<'a>> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if matches!(first, Some(b'{') | Some(b'[')) {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| IpFilterError::Malformed(format!("JSON parse error - {e}")))?;
        let list = match value {
            Value::Array(list) => list,
            Value::Object(mut fields) => match fields.remove("ip_filters") {
                Some(Value::Array(list)) => list,
                _ => {
                    return Err(IpFilterError::field(
                        "ip_filters",
                        "Expected an array of rules.",
                    ))
                }
            },
            _ => {
                return Err(IpFilterError::Malformed(
                    "Expected a JSON object or array.".into(),
                ))
            }
        };
        return Ok(Box::new(
            list.into_iter()
                .enumerate()
                .map(|(i, item)| (Origin::Item(i), item)),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| IpFilterError::Malformed("The import text is not UTF-8.".into()))?;
    Ok(Box::new(text.lines().enumerate().filter_map(
        move |(i, line)| line_item(line, defaults).map(|item| (Origin::Line(i + 1), item)),
    )))
}

/// One text line as a rule object; `None` for blank, comment and header lines.
fn line_item(line: &str, defaults: &Map<String, Value>) -> Option<Value> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
        return None;
    }
    if line.contains(',') {
        let mut parts = line.splitn(5, ',').map(str::trim);
        let ip = parts.next().unwrap_or_default();
        if ip.eq_ignore_ascii_case("ip") {
            return None;
        }
        let mut item = defaults.clone();
        item.insert("ip".into(), json!(ip));
        for field in ["mask", "type", "expires_time", "description"] {
            if let Some(value) = parts.next() {
                item.insert(field.into(), json!(value));
            }
        }
        return Some(Value::Object(item));
    }
    let address = line
        .split(['#', ';'])
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .next()?;
    let mut item = defaults.clone();
    item.insert("ip".into(), json!(address));
    if !address.contains('/') {
        // A bare address is one host.
        let host = if address.contains(':') { "128" } else { "32" };
        item.insert("mask".into(), json!(host));
    }
    Some(Value::Object(item))
}

/// Checks every item; all rules, or the errors (at most [`MAX_ERRORS`]).
fn check_items(state: &AppState, items: Items<'_>) -> IpFilterResult<Vec<RuleSpec>> {
    let now = state.ipfilter.now();
    let tz = state.ipfilter.tz;
    let mut specs = Vec::new();
    let mut errors = FieldErrors::new();
    let mut failed = 0usize;
    for (origin, item) in items {
        let mut input = Input::from_value(item);
        match read_rule(&mut input, tz, now) {
            Some(spec) if failed == 0 => specs.push(spec),
            Some(_) => {}
            None => {
                failed += 1;
                if failed <= MAX_ERRORS {
                    for (field, messages) in input.into_errors().fields() {
                        for message in messages {
                            errors.add(&format!("{origin}.{field}"), message.clone());
                        }
                    }
                }
            }
        }
    }
    if failed > 0 {
        if failed > MAX_ERRORS {
            errors.add(
                "ip_filters",
                format!("{failed} rules are invalid; the first {MAX_ERRORS} are listed."),
            );
        }
        return Err(IpFilterError::Invalid(errors));
    }
    if specs.is_empty() {
        return Err(IpFilterError::field("ip_filters", "No rule to import."));
    }
    Ok(specs)
}

fn read_duplicates(params: &Params) -> IpFilterResult<Duplicates> {
    match params.0.get("duplicates").and_then(Value::as_str) {
        None | Some("refuse") => Ok(Duplicates::Refuse),
        Some("skip") => Ok(Duplicates::Skip),
        Some(other) => Err(IpFilterError::field(
            "duplicates",
            format!("\"{other}\" is not a choice; use refuse or skip."),
        )),
    }
}

async fn import(State(state): State<AppState>, request: Request) -> IpFilterResult {
    let query = query_object(request.uri().query())?;
    let bytes: Bytes = axum::body::to_bytes(request.into_body(), MAX_IMPORT)
        .await
        .map_err(|e| IpFilterError::Malformed(format!("Cannot read body - {e}")))?;
    // The token and options may also be members of a JSON object body.
    let mut params = merge(query.clone(), json!({}))?;
    if bytes.first() == Some(&b'{') {
        if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&bytes) {
            for key in ["access_token", "duplicates"] {
                if let Some(value) = fields.get(key) {
                    params.0.insert(key.into(), value.clone());
                }
            }
        }
    }
    let session = session(&state, &params).await?;
    let duplicates = read_duplicates(&params)?;
    let mut defaults = Map::new();
    defaults.insert("type".into(), json!(0));
    for key in ["type", "expires_time", "description"] {
        if let Some(value) = query.get(key) {
            defaults.insert(key.into(), value.clone());
        }
    }
    let specs = check_items(&state, items(&bytes, &defaults)?)?;
    let outcome = state
        .store
        .import_ipfilter_rules(&specs, duplicates, state.ipfilter.now())
        .await?;
    tracing::info!(
        created = outcome.created,
        skipped = outcome.skipped,
        user = session.user_id,
        "ipfilter rules imported"
    );
    Ok(reply::success_value(
        json!({ "created": outcome.created, "skipped": outcome.skipped }),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

async fn export(State(state): State<AppState>, params: Params) -> IpFilterResult {
    session(&state, &params).await?;
    let format = match params.0.get("format").and_then(Value::as_str) {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(IpFilterError::field(
                "format",
                format!("\"{other}\" is not a format; use json or csv."),
            ))
        }
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(stream_rules(state, format, sender));
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let mut response = Body::from_stream(stream).into_response();
    let content_type = match format {
        Format::Json => "application/json",
        Format::Csv => "text/csv; charset=utf-8",
    };
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

/// Writes the export chunk by chunk; a store failure ends the stream early (the client sees
/// a truncated body) and is logged.
async fn stream_rules(
    state: AppState,
    format: Format,
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let (head, tail) = match format {
        Format::Json => (
            "{\"errcode\":0,\"errmsg\":\"SUCCESS\",\"ip_filters\":[",
            "]}\n",
        ),
        Format::Csv => ("ip,mask,type,expires_time,description\n", ""),
    };
    if sender.send(Ok(Bytes::from(head))).await.is_err() {
        return;
    }
    let now = state.ipfilter.now();
    let tz = state.ipfilter.tz;
    let mut after = 0;
    let mut first = true;
    loop {
        let rules = match state
            .store
            .ipfilter_rules_after(after, EXPORT_CHUNK, now)
            .await
        {
            Ok(rules) => rules,
            Err(error) => {
                tracing::error!(%error, "ipfilter export failed");
                let _ = sender
                    .send(Err(std::io::Error::other("export failed")))
                    .await;
                return;
            }
        };
        let Some(last) = rules.last() else { break };
        after = last.id;
        let mut chunk = String::with_capacity(rules.len() * 96);
        for rule in &rules {
            let view = rule_view(rule, tz);
            match format {
                Format::Json => {
                    if !first {
                        chunk.push(',');
                    }
                    chunk.push_str(&serde_json::to_string(&view).unwrap_or_default());
                }
                Format::Csv => {
                    let ip = rule.network.addr();
                    chunk.push_str(&format!(
                        "{ip},{},{},{},{}\n",
                        view.mask, view.kind, view.expires_time, view.description
                    ));
                }
            }
            first = false;
        }
        if sender.send(Ok(Bytes::from(chunk))).await.is_err() {
            return;
        }
    }
    let _ = sender.send(Ok(Bytes::from(tail))).await;
}
