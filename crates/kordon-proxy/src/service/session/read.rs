//! Reading a whole protocol message into a session's buffer.

use std::io;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::protocol::Progress;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    #[error("connection closed before the message was complete")]
    Closed,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Invalid(E),
}

/// Reads until `parse` accepts a whole message at the start of `buf` and returns how many
/// bytes it takes (call the parser again on `buf` for a value that borrows it). Bytes after
/// the message stay in `buf`.
pub async fn read_message<T, E>(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    max: usize,
    parse: impl Fn(&[u8]) -> Result<Progress<T>, E>,
) -> Result<(T, usize), ReadError<E>> {
    loop {
        match parse(buf).map_err(ReadError::Invalid)? {
            Progress::Done { value, consumed } => return Ok((value, consumed)),
            Progress::NeedMore if buf.len() >= max => return Err(ReadError::TooLarge(max)),
            Progress::NeedMore => {
                if buf.capacity() == buf.len() {
                    buf.reserve(512.min(max - buf.len()).max(64));
                }
                if stream.read_buf(buf).await? == 0 {
                    return Err(ReadError::Closed);
                }
            }
        }
    }
}
