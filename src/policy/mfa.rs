//! MFA proof: what in a verified token shows that the user passed a second
//! factor.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::claims::{Claims, LONG_AMR_NAMES};
use crate::error::Reason;
use crate::policy::caller::{AppOnly, Caller};
use crate::time::unix_seconds;

/// The `amr` value that proves MFA.
pub(crate) const MFA: &str = "mfa";
/// Windows Hello for Business (Entra): counts as MFA by default.
pub(crate) const NGCMFA: &str = "ngcmfa";
/// What a federated identity provider relays for its own MFA (third-party
/// MFA): counts by default.
pub(crate) const MULTIPLEAUTHN: &str = "http://schemas.microsoft.com/claims/multipleauthn";
/// "Windows integrated auth or MFA": never proves MFA, whatever is configured.
pub(crate) const WIAORMFA: &str = "wiaormfa";

/// How MFA was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MfaProof {
    /// `amr` contains `mfa`.
    Amr,
    /// `amr` contains a configured equivalent value (`ngcmfa`, `multipleauthn`, ...).
    EquivalentAmr,
    /// A long-named `amr` claim contains `mfa` or an equivalent (opt-in).
    LongAmrClaim,
    /// `amr` holds methods from two different RFC 8176 factor groups (opt-in).
    DerivedFactors,
    /// `acr` is one of the accepted values (opt-in).
    Acr,
    /// `acrs` contains an accepted Entra authentication context (opt-in).
    AuthContext,
}

impl MfaProof {
    /// A stable lower-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Amr => "amr",
            Self::EquivalentAmr => "equivalent_amr",
            Self::LongAmrClaim => "long_amr_claim",
            Self::DerivedFactors => "derived_factors",
            Self::Acr => "acr",
            Self::AuthContext => "auth_context",
        }
    }
}

/// What counts as proof of MFA.
#[derive(Debug, Clone)]
pub struct MfaPolicy {
    pub(crate) equivalents: Vec<String>,
    pub(crate) long_claim_names: bool,
    pub(crate) derived: bool,
    pub(crate) acr_values: Vec<String>,
    pub(crate) auth_contexts: Vec<String>,
    pub(crate) required_auth_contexts: Vec<String>,
    pub(crate) max_age: Option<Duration>,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            equivalents: vec![NGCMFA.to_owned(), MULTIPLEAUTHN.to_owned()],
            long_claim_names: false,
            derived: false,
            acr_values: Vec::new(),
            auth_contexts: Vec::new(),
            required_auth_contexts: Vec::new(),
            max_age: None,
        }
    }
}

impl MfaPolicy {
    /// The default: `amr` contains `mfa`, `ngcmfa` or `multipleauthn`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the `amr` values that count like `mfa`. `wiaormfa` is ignored.
    #[must_use]
    pub fn equivalent_amr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.equivalents = values
            .into_iter()
            .map(Into::into)
            .filter(|v| v != WIAORMFA)
            .collect();
        self
    }

    /// Also reads `authenticationmethodsreferences` and
    /// `http://schemas.microsoft.com/claims/authnmethodsreferences`.
    #[must_use]
    pub fn read_long_amr_claims(mut self, yes: bool) -> Self {
        self.long_claim_names = yes;
        self
    }

    /// Accepts `amr` methods from two different RFC 8176 factor groups
    /// (knowledge, possession, inherence) as MFA.
    #[must_use]
    pub fn derive_from_factors(mut self, yes: bool) -> Self {
        self.derived = yes;
        self
    }

    /// Accepts these `acr` values as MFA.
    #[must_use]
    pub fn accept_acr<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Accepts these Entra authentication context ids (`acrs`) as MFA.
    #[must_use]
    pub fn accept_auth_contexts<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.auth_contexts = values.into_iter().map(Into::into).collect();
        self
    }

    /// Requires every one of these Entra authentication context ids in
    /// `acrs` (compared exactly), whatever else the token proves. Entra
    /// issues an `acrs` value only after the Conditional Access policy bound
    /// to it (MFA, phishing-resistant MFA...) was satisfied, so a token
    /// carrying them all proves MFA even without `amr`; one missing
    /// context is a refusal ([`Reason::MissingAuthContext`]).
    #[must_use]
    pub fn require_auth_contexts<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_auth_contexts = values.into_iter().map(Into::into).collect();
        self
    }

    /// Requires the last authentication (`auth_time`) to be at most `max_age` old.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The proof of MFA in `claims` at time `now`, or why there is none;
    /// `leeway` is the clock skew allowed on `auth_time` with `max_age`.
    ///
    /// # Errors
    /// [`Reason::NoMfaProof`], [`Reason::EntraV2NoAmr`] or [`Reason::MfaTooOld`];
    /// [`Reason::AuthTimeInFuture`] when `auth_time` lies beyond `now + leeway`
    /// (such a token is invalid: it would satisfy `max_age` forever).
    pub fn prove(
        &self,
        claims: &Claims,
        now: SystemTime,
        leeway: Duration,
    ) -> Result<MfaProof, Reason> {
        self.prove_secs(claims, unix_seconds(now), leeway.as_secs_f64())
    }

    /// [`MfaPolicy::prove`] with times as NumericDate seconds, as the
    /// pipeline's claim checks use them.
    pub(crate) fn prove_secs(
        &self,
        claims: &Claims,
        now: f64,
        leeway: f64,
    ) -> Result<MfaProof, Reason> {
        let proof = if self.required_auth_contexts.is_empty() {
            self.find(claims)
        } else {
            let acrs = claims.acrs();
            if !self
                .required_auth_contexts
                .iter()
                .all(|r| acrs.iter().any(|c| c == r))
            {
                return Err(Reason::MissingAuthContext);
            }
            Some(self.find(claims).unwrap_or(MfaProof::AuthContext))
        };
        let proof = proof.ok_or_else(|| {
            if claims.registered().amr.is_none() && claims.version() == Some("2.0") {
                Reason::EntraV2NoAmr
            } else {
                Reason::NoMfaProof
            }
        })?;
        if let Some(max_age) = self.max_age {
            let auth_time = claims.registered().auth_time.ok_or(Reason::MfaTooOld)?;
            if auth_time.is_finite() && auth_time > now + leeway {
                return Err(Reason::AuthTimeInFuture);
            }
            if !auth_time.is_finite() || now - auth_time > max_age.as_secs_f64() + leeway {
                return Err(Reason::MfaTooOld);
            }
        }
        Ok(proof)
    }

    fn find(&self, claims: &Claims) -> Option<MfaProof> {
        let amr = claims.amr();
        if amr.iter().any(|m| m == MFA) {
            return Some(MfaProof::Amr);
        }
        if amr.iter().any(|m| self.is_equivalent(m)) {
            return Some(MfaProof::EquivalentAmr);
        }
        if self.long_claim_names
            && claims.registered().long_amr
            && LONG_AMR_NAMES.iter().any(|name| match claims.get(name) {
                Some(Value::String(s)) => s == MFA || self.is_equivalent(s),
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|s| s == MFA || self.is_equivalent(s)),
                _ => false,
            })
        {
            return Some(MfaProof::LongAmrClaim);
        }
        if self.derived && derived_mfa(amr) {
            return Some(MfaProof::DerivedFactors);
        }
        if claims
            .acr()
            .is_some_and(|acr| self.acr_values.iter().any(|v| v == acr))
        {
            return Some(MfaProof::Acr);
        }
        if claims
            .acrs()
            .iter()
            .any(|c| self.auth_contexts.iter().any(|v| v == c))
        {
            return Some(MfaProof::AuthContext);
        }
        None
    }

    fn is_equivalent(&self, value: &str) -> bool {
        value != WIAORMFA && self.equivalents.iter().any(|e| e == value)
    }
}

/// The MFA step of an `mfa` route (before exemptions):
/// app-only callers as `app_only` says, users through `policy`. Shared by the
/// layer and `tower-mfa inspect`.
pub(crate) fn check_mfa_route(
    policy: &MfaPolicy,
    app_only: AppOnly,
    caller: Caller,
    claims: &Claims,
    now: f64,
    leeway: f64,
) -> Result<Option<MfaProof>, Reason> {
    match (caller, app_only) {
        (Caller::App, AppOnly::Allow) => Ok(None),
        (Caller::App, AppOnly::Deny) => Err(Reason::AppOnlyDenied),
        (Caller::App, AppOnly::RequireMfa) => Err(Reason::AppMustProveMfa),
        (Caller::User, _) => policy.prove_secs(claims, now, leeway).map(Some),
    }
}

/// RFC 8176 factor group of a method; `None` for methods that prove no factor.
fn factor_group(method: &str) -> Option<u8> {
    match method {
        "pwd" | "kba" | "pin" => Some(0),
        "otp" | "sms" | "tel" | "hwk" | "swk" | "sc" => Some(1),
        "fpt" | "face" | "iris" | "retina" | "vbm" => Some(2),
        _ => None,
    }
}

fn derived_mfa(amr: &[String]) -> bool {
    let mut groups = 0u8;
    for m in amr {
        if let Some(g) = factor_group(m) {
            groups |= 1 << g;
        }
    }
    groups.count_ones() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> Claims {
        let serde_json::Value::Object(map) = json else {
            panic!("object")
        };
        Claims::from_payload(map).unwrap()
    }

    #[test]
    fn amr_is_exact() {
        let p = MfaPolicy::default();
        assert_eq!(
            p.prove_secs(&claims(serde_json::json!({"amr":["pwd","mfa"]})), 0.0, 60.0),
            Ok(MfaProof::Amr)
        );
        for bad in ["MFA", "mfa ", " mfa", "nomfa", "ｍfa", "wiaormfa"] {
            assert_eq!(
                p.prove_secs(&claims(serde_json::json!({"amr":["pwd", bad]})), 0.0, 60.0),
                Err(Reason::NoMfaProof),
                "{bad}"
            );
        }
        assert_eq!(
            p.prove_secs(
                &claims(serde_json::json!({"amr":[MULTIPLEAUTHN]})),
                0.0,
                60.0
            ),
            Ok(MfaProof::EquivalentAmr)
        );
        let p = MfaPolicy::default().equivalent_amr_values(["wiaormfa"]);
        assert_eq!(
            p.prove_secs(&claims(serde_json::json!({"amr":["wiaormfa"]})), 0.0, 60.0),
            Err(Reason::NoMfaProof)
        );
    }

    #[test]
    fn derived_needs_two_groups() {
        let p = MfaPolicy::default().derive_from_factors(true);
        assert_eq!(
            p.prove_secs(&claims(serde_json::json!({"amr":["pwd","otp"]})), 0.0, 60.0),
            Ok(MfaProof::DerivedFactors)
        );
        assert!(
            p.prove_secs(&claims(serde_json::json!({"amr":["pwd","kba"]})), 0.0, 60.0)
                .is_err()
        );
        assert!(
            p.prove_secs(
                &claims(serde_json::json!({"amr":["pwd","geo","rba"]})),
                0.0,
                60.0
            )
            .is_err()
        );
    }

    #[test]
    fn long_names_are_opt_in() {
        let c = claims(serde_json::json!({"authenticationmethodsreferences": MULTIPLEAUTHN}));
        assert!(MfaPolicy::default().prove_secs(&c, 0.0, 60.0).is_err());
        assert_eq!(
            MfaPolicy::default()
                .read_long_amr_claims(true)
                .prove_secs(&c, 0.0, 60.0),
            Ok(MfaProof::LongAmrClaim)
        );
    }

    #[test]
    fn prove_takes_system_time_and_duration() {
        let p = MfaPolicy::new().max_age(Duration::from_secs(600));
        let c = claims(serde_json::json!({"amr":["mfa"], "auth_time": 1000}));
        let at = |secs| std::time::UNIX_EPOCH + Duration::from_secs(secs);
        let leeway = Duration::from_secs(60);
        assert_eq!(p.prove(&c, at(1500), leeway), Ok(MfaProof::Amr));
        assert_eq!(p.prove(&c, at(1700), leeway), Err(Reason::MfaTooOld));
    }

    #[test]
    fn max_age_checks_auth_time() {
        let p = MfaPolicy::default().max_age(Duration::from_secs(600));
        let c = claims(serde_json::json!({"amr":["mfa"], "auth_time": 1000}));
        assert_eq!(p.prove_secs(&c, 1500.0, 60.0), Ok(MfaProof::Amr));
        assert_eq!(p.prove_secs(&c, 1700.0, 60.0), Err(Reason::MfaTooOld));
        let c = claims(serde_json::json!({"amr":["mfa"]}));
        assert_eq!(p.prove_secs(&c, 1500.0, 60.0), Err(Reason::MfaTooOld));
        // A sign-in in the future never satisfies max_age; within the
        // leeway it still does.
        let c = claims(serde_json::json!({"amr":["mfa"], "auth_time": 1000.0 + 315_360_000.0}));
        assert_eq!(
            p.prove_secs(&c, 1000.0, 60.0),
            Err(Reason::AuthTimeInFuture)
        );
        let c = claims(serde_json::json!({"amr":["mfa"], "auth_time": 1050}));
        assert_eq!(p.prove_secs(&c, 1000.0, 60.0), Ok(MfaProof::Amr));
    }
}
