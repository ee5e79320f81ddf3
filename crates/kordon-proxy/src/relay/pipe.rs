//! A kernel pipe for splice(2), and a per-thread shelf of empty ones.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::shelf::{self, Shelf};

/// Bytes a pipe holds: the kernel's default (16 pages). Pipes resized to 256 KiB and 1 MiB
/// (F_SETPIPE_SZ) relayed no faster on loopback, and large pipes count against the per-user
/// pipe quota (`fs.pipe-user-pages-soft`).
pub(crate) const CAPACITY: usize = 64 * 1024;

/// Empty pipes kept per worker thread; more are closed when put back.
const SHELVED_PER_THREAD: usize = 16;

thread_local! {
    static EMPTY_PIPES: Shelf<Pipe> = const { Shelf::new(Vec::new()) };
}

const SPLICE_FLAGS: libc::c_uint = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;

#[derive(Debug)]
pub(crate) struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let mut fds: [libc::c_int; 2] = [-1, -1];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes on success.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Pipe { read, write })
    }

    /// An empty pipe from this thread's shelf, or a new one.
    pub(crate) fn take() -> io::Result<Pipe> {
        match shelf::take(&EMPTY_PIPES) {
            Some(pipe) => Ok(pipe),
            None => Pipe::new(),
        }
    }

    /// Shelves a pipe. Only for pipes that are empty: a pipe still holding bytes is dropped
    /// (closed) instead, so bytes of one connection never reach another.
    pub(crate) fn put_back_empty(self) {
        shelf::put(&EMPTY_PIPES, self, SHELVED_PER_THREAD);
    }

    /// Moves up to `len` bytes from the socket `from` into the pipe; 0 at end of stream.
    pub(crate) fn fill_from(&self, from: RawFd, len: usize) -> io::Result<usize> {
        splice(from, self.write.as_raw_fd(), len)
    }

    /// Moves up to `len` bytes from the pipe to the socket `to`.
    pub(crate) fn drain_to(&self, to: RawFd, len: usize) -> io::Result<usize> {
        splice(self.read.as_raw_fd(), to, len)
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    loop {
        // SAFETY: two open descriptors and null offsets (neither end is a seekable file).
        let n = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                to,
                std::ptr::null_mut(),
                len,
                SPLICE_FLAGS,
            )
        };
        if let Ok(n) = usize::try_from(n) {
            return Ok(n);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Whether a splice error means "this descriptor cannot be spliced" rather than a failed
/// connection, so the relay should copy instead.
pub(crate) fn is_unsupported(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}
