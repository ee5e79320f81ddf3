//! nftables programs of kordon. Each program owns one table and never touches another: it
//! writes `nft` scripts (one transaction per script, fed on stdin) and runs them with
//! [`nft::Nft`].
//!
//! - [`ipfilter`]: the ipfilter table — one set per action, family and prefix length, and a
//!   chain per hook that accepts permitted sources and drops blocked ones.

pub mod ipfilter;
pub mod nft;

pub use nft::{Nft, NftError};
