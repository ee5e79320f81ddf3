//! One chunk through a pipe with splice(2): socket to pipe, tokens, pipe to socket. The bytes
//! stay in the kernel.

use std::io;
use std::os::fd::AsRawFd;

use tokio::io::Interest;

use super::error::RelayError;
use super::flow::Flow;
use super::pipe::{self, Pipe};

/// What a splice step did.
pub(super) enum Spliced {
    /// This many bytes went through (0: the source reached end of stream).
    Moved(usize),
    /// The kernel cannot splice this source: copy from now on.
    Unsupported,
    /// No pipe could be had (descriptor limit): copy this chunk.
    NoPipe,
}

/// What the read half of a step got once the source was readable.
enum Fill {
    Filled(Pipe, usize),
    Unsupported,
    NoPipe,
}

/// Moves up to `want` bytes (at most one pipe) from the flow's source to its destination.
pub(super) async fn step(flow: &Flow<'_>, want: usize) -> Result<Spliced, RelayError> {
    let src = flow.src.as_raw_fd();
    // The pipe is taken only once the source is readable and put back when it would block,
    // so a connection waiting for data holds none.
    let fill = flow
        .src
        .async_io(Interest::READABLE, || {
            let Ok(pipe) = Pipe::take() else {
                return Ok(Fill::NoPipe);
            };
            match pipe.fill_from(src, want.min(pipe::CAPACITY)) {
                Ok(n) => Ok(Fill::Filled(pipe, n)),
                Err(error) => {
                    pipe.put_back_empty();
                    if pipe::is_unsupported(&error) {
                        Ok(Fill::Unsupported)
                    } else {
                        Err(error)
                    }
                }
            }
        })
        .await
        .map_err(|e| flow.src_error(e))?;
    let (pipe, filled) = match fill {
        Fill::Filled(pipe, filled) => (pipe, filled),
        Fill::Unsupported => return Ok(Spliced::Unsupported),
        Fill::NoPipe => return Ok(Spliced::NoPipe),
    };
    if filled == 0 {
        pipe.put_back_empty();
        return Ok(Spliced::Moved(0));
    }
    flow.tally.touch();
    flow.shape(filled).await;
    let dst = flow.dst.as_raw_fd();
    let mut left = filled;
    while left > 0 {
        let sent = flow
            .dst
            .async_io(Interest::WRITABLE, || pipe.drain_to(dst, left))
            .await
            .map_err(|e| flow.dst_error(e))?;
        if sent == 0 {
            // The pipe holds `left` bytes and its write end is ours: splice cannot see it
            // empty. Treat it as a failed write rather than loop.
            return Err(flow.dst_error(io::ErrorKind::WriteZero.into()));
        }
        left -= sent;
        flow.tally.record(flow.direction, sent as u64);
    }
    pipe.put_back_empty();
    Ok(Spliced::Moved(filled))
}
