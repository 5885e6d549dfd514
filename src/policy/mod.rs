//! The policy: route rules ([`route`]), caller classification ([`caller`]),
//! MFA proof ([`mfa`]) and exemptions from it ([`exempt`]).

pub mod caller;
pub mod exempt;
pub(crate) mod matcher;
pub mod mfa;
pub mod route;
