//! The farm API's rotation requests, answered by the modem plane's rotation service. The two
//! planes do not know each other; this adapter is where they meet.

use kordon_api::rotation::{PortRotation, RotationFuture, RotationUnavailable};
use kordon_modem::service::rotation::Rotator;

pub struct RotationBridge {
    rotator: Rotator,
}

impl RotationBridge {
    pub fn new(rotator: Rotator) -> RotationBridge {
        RotationBridge { rotator }
    }
}

impl PortRotation for RotationBridge {
    fn request<'a>(&'a self, ids: &'a [i64]) -> RotationFuture<'a> {
        Box::pin(async move {
            let answers = self
                .rotator
                .request(ids)
                .await
                .map_err(|not_running| RotationUnavailable(not_running.to_string()))?;
            Ok(answers
                .into_iter()
                .map(|(id, verdict)| (id, verdict.map_err(|refusal| refusal.to_string())))
                .collect())
        })
    }
}
