//! The greeting and the username/password sub-negotiation: no panic, never more consumed
//! than given, and the consumed prefix alone parses to the same value.
#![no_main]

use kordon_proxy::protocol::socks5::{parse_auth, parse_greeting};
use kordon_proxy::protocol::Progress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Progress::Done { value, consumed }) = parse_greeting(data) {
        assert!(consumed <= data.len());
        assert_eq!(
            parse_greeting(&data[..consumed]),
            Ok(Progress::Done { value, consumed })
        );
    }
    if let Ok(Progress::Done { value, consumed }) = parse_auth(data) {
        assert!(consumed <= data.len());
        assert_eq!(
            parse_auth(&data[..consumed]),
            Ok(Progress::Done { value, consumed })
        );
    }
});
