//! What the API asks of IP rotation, which lives in another plane: the binary hands
//! [`AppState`](crate::AppState) an implementation when the rotation service exists.

use std::future::Future;
use std::pin::Pin;

/// The rotation service is not running: nothing was started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RotationUnavailable(pub String);

/// Per requested port id (request order, each id once): started, or why not.
pub type RotationAnswers = Vec<(i64, Result<(), String>)>;

pub type RotationFuture<'a> =
    Pin<Box<dyn Future<Output = Result<RotationAnswers, RotationUnavailable>> + Send + 'a>>;

pub trait PortRotation: Send + Sync {
    /// Starts a rotation of every port in `ids` that may rotate now; answers at once, before
    /// the rotations end.
    fn request<'a>(&'a self, ids: &'a [i64]) -> RotationFuture<'a>;
}
