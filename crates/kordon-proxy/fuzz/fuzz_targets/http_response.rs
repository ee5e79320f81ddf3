//! Upstream response bytes through everything the HTTP exchange does with them: the head
//! parse, the plan (framing, keep-alive, the client's head, which must parse again without
//! this hop's fields) and the chunked scanner, which must find the same end however the
//! body is split. The first byte picks the request's properties and the split point.
#![no_main]

use kordon_proxy::protocol::http::BodyFraming;
use kordon_proxy::protocol::Progress;
use kordon_proxy::relay::http_exchange::chunked::Scan;
use kordon_proxy::relay::http_exchange::{
    parse_response_head, plan_response, ChunkedScanner, ForwardRequest, Framing, ResponseLimits,
    ResponsePlan,
};
use libfuzzer_sys::fuzz_target;

/// Fields the client must never receive from upstream.
const HOP_BY_HOP: [&str; 5] = [
    "keep-alive",
    "proxy-connection",
    "te",
    "proxy-authenticate",
    "proxy-authentication-info",
];

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    let request = ForwardRequest {
        upstream_head: b"",
        body: BodyFraming::Empty,
        method_is_head: flags & 1 != 0,
        client_minor_version: (flags >> 1) & 1,
        client_keep_alive: flags & 4 != 0,
        upgrade: flags & 8 != 0,
    };
    let split = usize::from(flags >> 4);
    check_chunked(data, split);
    let limits = ResponseLimits {
        max_head_len: 8192,
        max_headers: 64,
    };
    let Ok(Progress::Done {
        value: plan,
        consumed,
    }) = plan_response(data, &request, limits)
    else {
        return;
    };
    assert!(consumed <= data.len() && consumed <= limits.max_head_len);
    let (head, switching) = match &plan {
        ResponsePlan::Interim { head } => (head, false),
        ResponsePlan::Switch { head } => (head, true),
        ResponsePlan::Final { head, .. } => (head, false),
    };
    if head.is_empty() {
        assert!(matches!(plan, ResponsePlan::Interim { .. }) && request.client_minor_version == 0);
        return;
    }
    let reparsed = parse_response_head(
        head,
        ResponseLimits {
            max_head_len: 1 << 20,
            max_headers: 256,
        },
    );
    let Ok(Progress::Done {
        value: again,
        consumed: again_len,
    }) = reparsed
    else {
        panic!(
            "client head does not parse: {:?} {:?}",
            reparsed,
            String::from_utf8_lossy(head)
        );
    };
    assert_eq!(again_len, head.len());
    for field in &again.headers {
        assert!(
            !HOP_BY_HOP
                .iter()
                .any(|h| field.name.eq_ignore_ascii_case(h)),
            "{} forwarded",
            field.name
        );
        assert!(switching || !field.name.eq_ignore_ascii_case("upgrade"));
    }
    assert!(again.values("connection").count() <= 1);
    if let ResponsePlan::Final {
        framing: Framing::Chunked,
        ..
    } = plan
    {
        check_chunked(&data[consumed..], split);
    }
});

/// Scanning `body` whole and in two pieces gives the same answer.
fn check_chunked(body: &[u8], split: usize) {
    let whole = ChunkedScanner::new().scan(body);
    let cut = split.min(body.len());
    let mut scanner = ChunkedScanner::new();
    let pieces = scanner.scan(&body[..cut]).and_then(|first| {
        if first.done {
            return Ok(first);
        }
        let second = scanner.scan(&body[cut..])?;
        Ok(Scan {
            consumed: first.consumed + second.consumed,
            done: second.done,
        })
    });
    assert_eq!(whole, pieces);
}
