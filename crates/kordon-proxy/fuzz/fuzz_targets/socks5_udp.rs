//! UDP ASSOCIATE datagrams: no panic, the payload is the input's tail, and an IP destination
//! re-encodes to the same header.
#![no_main]

use kordon_proxy::protocol::socks5::{encode_udp_header, parse_udp_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(datagram) = parse_udp_datagram(data) else {
        return;
    };
    assert!(data.ends_with(datagram.data));
    if let Some(addr) = datagram.destination.socket_addr() {
        let mut out = Vec::new();
        encode_udp_header(addr, &mut out);
        out.extend_from_slice(datagram.data);
        let again = parse_udp_datagram(&out).expect("own encoding parses");
        assert_eq!(again.destination.socket_addr(), Some(addr));
        assert_eq!(again.data, datagram.data);
    }
});
