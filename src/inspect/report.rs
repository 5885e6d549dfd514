//! The report of [`inspect`](super::inspect): plain data about a token and
//! what the layer would answer.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::challenge::{self, KeysUnavailableStatus};
use crate::error::{ErrorKind, Reason};
use crate::policy::caller::Caller;
use crate::policy::mfa::MfaProof;

/// One header check the layer applies, with what the header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderCheck {
    /// What is checked (`alg`, `crit/zip/cty`, `typ`, `kid`, `jku/x5u/jwk/x5c`).
    pub name: &'static str,
    /// What the header holds and what is accepted.
    pub detail: String,
    /// The check's outcome.
    pub result: Result<(), Reason>,
}

/// The signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// No keys were given, or the token failed before the signature step.
    NotChecked,
    /// Verified with the key of this `kid`.
    Verified {
        /// The key's id.
        kid: String,
    },
    /// Refused: unknown `kid`, algorithm mismatch or bad signature.
    Failed(Reason),
}

/// The token's times as it states them (NumericDate seconds since the Unix
/// epoch, shown even when out of any calendar's range) and the time checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Times {
    /// The time judged at.
    pub now: SystemTime,
    /// `exp`.
    pub exp: Option<f64>,
    /// `nbf`.
    pub nbf: Option<f64>,
    /// `iat`.
    pub iat: Option<f64>,
    /// `auth_time`.
    pub auth_time: Option<f64>,
    /// The layer's time checks (`exp` required, leeway, maximum lifetime).
    pub check: Result<(), Reason>,
}

/// What the layer would answer on an `mfa` route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The request would go through.
    Pass,
    /// The request would be refused for this reason.
    Refused(Reason),
}

impl Verdict {
    /// Whether the request would go through.
    #[must_use]
    pub fn passes(self) -> bool {
        self == Self::Pass
    }

    /// The answer in one line: `would pass`, `401 Unauthorized - MFA
    /// required (...)`, `401 invalid_token: <reason> (<code>)`, ...
    #[must_use]
    pub fn answer(self) -> String {
        let Self::Refused(reason) = self else {
            return "would pass".to_owned();
        };
        let code = reason.as_str();
        let (kind, keys) = (reason.kind(), KeysUnavailableStatus::default());
        let status = challenge::status(kind, keys).as_u16();
        let label = challenge::label(kind, keys);
        if kind == ErrorKind::MfaRequired {
            format!("{status} {label} ({code})")
        } else {
            format!("{status} {label}: {reason} ({code})")
        }
    }

    /// The HTTP status of the answer (200 when it would pass), with the
    /// layer's default for unavailable keys (503).
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Self::Pass => 200,
            Self::Refused(reason) => {
                challenge::status(reason.kind(), KeysUnavailableStatus::default()).as_u16()
            }
        }
    }

    /// The exit code of `tower-mfa inspect`: 0 would pass, 1 would be refused.
    #[must_use]
    pub fn exit_code(self) -> u8 {
        u8::from(!self.passes())
    }
}

/// Everything `inspect` found, as plain data. [`Display`](std::fmt::Display)
/// renders the text `tower-mfa inspect` prints.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The decoded header, when it is a JSON object.
    pub header: Option<Value>,
    /// The header checks, when the header decoded.
    pub header_checks: Vec<HeaderCheck>,
    /// The decoded payload (verified only when [`Report::signature`] says so).
    pub claims: Option<Value>,
    /// Why the payload could not be read, when it could not.
    pub claims_error: Option<Reason>,
    /// The caller class and the rule that decided it.
    pub caller: Option<(Caller, &'static str)>,
    /// The token's `amr` values.
    pub amr: Vec<String>,
    /// [`MfaPolicy::prove`](crate::MfaPolicy::prove) on the claims: the proof, or why there is none.
    pub mfa: Option<Result<MfaProof, Reason>>,
    /// The MFA step of an `mfa` route for this caller (app-only callers as
    /// [`Options::app_only`](super::Options::app_only) says); `Ok(None)`: skipped.
    pub mfa_route: Option<Result<Option<MfaProof>, Reason>>,
    /// The token's times and the time checks.
    pub times: Option<Times>,
    /// The full claim checks (times, issuer, tenant, audience).
    pub claim_check: Option<Result<(), Reason>>,
    /// Whether `iss` was compared with a configured issuer.
    pub issuer_compared: bool,
    /// Whether `aud` was compared with configured audiences.
    pub audience_compared: bool,
    /// The signature check.
    pub signature: Signature,
    /// The usable key ids, when keys were given (sorted).
    pub keys: Option<Vec<String>>,
    /// The leeway used.
    pub leeway: Duration,
    /// The maximum lifetime used.
    pub max_lifetime: Duration,
    /// What the layer would answer: on an `mfa` route without a
    /// configuration, else [`Report::route`]'s verdict.
    pub verdict: Verdict,
    /// The configured layer's answer on one route
    /// ([`inspect_route`](super::inspect_route)); `None` without a configuration.
    pub route: Option<super::RouteVerdict>,
    /// The token's DPoP binding and the proof checks, when it is bound or
    /// a proof was given.
    pub dpop: Option<super::DpopReport>,
}
