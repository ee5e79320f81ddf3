//! Chunk sizes under a token bucket.
//!
//! Tokens are taken per chunk, after the chunk is read and before it is written, so a chunk
//! is the unit of shaping: small enough that a slow login's bytes flow smoothly (about
//! sixteen chunks a second) and the shared bucket is split fairly between its connections,
//! large enough that a fast login's relay does few syscalls. An unshaped flow's steps are as
//! large as its path allows (see `gear`).

use crate::limits::TokenBucket;

use super::buffers::SizeClass;
use super::pipe;

/// What an unshaped flow may move per step: the largest copy buffer.
pub(crate) const UNSHAPED: usize = SizeClass::M1.len();

/// The largest shaped chunk: one pipe's worth.
const MAX_SHAPED: usize = pipe::CAPACITY;

/// The smallest chunk, whatever the rate.
const MIN_CHUNK: usize = 1024;

/// Chunks per second a shaped direction is cut into.
const CHUNKS_PER_SECOND: u64 = 16;

/// How many bytes to move at most before taking tokens.
pub(crate) fn chunk(bucket: Option<&TokenBucket>) -> usize {
    let bits_per_second = bucket.map_or(0, TokenBucket::bits_per_second);
    if bits_per_second == 0 {
        return UNSHAPED;
    }
    usize::try_from(bits_per_second / 8 / CHUNKS_PER_SECOND)
        .unwrap_or(MAX_SHAPED)
        .clamp(MIN_CHUNK, MAX_SHAPED)
}

/// Waits until `bytes` may pass (at once without a bucket or with an unlimited one).
pub(crate) async fn take(bucket: Option<&TokenBucket>, bytes: usize) {
    if let Some(bucket) = bucket {
        bucket.take(bytes as u64).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_follows_the_rate() {
        assert_eq!(chunk(None), UNSHAPED);
        assert_eq!(chunk(Some(&TokenBucket::new(0))), UNSHAPED);
        // 1 Mbit/s = 125 000 B/s, sixteen chunks a second.
        assert_eq!(chunk(Some(&TokenBucket::new(1_000_000))), 7812);
        assert_eq!(chunk(Some(&TokenBucket::new(8_000))), MIN_CHUNK);
        assert_eq!(chunk(Some(&TokenBucket::new(10_000_000_000))), MAX_SHAPED);
    }
}
