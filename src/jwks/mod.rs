//! The issuer's keys: JWK parsing and hygiene (`key`), key sets (`set`),
//! hardened HTTP fetching (`fetch`) and the lock-free cache with single-flight
//! refresh (`store`).

pub(crate) mod key;
pub(crate) mod set;

pub(crate) mod fetch;
pub(crate) mod store;

pub use key::{SUPPORTED_ALGORITHMS, VerifyingKey};
pub use set::KeySet;
