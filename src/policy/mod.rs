//! The policy: route rules ([`route`]), caller classification ([`caller`]),
//! MFA proof ([`mfa`]) and exemptions from it ([`exempt`]).

pub(crate) mod caller;
pub(crate) mod exempt;
pub(crate) mod mfa;
pub(crate) mod pattern;
pub(crate) mod requirement;
pub(crate) mod route;
