//! Finding the end of a chunked body (RFC 9112 §7.1) without changing it: the body is
//! forwarded byte for byte, chunk extensions and trailer fields included, while this scanner
//! follows the chunk sizes. The syntax is read strictly (CRLF only, bounded lines): where a
//! lenient proxy and a strict origin disagree on where a body ends, one request can hide
//! another.

/// Longest chunk-size line (size and extensions), CRLF excluded.
pub const MAX_SIZE_LINE: usize = 4096;
/// Largest trailer section, final CRLF included.
pub const MAX_TRAILERS: usize = 16 * 1024;
/// Hex digits of a chunk size (leading zeros count): 16 fill a u64.
const MAX_SIZE_DIGITS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk size is not hexadecimal")]
    BadSize,
    #[error("chunk size has more than {MAX_SIZE_DIGITS} digits")]
    SizeTooLong,
    #[error("chunk size line longer than {MAX_SIZE_LINE} bytes")]
    SizeLineTooLong,
    #[error("control character in a chunk extension or trailer field")]
    ControlCharacter,
    #[error("line not ended by CRLF")]
    BadLineEnd,
    #[error("chunk data not followed by CRLF")]
    MissingDataEnd,
    #[error("trailer section larger than {MAX_TRAILERS} bytes")]
    TrailersTooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size.
    Size { digits: usize, size: u64 },
    /// After the size: extensions up to CR.
    Extension { size: u64 },
    /// CR of the size line seen; LF expected.
    SizeLf { size: u64 },
    /// Inside chunk data: this many bytes left.
    Data { left: u64 },
    /// After chunk data: CR expected.
    DataCr,
    /// After chunk data and CR: LF expected.
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// CR of a trailer line seen; LF expected.
    TrailerLf,
    /// CR of the final empty line seen; LF expected.
    FinalLf,
    /// The body is complete.
    Done,
}

/// What one call to [`ChunkedScanner::scan`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Bytes at the start of the input that belong to the body.
    pub consumed: usize,
    /// Whether the body ended within them (the rest of the input is not body).
    pub done: bool,
}

/// Follows a chunked body fed in pieces of any size.
#[derive(Debug, Clone)]
pub struct ChunkedScanner {
    state: State,
    /// Bytes of the current size line, or of the trailer section so far.
    line_len: usize,
}

impl Default for ChunkedScanner {
    fn default() -> Self {
        ChunkedScanner::new()
    }
}

impl ChunkedScanner {
    pub fn new() -> ChunkedScanner {
        ChunkedScanner {
            state: State::Size { digits: 0, size: 0 },
            line_len: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Chunk data bytes the body continues with before the next framing byte, so a caller
    /// can move them without scanning (0 outside chunk data).
    pub fn data_left(&self) -> u64 {
        match self.state {
            State::Data { left } => left,
            _ => 0,
        }
    }

    /// Records that `n` (at most [`ChunkedScanner::data_left`]) data bytes went by unscanned.
    pub fn skip_data(&mut self, n: u64) {
        if let State::Data { left } = self.state {
            let left = left.saturating_sub(n);
            self.state = if left == 0 {
                State::DataCr
            } else {
                State::Data { left }
            };
        }
    }

    /// Scans the next bytes of the body. Consumes all of `input` unless the body ends inside
    /// it; after the end, consumes nothing.
    pub fn scan(&mut self, input: &[u8]) -> Result<Scan, ChunkError> {
        let mut pos = 0;
        while pos < input.len() && self.state != State::Done {
            if let State::Data { left } = self.state {
                let take = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - pos);
                pos += take;
                self.skip_data(take as u64);
                continue;
            }
            self.step(input[pos])?;
            pos += 1;
        }
        Ok(Scan {
            consumed: pos,
            done: self.state == State::Done,
        })
    }

    /// One framing byte (anything but chunk data).
    fn step(&mut self, byte: u8) -> Result<(), ChunkError> {
        self.state = match self.state {
            State::Size { digits, size } => {
                self.count_size_line()?;
                match (hex_value(byte), byte) {
                    (Some(_), _) if digits == MAX_SIZE_DIGITS => {
                        return Err(ChunkError::SizeTooLong)
                    }
                    (Some(v), _) => State::Size {
                        digits: digits + 1,
                        size: (size << 4) | u64::from(v),
                    },
                    (None, b';' | b' ' | b'\t') if digits > 0 => State::Extension { size },
                    (None, b'\r') if digits > 0 => State::SizeLf { size },
                    _ => return Err(ChunkError::BadSize),
                }
            }
            State::Extension { size } => {
                self.count_size_line()?;
                match byte {
                    b'\r' => State::SizeLf { size },
                    b'\n' => return Err(ChunkError::BadLineEnd),
                    b if is_control(b) => return Err(ChunkError::ControlCharacter),
                    _ => State::Extension { size },
                }
            }
            State::SizeLf { size } => {
                if byte != b'\n' {
                    return Err(ChunkError::BadLineEnd);
                }
                self.line_len = 0;
                if size == 0 {
                    State::TrailerStart
                } else {
                    State::Data { left: size }
                }
            }
            State::Data { .. } => unreachable!("chunk data is consumed in bulk by scan"),
            State::DataCr if byte == b'\r' => State::DataLf,
            State::DataLf if byte == b'\n' => State::Size { digits: 0, size: 0 },
            State::DataCr | State::DataLf => return Err(ChunkError::MissingDataEnd),
            State::TrailerStart | State::TrailerLine => {
                self.count_trailer()?;
                let at_start = self.state == State::TrailerStart;
                match byte {
                    b'\r' if at_start => State::FinalLf,
                    b'\r' => State::TrailerLf,
                    b'\n' => return Err(ChunkError::BadLineEnd),
                    b if is_control(b) => return Err(ChunkError::ControlCharacter),
                    _ => State::TrailerLine,
                }
            }
            State::TrailerLf | State::FinalLf => {
                self.count_trailer()?;
                if byte != b'\n' {
                    return Err(ChunkError::BadLineEnd);
                }
                if self.state == State::FinalLf {
                    State::Done
                } else {
                    State::TrailerStart
                }
            }
            State::Done => State::Done,
        };
        Ok(())
    }

    fn count_size_line(&mut self) -> Result<(), ChunkError> {
        self.line_len += 1;
        if self.line_len > MAX_SIZE_LINE {
            return Err(ChunkError::SizeLineTooLong);
        }
        Ok(())
    }

    fn count_trailer(&mut self) -> Result<(), ChunkError> {
        self.line_len += 1;
        if self.line_len > MAX_TRAILERS {
            return Err(ChunkError::TrailersTooLarge);
        }
        Ok(())
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Control characters other than HTAB, which field values and extensions may hold.
fn is_control(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        b"5;name=\"v\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n";

    fn scan_all(pieces: &[&[u8]]) -> Result<(usize, bool), ChunkError> {
        let mut scanner = ChunkedScanner::new();
        let mut total = 0;
        for piece in pieces {
            let scan = scanner.scan(piece)?;
            total += scan.consumed;
            if scan.done {
                return Ok((total, true));
            }
        }
        Ok((total, false))
    }

    #[test]
    fn finds_the_end_at_every_split() {
        let mut input = BODY.to_vec();
        input.extend_from_slice(b"GET /next HTTP/1.1\r\n");
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(scan_all(&[a, b]), Ok((BODY.len(), true)), "cut {cut}");
        }
        // Byte by byte.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(scan_all(&bytes), Ok((BODY.len(), true)));
        // Incomplete: everything consumed, not done.
        assert_eq!(
            scan_all(&[&BODY[..BODY.len() - 1]]),
            Ok((BODY.len() - 1, false))
        );
    }

    #[test]
    fn empty_body_and_skipped_data() {
        assert_eq!(scan_all(&[b"0\r\n\r\nrest"]), Ok((5, true)));
        let mut scanner = ChunkedScanner::new();
        assert_eq!(
            scanner.scan(b"10000\r\n"),
            Ok(Scan {
                consumed: 7,
                done: false
            })
        );
        assert_eq!(scanner.data_left(), 0x10000);
        scanner.skip_data(0x10000);
        assert_eq!(scanner.data_left(), 0);
        assert_eq!(
            scanner.scan(b"\r\n0\r\n\r\n"),
            Ok(Scan {
                consumed: 7,
                done: true
            })
        );
        assert!(scanner.is_done());
    }

    #[test]
    fn refuses_what_could_be_read_two_ways() {
        for (input, error) in [
            (&b"\r\n"[..], ChunkError::BadSize),
            (b"-5\r\n", ChunkError::BadSize),
            (b"0x5\r\n", ChunkError::BadSize),
            (b" 5\r\n", ChunkError::BadSize),
            (b"5\n", ChunkError::BadSize),
            (b"5;a\nhello", ChunkError::BadLineEnd),
            (b"5\rhello", ChunkError::BadLineEnd),
            (b"5\r\nhelloX", ChunkError::MissingDataEnd),
            (b"5\r\nhello\n", ChunkError::MissingDataEnd),
            (b"5\r\nhello\r\r", ChunkError::MissingDataEnd),
            (b"10000000000000000\r\n", ChunkError::SizeTooLong),
            (b"5;a=\x00\r\n", ChunkError::ControlCharacter),
            (b"0\r\nX: 1\n\r\n", ChunkError::BadLineEnd),
            (b"0\r\n\n", ChunkError::BadLineEnd),
            (b"0\r\n\rX", ChunkError::BadLineEnd),
            (b"0\r\nX: \x01\r\n\r\n", ChunkError::ControlCharacter),
        ] {
            assert_eq!(scan_all(&[input]), Err(error), "{input:?}");
        }
        // The largest size that fits is accepted.
        assert_eq!(scan_all(&[b"ffffffffffffffff\r\n"]), Ok((18, false)));
    }

    #[test]
    fn bounded_lines() {
        let mut long_extension = b"1;".to_vec();
        long_extension.extend(vec![b'a'; MAX_SIZE_LINE]);
        assert_eq!(
            scan_all(&[&long_extension]),
            Err(ChunkError::SizeLineTooLong)
        );
        let mut long_trailer = b"0\r\nX: ".to_vec();
        long_trailer.extend(vec![b'a'; MAX_TRAILERS]);
        assert_eq!(
            scan_all(&[&long_trailer]),
            Err(ChunkError::TrailersTooLarge)
        );
    }
}
