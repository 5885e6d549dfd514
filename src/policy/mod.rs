//! The policy: route rules ([`route`]), caller classification ([`caller`]) and
//! MFA proof ([`mfa`]).

pub mod caller;
pub mod mfa;
pub mod route;
