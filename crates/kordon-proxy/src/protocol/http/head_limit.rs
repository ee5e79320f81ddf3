//! What request and response heads share when read with `httparse`: the description of its
//! errors, and the head-size limit applied to its progress.

/// The problem `httparse` found, in words ("invalid header name", …). `first_line` names the
/// request line's or the status line's own error.
pub(crate) fn describe(error: httparse::Error, first_line: &'static str) -> &'static str {
    match error {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Version => "invalid HTTP version",
        httparse::Error::Status | httparse::Error::Token => first_line,
        httparse::Error::TooManyHeaders => "too many header fields",
    }
}

/// A head longer than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

/// The head's length once complete (`Some`), `None` while more bytes may complete it, or
/// [`TooLarge`] once `buffered` bytes hold no complete head within `max_head_len`.
pub(crate) fn complete_within(
    status: httparse::Status<usize>,
    buffered: usize,
    max_head_len: usize,
) -> Result<Option<usize>, TooLarge> {
    match status {
        httparse::Status::Partial if buffered >= max_head_len => Err(TooLarge),
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(n) if n > max_head_len => Err(TooLarge),
        httparse::Status::Complete(n) => Ok(Some(n)),
    }
}
