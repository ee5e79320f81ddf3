//! Prometheus metrics: request counts and latencies per route, the proxy plane's counters as
//! last flushed to the store (read at scrape time), and counters planes keep only in memory
//! ([`LiveCounters`], read at scrape time too), served at `GET /metrics` to allowed networks
//! (loopback by default) or to any caller with a valid API key.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kordon_store::proxy_counters::{CounterListing, ListedProxyCounters, REFUSAL_REASONS};
use kordon_store::Scope;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::farm::auth::token_from_headers;
use crate::farm::reply::ApiError;
use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~8 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 15,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kordon");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_requests",
            "API requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "API request latency by method and route",
            latency.clone(),
        );
        Self {
            registry,
            requests,
            latency,
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The registry, the proxy counters and the live counters in the OpenMetrics text format.
    pub fn render(&self, proxy_counters: CounterListing, live: Vec<LiveCounter>) -> String {
        // These counters live in the store or in a plane, not in this registry: a registry made
        // per scrape holds them, encoded after the request metrics and before the one `# EOF`.
        let mut scrape = Registry::with_prefix("kordon");
        scrape.register_collector(Box::new(ProxyCountersCollector(proxy_counters)));
        scrape.register_collector(Box::new(LiveCountersCollector(live)));
        let mut out = String::new();
        let encoded = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &scrape))
            .and_then(|()| encode_eof(&mut out));
        if encoded.is_err() {
            out.clear();
        }
        out
    }
}

/// A label value: a number, or text escaped as the exposition format requires (prometheus-client
/// writes label values as given).
#[derive(Clone, Copy)]
enum Label<'a> {
    Int(i64),
    Text(&'a str),
}

impl EncodeLabelValue for Label<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        match self {
            Label::Int(n) => write!(encoder, "{n}"),
            Label::Text(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => encoder.write_str("\\\\")?,
                        '"' => encoder.write_str("\\\"")?,
                        '\n' => encoder.write_str("\\n")?,
                        other => encoder.write_char(other)?,
                    }
                }
                Ok(())
            }
        }
    }
}

type Labels<'a, const N: usize> = [(&'static str, Label<'a>); N];

/// Writes one family: its `HELP`/`TYPE` lines once, then a sample per label set. Stored
/// values are never negative; a negative one would be a bug upstream and is shown as 0 rather
/// than break the counter's monotonicity rules for the scraper.
fn encode_family<'a, const N: usize>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl Iterator<Item = (Labels<'a, N>, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        let value = u64::try_from(value).unwrap_or(0);
        let mut sample = family.encode_family(&labels)?;
        match kind {
            MetricType::Counter => sample.encode_counter::<NoLabelSet, u64, u64>(&value, None)?,
            _ => sample.encode_gauge(&value)?,
        }
    }
    Ok(())
}

/// One counter a plane keeps in memory rather than in the store: shown as
/// `kordon_<name>_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveCounter {
    pub name: &'static str,
    pub help: &'static str,
    pub value: u64,
}

/// A source of in-memory counters, read at every scrape. The API cannot know the planes'
/// types, so the binary adapts a plane's counters to this.
pub trait LiveCounters: Send + Sync {
    fn read(&self) -> Vec<LiveCounter>;
}

/// The live counters of one scrape.
#[derive(Debug)]
struct LiveCountersCollector(Vec<LiveCounter>);

impl Collector for LiveCountersCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for counter in &self.0 {
            encoder
                .encode_descriptor(counter.name, counter.help, None, MetricType::Counter)?
                .encode_counter::<NoLabelSet, u64, u64>(&counter.value, None)?;
        }
        Ok(())
    }
}

/// The proxy plane's counters of one scrape, as Prometheus families.
#[derive(Debug)]
struct ProxyCountersCollector(CounterListing);

/// The `proxy` and `port` labels of a profile's series.
fn profile_labels(p: &ListedProxyCounters) -> Labels<'_, 2> {
    [
        ("proxy", Label::Int(p.counters.proxy_id)),
        ("port", Label::Int(p.listen_port)),
    ]
}

fn direction(name: &'static str) -> (&'static str, Label<'static>) {
    ("direction", Label::Text(name))
}

impl Collector for ProxyCountersCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let proxies = &self.0.proxies;
        let logins = &self.0.logins;
        encode_family(
            &mut encoder,
            "proxy_bytes",
            "Bytes relayed by proxy profile (in: internet to client, out: client to internet)",
            MetricType::Counter,
            proxies.iter().flat_map(|p| {
                let [proxy, port] = profile_labels(p);
                [
                    ([proxy, port, direction("in")], p.counters.bytes_in),
                    ([proxy, port, direction("out")], p.counters.bytes_out),
                ]
            }),
        )?;
        encode_family(
            &mut encoder,
            "proxy_connections",
            "Connections relayed by proxy profile",
            MetricType::Counter,
            proxies
                .iter()
                .map(|p| (profile_labels(p), p.counters.connections)),
        )?;
        encode_family(
            &mut encoder,
            "proxy_open_connections",
            "Connections open by proxy profile at the last flush",
            MetricType::Gauge,
            proxies.iter().map(|p| (profile_labels(p), p.counters.open)),
        )?;
        encode_family(
            &mut encoder,
            "proxy_refusals",
            "Connections refused by proxy profile and reason",
            MetricType::Counter,
            proxies.iter().flat_map(|p| {
                let [proxy, port] = profile_labels(p);
                refusal_counts(&p.counters.refusals).map(move |(reason, count)| {
                    ([proxy, port, ("reason", Label::Text(reason))], count)
                })
            }),
        )?;
        encode_family(
            &mut encoder,
            "proxy_login_bytes",
            "Bytes relayed by proxy login (in: internet to client, out: client to internet)",
            MetricType::Counter,
            logins.iter().flat_map(|l| {
                let login = ("login", Label::Text(&l.login));
                [
                    ([login, direction("in")], l.counters.bytes_in),
                    ([login, direction("out")], l.counters.bytes_out),
                ]
            }),
        )?;
        encode_family(
            &mut encoder,
            "proxy_login_connections",
            "Connections relayed by proxy login",
            MetricType::Counter,
            logins
                .iter()
                .map(|l| ([("login", Label::Text(&l.login))], l.counters.connections)),
        )
    }
}

/// Every known reason (zeros included, so each series exists from the start), then any other
/// stored one.
fn refusal_counts(
    stored: &std::collections::BTreeMap<String, i64>,
) -> impl Iterator<Item = (&str, i64)> {
    let known = REFUSAL_REASONS
        .iter()
        .map(|reason| (*reason, stored.get(*reason).copied().unwrap_or(0)));
    let others = stored
        .iter()
        .filter(|(reason, _)| !REFUSAL_REASONS.contains(&reason.as_str()))
        .map(|(reason, count)| (reason.as_str(), *count));
    known.chain(others)
}

/// Middleware: times every request and counts it under its route pattern (never the raw path,
/// so ids do not explode the label set).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

async fn render(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let allowed_network = state
        .config
        .metrics_allow
        .iter()
        .any(|net| net.contains(&peer.ip()));
    let allowed = allowed_network
        || match token_from_headers(&headers) {
            Some(key) => matches!(state.store.user_by_key(&key).await, Ok(Some(_))),
            None => false,
        };
    if !allowed {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                serde_json::json!({"detail": "Authentication credentials were not provided."}),
            ),
        )
            .into_response();
    }
    let proxy_counters = match state.store.proxy_counter_listing(Scope::All, None).await {
        Ok(listing) => listing,
        // A scrape without the proxy families would look like counters reset to nothing.
        Err(error) => return ApiError::from(error).into_response(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(
            proxy_counters,
            state
                .live_counters
                .iter()
                .flat_map(|source| source.read())
                .collect(),
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_labels_are_escaped() {
        let mut registry = Registry::default();
        let listing = CounterListing {
            logins: vec![kordon_store::proxy_counters::ListedLoginCounters {
                login: "a\"b\\c\nd".to_string(),
                counters: Default::default(),
            }],
            ..Default::default()
        };
        registry.register_collector(Box::new(ProxyCountersCollector(listing)));
        let mut out = String::new();
        encode_registry(&mut out, &registry).unwrap();
        assert!(
            out.contains(r#"proxy_login_connections_total{login="a\"b\\c\nd"} 0"#),
            "{out}"
        );
    }

    #[test]
    fn live_counters_are_counters_before_the_end_marker() {
        let live = vec![
            LiveCounter {
                name: "proxy_dns_cache_hits",
                help: "Answered from the cache",
                value: 3,
            },
            LiveCounter {
                name: "proxy_dns_cache_misses",
                help: "Asked on the wire",
                value: 1,
            },
        ];
        let text = Metrics::new().render(CounterListing::default(), live);
        assert!(
            text.contains("# TYPE kordon_proxy_dns_cache_hits counter\n")
                && text.contains("\nkordon_proxy_dns_cache_hits_total 3\n")
                && text.contains("\nkordon_proxy_dns_cache_misses_total 1\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
