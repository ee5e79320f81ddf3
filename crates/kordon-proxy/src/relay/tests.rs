//! Relay tests on real loopback sockets. Every relay test runs on both engines (splice and
//! the buffered fallback).

mod bench;
mod closing;
mod integrity;
mod shaping;
mod support;
