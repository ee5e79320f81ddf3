//! Wire formats of the proxy protocols, parsed without IO.
//!
//! Every parser works on the bytes received so far: it answers [`Progress::NeedMore`] when the
//! message is not complete yet, [`Progress::Done`] with the value and the number of bytes it
//! used, or a precise error the caller turns into the protocol's refusal. Parsers never read
//! past what they consume, so bytes a client pipelines after a message stay in the buffer.

pub mod http;
pub mod progress;
pub mod socks4;
pub mod socks5;
pub mod target;

pub use progress::Progress;
pub use target::{Host, Target, TargetError};
