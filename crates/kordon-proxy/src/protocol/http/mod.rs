//! HTTP/1.x proxy requests: the request head ([`head`]), what it asks for ([`classify`]),
//! its credentials ([`basic_auth`]), its body's framing ([`framing`]), the headers a forwarder strips ([`hop_by_hop`]) and the
//! refusals sent back ([`refusal`]).

pub mod basic_auth;
pub mod classify;
pub mod error;
pub mod forward;
pub mod framing;
pub mod head;
pub(crate) mod head_limit;
pub mod hop_by_hop;
pub mod refusal;

pub use basic_auth::{proxy_credentials, Credentials};
pub use classify::{classify, ProxyRequest};
pub use error::HttpError;
pub use forward::encode_forward_head;
pub use framing::{body_framing, BodyFraming};
pub use head::{parse_head, HeadLimits, RequestHead};
pub use hop_by_hop::HopByHop;
