//! Forwarding one message body, request or response, exactly as its framing delimits it.

use std::io;

use super::chunked::{ChunkError, ChunkedScanner};
use super::framing::Framing;
use super::response_head::ResponseError;
use crate::relay::error::RelayError;
use crate::relay::flow::Flow;
use crate::relay::tally::Direction;

/// Bytes read at a time while scanning chunked framing.
const READ_ROOM: usize = 16 * 1024;

/// Chunk data at least this long is moved without looking at it (spliced); shorter runs are
/// read into the buffer with the framing around them.
const SKIP_AT_LEAST: u64 = 16 * 1024;

/// Forwards the body from the flow's source to its destination. `buffered` holds bytes
/// already read from the source past the head; the body's bytes are taken from its front and
/// whatever follows the body stays in it. Never reads past the body's end except in chunked
/// framing, where the over-read bytes stay in `buffered` too.
pub(crate) async fn forward_body(
    flow: &mut Flow<'_>,
    buffered: &mut Vec<u8>,
    framing: Framing,
) -> Result<(), RelayError> {
    match framing {
        Framing::Empty => Ok(()),
        Framing::Length(length) => {
            let from_buffer = usize::try_from(length)
                .unwrap_or(usize::MAX)
                .min(buffered.len());
            flow.write_all(&buffered[..from_buffer]).await?;
            buffered.drain(..from_buffer);
            let left = length - from_buffer as u64;
            if flow.forward(Some(left)).await? < left {
                return Err(ended_early(flow));
            }
            Ok(())
        }
        Framing::UntilClose => {
            flow.write_all(buffered).await?;
            buffered.clear();
            flow.forward(None).await?;
            Ok(())
        }
        Framing::Chunked => forward_chunked(flow, buffered).await,
    }
}

async fn forward_chunked(flow: &mut Flow<'_>, buffered: &mut Vec<u8>) -> Result<(), RelayError> {
    let mut scanner = ChunkedScanner::new();
    loop {
        if !buffered.is_empty() {
            let scan = scanner
                .scan(buffered)
                .map_err(|e| chunk_error(flow.direction, e))?;
            flow.write_all(&buffered[..scan.consumed]).await?;
            buffered.drain(..scan.consumed);
            if scan.done {
                return Ok(());
            }
        }
        let data = scanner.data_left();
        if data >= SKIP_AT_LEAST {
            let moved = flow.forward(Some(data)).await?;
            scanner.skip_data(moved);
            if moved < data {
                return Err(ended_early(flow));
            }
            continue;
        }
        if flow.read_into(buffered, READ_ROOM).await? == 0 {
            return Err(ended_early(flow));
        }
    }
}

/// The source closed before the body's end.
fn ended_early(flow: &Flow<'_>) -> RelayError {
    flow.src_error(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed before the end of the body",
    ))
}

fn chunk_error(direction: Direction, error: ChunkError) -> RelayError {
    match direction {
        Direction::Outbound => RelayError::BadRequestBody(error),
        Direction::Inbound => RelayError::BadResponse(ResponseError::Chunked(error)),
    }
}
