//! HTTP proxy request heads through everything the listener does with them: classification,
//! credentials, hop-by-hop stripping and the forwarded head, which must parse again.
#![no_main]

use kordon_proxy::protocol::http::{
    body_framing, classify, encode_forward_head, parse_head, proxy_credentials, HeadLimits,
    HopByHop, ProxyRequest,
};
use kordon_proxy::protocol::Progress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = HeadLimits {
        max_head_len: 4096,
        max_headers: 32,
    };
    let Ok(Progress::Done {
        value: head,
        consumed,
    }) = parse_head(data, limits)
    else {
        return;
    };
    assert!(consumed <= data.len() && consumed <= limits.max_head_len);
    let _ = head.wants_keep_alive();
    let _ = proxy_credentials(&head);
    let _ = body_framing(&head);
    let Ok(ProxyRequest::Forward { target, path }) = classify(&head) else {
        return;
    };
    for tunnelling in [false, true] {
        let hop = HopByHop::of(&head, tunnelling);
        let mut out = Vec::new();
        encode_forward_head(&head, &target, &path, &hop, &mut out);
        let big = HeadLimits {
            max_head_len: 1 << 20,
            max_headers: 128,
        };
        let Ok(Progress::Done {
            value: fwd,
            consumed,
        }) = parse_head(&out, big)
        else {
            panic!(
                "forwarded head does not parse: {:?}",
                String::from_utf8_lossy(&out)
            );
        };
        assert_eq!(consumed, out.len());
        assert_eq!(fwd.method, head.method);
        assert!(!fwd
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("proxy-authorization")));
    }
});
