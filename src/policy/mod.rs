//! The policy: route rules ([`route`]) with their path patterns
//! ([`pattern`]) compiled for selection ([`matcher`]), caller classification
//! ([`caller`]), MFA proof ([`mfa`]) and exemptions from it ([`exempt`]).

pub(crate) mod caller;
pub(crate) mod exempt;
pub(crate) mod matcher;
pub(crate) mod mfa;
pub(crate) mod pattern;
pub(crate) mod requirement;
pub(crate) mod route;
