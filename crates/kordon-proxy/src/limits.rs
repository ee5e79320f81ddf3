//! Shared bandwidth buckets and connection caps.
//!
//! `bucket` is one token bucket any number of tasks take from; `logins` keeps one pair of
//! buckets per proxy login (so every connection of a login, on every profile, shares it) and
//! follows the table's rates; `connections` caps the connections of one profile.

mod bucket;
mod connections;
mod logins;

pub use bucket::{TokenBucket, BURST_WINDOW, MIN_BURST};
pub use connections::{ConnectionLimit, ConnectionPermit};
pub use logins::{LoginBuckets, LoginLimit};
