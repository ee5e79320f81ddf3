//! Relay and HTTP exchange tests on real loopback sockets, with Python's http.server and
//! curl as peers. Every test runs on both engines (splice and the buffered fallback).

mod bench;
mod closing;
mod http_curl;
mod http_raw;
mod http_support;
mod integrity;
mod shaping;
mod support;
