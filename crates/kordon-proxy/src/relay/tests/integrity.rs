//! Bytes arrive intact, in order and counted, both ways at once.

use tokio::io::AsyncWriteExt;

use super::support::{
    finished, on_both_engines, random_bytes, read_all, send_and_finish, sha256, start, Setup,
};
use crate::relay::{Engine, RelayEnd};

on_both_engines!(large_payloads_both_ways, leftover_goes_upstream_first);

/// 24 MiB up and 24 MiB down at the same time, compared by checksum; totals and meter agree.
async fn large_payloads_both_ways(engine: Engine) {
    const LEN: usize = 24 << 20;
    let up = random_bytes(LEN);
    let down = random_bytes(LEN + 12_345);
    let rig = start(Setup::new(engine)).await;
    let (client_read, client_write) = rig.client.into_split();
    let (upstream_read, upstream_write) = rig.upstream.into_split();
    let ((), (), got_up, got_down) = tokio::join!(
        send_and_finish(client_write, &up),
        send_and_finish(upstream_write, &down),
        read_all(upstream_read),
        read_all(client_read),
    );
    assert_eq!(got_up.len(), up.len());
    assert_eq!(sha256(&got_up), sha256(&up));
    assert_eq!(got_down.len(), down.len());
    assert_eq!(sha256(&got_down), sha256(&down));
    let totals = finished(rig.relay).await.unwrap();
    assert_eq!(totals.end, RelayEnd::Finished);
    assert_eq!(totals.outbound, up.len() as u64);
    assert_eq!(totals.inbound, down.len() as u64);
    assert_eq!(rig.meter.counts(), (up.len() as u64, down.len() as u64));
    // Counted per chunk as bytes flow, not once at the end: a chunk is at most 1 MiB, so
    // each direction's 24 MiB are at least 24 counts.
    assert!(rig.meter.calls.load(std::sync::atomic::Ordering::Relaxed) >= 48);
}

/// Bytes the client sent with its request head reach upstream before anything relayed.
async fn leftover_goes_upstream_first(engine: Engine) {
    let mut setup = Setup::new(engine);
    setup.leftover = b"GET / HTTP/1.1\r\n".to_vec();
    let mut rig = start(setup).await;
    rig.client.write_all(b"Host: a\r\n\r\n").await.unwrap();
    rig.client.shutdown().await.unwrap();
    let got = read_all(&mut rig.upstream).await;
    assert_eq!(got, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    rig.upstream.shutdown().await.unwrap();
    let totals = finished(rig.relay).await.unwrap();
    assert_eq!((totals.outbound, totals.inbound), (got.len() as u64, 0));
    assert_eq!(rig.meter.counts(), (got.len() as u64, 0));
}
