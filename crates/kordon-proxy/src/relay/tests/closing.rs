//! How relays end: half-close each way, the stop token, the idle timeout, a reset.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::{finished, on_both_engines, read_all, start, Setup};
use crate::relay::{Engine, RelayEnd, RelayError};

on_both_engines!(
    client_half_close,
    upstream_half_close,
    stop_token_closes_both,
    idle_timeout,
    activity_defers_idle_timeout,
    upstream_reset_ends_both,
);

/// The client finishes sending first; the upstream still answers after seeing the end.
async fn client_half_close(engine: Engine) {
    let mut rig = start(Setup::new(engine)).await;
    rig.client.write_all(b"request").await.unwrap();
    rig.client.shutdown().await.unwrap();
    assert_eq!(read_all(&mut rig.upstream).await, b"request");
    rig.upstream.write_all(b"answer after EOF").await.unwrap();
    rig.upstream.shutdown().await.unwrap();
    assert_eq!(read_all(&mut rig.client).await, b"answer after EOF");
    let totals = finished(rig.relay).await.unwrap();
    assert_eq!(totals.end, RelayEnd::Finished);
    assert_eq!((totals.outbound, totals.inbound), (7, 16));
}

/// The upstream finishes first; the client keeps sending and the upstream gets it.
async fn upstream_half_close(engine: Engine) {
    let mut rig = start(Setup::new(engine)).await;
    rig.upstream.write_all(b"banner").await.unwrap();
    rig.upstream.shutdown().await.unwrap();
    assert_eq!(read_all(&mut rig.client).await, b"banner");
    rig.client.write_all(b"still talking").await.unwrap();
    rig.client.shutdown().await.unwrap();
    assert_eq!(read_all(&mut rig.upstream).await, b"still talking");
    let totals = finished(rig.relay).await.unwrap();
    assert_eq!(totals.end, RelayEnd::Finished);
    assert_eq!((totals.outbound, totals.inbound), (13, 6));
}

/// Cancelling the stop token ends the relay at once and both peers see the connection end.
async fn stop_token_closes_both(engine: Engine) {
    let mut rig = start(Setup::new(engine)).await;
    rig.client.write_all(b"x").await.unwrap();
    let mut byte = [0u8; 1];
    rig.upstream.read_exact(&mut byte).await.unwrap();
    let cancelled = Instant::now();
    rig.stop.cancel();
    let totals = finished(rig.relay).await.unwrap();
    assert!(cancelled.elapsed() < Duration::from_secs(1));
    assert_eq!(totals.end, RelayEnd::Stopped);
    assert_eq!(totals.outbound, 1);
    assert_eq!(read_all(&mut rig.client).await, b"");
    assert_eq!(read_all(&mut rig.upstream).await, b"");
}

async fn idle_timeout(engine: Engine) {
    let mut setup = Setup::new(engine);
    setup.idle_timeout = Some(Duration::from_millis(300));
    let mut rig = start(setup).await;
    let started = Instant::now();
    let totals = finished(rig.relay).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(totals.end, RelayEnd::IdleTimeout);
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(read_all(&mut rig.client).await, b"");
}

/// Bytes in either direction push the idle deadline back.
async fn activity_defers_idle_timeout(engine: Engine) {
    let mut setup = Setup::new(engine);
    setup.idle_timeout = Some(Duration::from_millis(400));
    let mut rig = start(setup).await;
    let started = Instant::now();
    let mut byte = [0u8; 1];
    for round in 0..8 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        if round % 2 == 0 {
            rig.client.write_all(b"c").await.unwrap();
            rig.upstream.read_exact(&mut byte).await.unwrap();
        } else {
            rig.upstream.write_all(b"u").await.unwrap();
            rig.client.read_exact(&mut byte).await.unwrap();
        }
    }
    assert!(!rig.relay.is_finished(), "ended while bytes flowed");
    let totals = finished(rig.relay).await.unwrap();
    assert_eq!(totals.end, RelayEnd::IdleTimeout);
    assert!(started.elapsed() >= Duration::from_millis(1_500));
    assert_eq!((totals.outbound, totals.inbound), (4, 4));
}

/// An upstream reset ends the relay with an upstream error, and the client's connection ends.
async fn upstream_reset_ends_both(engine: Engine) {
    let mut rig = start(Setup::new(engine)).await;
    rig.upstream.write_all(b"partial").await.unwrap();
    let mut got = [0u8; 7];
    rig.client.read_exact(&mut got).await.unwrap();
    // Zero linger: close sends RST instead of FIN.
    socket2::SockRef::from(&rig.upstream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(rig.upstream);
    let result = finished(rig.relay).await;
    match result {
        Err(RelayError::Upstream(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}")
        }
        other => panic!("expected an upstream reset, got {other:?}"),
    }
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), rig.client.read_to_end(&mut rest))
        .await
        .expect("client connection still open");
    // FIN or RST, depending on whether the relay had unread bytes; never data.
    assert!(ended.is_err() || rest.is_empty());
}
