//! SOCKS5 requests (and SOCKS4/4a, which share the listener): no panic, consumed within the
//! input, and a prefix that is too short asks for more rather than failing differently.
#![no_main]

use kordon_proxy::protocol::socks4::parse_socks4;
use kordon_proxy::protocol::socks5::parse_request;
use kordon_proxy::protocol::Progress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Progress::Done { value, consumed }) = parse_request(data) {
        assert!(consumed <= data.len());
        assert_eq!(
            parse_request(&data[..consumed]),
            Ok(Progress::Done {
                value: value.clone(),
                consumed
            })
        );
        assert_eq!(parse_request(&data[..consumed - 1]), Ok(Progress::NeedMore));
        let _ = value.address.target();
    }
    if let Err(e) = parse_request(data) {
        let _ = e.reply_code();
    }
    if let Ok(Progress::Done { consumed, .. }) = parse_socks4(data) {
        assert!(consumed <= data.len());
    }
});
