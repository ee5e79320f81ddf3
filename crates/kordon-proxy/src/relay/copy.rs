//! One chunk through a user-space buffer: the fallback when the kernel cannot splice.

use std::io;

use super::error::RelayError;
use super::flow::Flow;
use super::shelf::{self, Shelf};

/// Buffers kept per worker thread between chunks.
const SHELVED_PER_THREAD: usize = 4;

/// Bytes read at most per chunk.
const BUFFER_LEN: usize = 64 * 1024;

thread_local! {
    static BUFFERS: Shelf<Box<[u8]>> = const { Shelf::new(Vec::new()) };
}

fn take_buffer() -> Box<[u8]> {
    shelf::take(&BUFFERS).unwrap_or_else(|| vec![0u8; BUFFER_LEN].into_boxed_slice())
}

fn put_back(buffer: Box<[u8]>) {
    shelf::put(&BUFFERS, buffer, SHELVED_PER_THREAD);
}

/// Moves up to `want` bytes (at most [`BUFFER_LEN`]) from the flow's source to its
/// destination; 0 when the source reached end of stream.
pub(super) async fn step(flow: &Flow<'_>, want: usize) -> Result<usize, RelayError> {
    let want = want.min(BUFFER_LEN);
    loop {
        flow.src.readable().await.map_err(|e| flow.src_error(e))?;
        // Taken once readable, so a connection waiting for data holds no buffer.
        let mut buffer = take_buffer();
        let read = match flow.src.try_read(&mut buffer[..want]) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                put_back(buffer);
                continue;
            }
            Err(e) => {
                put_back(buffer);
                return Err(flow.src_error(e));
            }
        };
        if read > 0 {
            flow.tally.touch();
            flow.shape(read).await;
            let sent = flow.send(&buffer[..read]).await;
            put_back(buffer);
            sent?;
        } else {
            put_back(buffer);
        }
        return Ok(read);
    }
}
