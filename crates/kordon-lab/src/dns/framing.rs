//! DNS over TCP frames each message with its length as two bytes (RFC 1035 4.2.2).

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The next message, or `None` when the peer closed the connection between messages.
pub(crate) async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut message).await?;
    Ok(Some(message))
}

/// Writes `message` with its length prefix, in one write so it leaves in one segment.
pub(crate) async fn write_message<S: AsyncWrite + Unpin>(
    stream: &mut S,
    message: &[u8],
) -> io::Result<()> {
    let len = u16::try_from(message.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a DNS message over TCP is at most 65535 bytes, not {}",
                message.len()
            ),
        )
    })?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream.write_all(&framed).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_eof_between_messages_is_clean() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        write_message(&mut a, b"abc").await.unwrap();
        write_message(&mut a, b"").await.unwrap();
        drop(a);
        assert_eq!(read_message(&mut b).await.unwrap(), Some(b"abc".to_vec()));
        assert_eq!(read_message(&mut b).await.unwrap(), Some(Vec::new()));
        assert_eq!(read_message(&mut b).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_cut_message_is_an_error_and_oversize_is_refused() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&[0, 5, 1, 2]).await.unwrap();
        drop(a);
        assert!(read_message(&mut b).await.is_err());
        let (mut a, _b) = tokio::io::duplex(16);
        let big = vec![0u8; 70_000];
        assert!(write_message(&mut a, &big).await.is_err());
    }
}
