//! One chunk through a user-space buffer: the path of bulk flows, and the fallback when the
//! kernel cannot splice.

use std::io;

use super::buffers::{self, SizeClass};
use super::error::RelayError;
use super::flow::Flow;

/// Moves up to `want` bytes (at most one buffer of `class`) from the flow's source to its
/// destination; 0 when the source reached end of stream.
pub(super) async fn step(
    flow: &Flow<'_>,
    class: SizeClass,
    want: usize,
) -> Result<usize, RelayError> {
    let want = want.min(class.len());
    loop {
        flow.src.readable().await.map_err(|e| flow.src_error(e))?;
        // Taken once readable, so a connection waiting for data holds no buffer.
        let mut buffer = buffers::take(class);
        let read = match flow.src.try_read(&mut buffer[..want]) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                buffers::put_back(buffer);
                continue;
            }
            Err(e) => {
                buffers::put_back(buffer);
                return Err(flow.src_error(e));
            }
        };
        if read > 0 {
            flow.tally.touch();
            flow.shape(read).await;
            let sent = flow.send(&buffer[..read]).await;
            buffers::put_back(buffer);
            sent?;
        } else {
            buffers::put_back(buffer);
        }
        return Ok(read);
    }
}
