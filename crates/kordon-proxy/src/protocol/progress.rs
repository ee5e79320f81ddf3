//! The outcome of feeding a parser the bytes received so far.

/// What a parser made of a buffer that may hold only the start of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress<T> {
    /// The message is not complete: read more bytes and call again with the whole buffer.
    NeedMore,
    /// The message, and how many bytes at the start of the buffer it took.
    Done { value: T, consumed: usize },
}

impl<T> Progress<T> {
    /// The parsed value, if the message was complete.
    pub fn done(self) -> Option<(T, usize)> {
        match self {
            Progress::NeedMore => None,
            Progress::Done { value, consumed } => Some((value, consumed)),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Progress<U> {
        match self {
            Progress::NeedMore => Progress::NeedMore,
            Progress::Done { value, consumed } => Progress::Done {
                value: f(value),
                consumed,
            },
        }
    }
}

/// A cursor over a buffer that reports "need more" instead of failing on a short read.
pub(crate) struct Cursor<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(buf: &'b [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The next byte, or `None` when the buffer ends here.
    pub(crate) fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// The next `n` bytes, or `None` when fewer are buffered.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    pub(crate) fn u16_be(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Some(out)
    }

    /// Bytes up to (not including) the next NUL, which is consumed; `None` if no NUL is
    /// buffered within `max` bytes (the caller decides whether that means "more" or "too long").
    pub(crate) fn until_nul(&mut self, max: usize) -> Option<&'b [u8]> {
        let rest = self.buf.get(self.pos..)?;
        let window = &rest[..rest.len().min(max + 1)];
        let nul = window.iter().position(|&b| b == 0)?;
        let bytes = &rest[..nul];
        self.pos += nul + 1;
        Some(bytes)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
}
