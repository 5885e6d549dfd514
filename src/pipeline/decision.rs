//! [`Decision`]: what the layer decided for one request and the verified
//! [`Claims`] it decided on, the one extension a passing request carries.

use std::sync::Arc;

use crate::claims::Claims;
use crate::error::Reason;
use crate::policy::caller::Caller;
use crate::policy::mfa::MfaProof;
use crate::policy::route::Access;

/// What the layer decided for one request, and the verified [`Claims`] it
/// decided on: the one request extension the layer attaches to a request it
/// lets through with a token (one extension, so one heap allocation per
/// request). Read the claims with [`Decision::claims`]; the axum extractors
/// for [`Claims`] and `Decision` both read this extension.
#[derive(Debug, Clone)]
pub struct Decision {
    pub(super) claims: Claims,
    pub(super) issuer: Arc<str>,
    pub(super) caller: Caller,
    pub(super) mfa: Option<MfaProof>,
    pub(super) rule: Arc<str>,
    pub(super) access: Access,
    pub(super) reported: Option<Reason>,
    pub(super) exemption: Option<Arc<str>>,
}

impl Decision {
    /// A decision on `claims` for unit tests of what reads the extension
    /// (the axum and tonic adapters).
    #[cfg(all(test, any(feature = "axum", feature = "tonic")))]
    pub(crate) fn for_claims(claims: Claims) -> Self {
        Self {
            claims,
            issuer: Arc::from("default"),
            caller: Caller::User,
            mfa: None,
            rule: Arc::from("test"),
            access: Access::Mfa,
            reported: None,
            exemption: None,
        }
    }

    /// The verified claims of the request's token.
    #[must_use]
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The short name of the issuer whose token was verified (`default`
    /// for the one-issuer shorthand).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether the caller is a user or an app acting for itself.
    #[must_use]
    pub fn caller(&self) -> Caller {
        self.caller
    }

    /// How MFA was proven, when the token carries proof (checked on `mfa`
    /// routes only; `None` elsewhere and for app-only callers let through).
    #[must_use]
    pub fn mfa(&self) -> Option<MfaProof> {
        self.mfa
    }

    /// The name of the rule that matched.
    #[must_use]
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The access the rule required.
    #[must_use]
    pub fn access(&self) -> Access {
        self.access
    }

    /// On a report-only rule: the refusal that was reported but not enforced.
    #[must_use]
    pub fn reported(&self) -> Option<Reason> {
        self.reported
    }

    /// The id of the [`Exemption`](crate::Exemption) that let the request through without MFA
    /// proof, when one did (audited at target `tower_mfa::audit`).
    #[must_use]
    pub fn exemption(&self) -> Option<&str> {
        self.exemption.as_deref()
    }
}
