//! DNS plumbing shared by the lab's authoritative server and the modems' forwarders: the wire
//! format (`wire`, on hickory-proto, no IO), TCP framing (`framing`) and the bounded UDP/TCP
//! serving loops (`serve`).

pub(crate) mod framing;
pub(crate) mod serve;
pub(crate) mod wire;
