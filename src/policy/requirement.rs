//! [`Requirement`]: a named, reusable answer to "what must a caller prove on
//! this `mfa` route, and how is a refusal answered".

use crate::challenge::{ChallengeStyle, ClaimsChallenge};
use crate::policy::caller::AppOnly;
use crate::policy::mfa::MfaPolicy;

/// What an `mfa` route requires and how a refusal is answered: how MFA may be
/// proven ([`MfaPolicy`]: equivalent `amr` values, derived factors, accepted
/// `acr`, required `acrs`, `max_age`), the challenge style (with Entra's
/// claims challenge for clients that declare `cp1` and the style as the
/// fallback for the others), what app-only callers get, and where browsers
/// step up.
///
/// A layer has a default requirement (what [`Builder::mfa_policy`],
/// [`Builder::challenge_style`], [`Builder::app_only`],
/// [`Builder::entra_claims_challenge`] and [`Builder::step_up_url`] set);
/// [`Builder::requirement`] registers others by name, and an `mfa` rule
/// names one with [`Rule::requirement`]. Scopes and roles stay on the rule.
///
/// ```
/// use std::time::Duration;
/// use tower_mfa::{ChallengeStyle, ClaimsChallenge, MfaPolicy, Requirement, RequireMfaLayer, Rule};
///
/// let billing = Requirement::mfa()
///     .mfa_policy(MfaPolicy::new().require_auth_contexts(["c2"]))
///     .challenge_style(ChallengeStyle::Rfc9470 { acr_values: Some("c2".into()), max_age: None })
///     .entra_claims_challenge(ClaimsChallenge {
///         authorization_uri: "https://login.microsoftonline.com/common/oauth2/authorize".into(),
///         auth_context: "c2".into(),
///     });
/// let admin = Requirement::mfa()
///     .mfa_policy(MfaPolicy::new().max_age(Duration::from_secs(300)))
///     .challenge_style(ChallengeStyle::Rfc9470 { acr_values: None, max_age: Some(300) });
/// let layer = RequireMfaLayer::builder()
///     .issuer("https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/")
///     .audience("https://api.partnercenter.microsoft.com")
///     .jwks_url("https://login.microsoftonline.com/common/discovery/keys")
///     .requirement("billing", billing)
///     .requirement("admin", admin)
///     .rule(Rule::mfa("/v1/billing/**").requirement("billing"))
///     .rule(Rule::mfa("/admin/**").requirement("admin"))
///     .rule(Rule::mfa("/v1/customers/**"))
///     .build()?;
/// # let _ = layer;
/// # Ok::<(), tower_mfa::ConfigError>(())
/// ```
///
/// [`Builder::mfa_policy`]: crate::Builder::mfa_policy
/// [`Builder::challenge_style`]: crate::Builder::challenge_style
/// [`Builder::app_only`]: crate::Builder::app_only
/// [`Builder::entra_claims_challenge`]: crate::Builder::entra_claims_challenge
/// [`Builder::step_up_url`]: crate::Builder::step_up_url
/// [`Builder::requirement`]: crate::Builder::requirement
/// [`Rule::requirement`]: crate::Rule::requirement
#[derive(Debug, Clone, Default)]
pub struct Requirement {
    pub(crate) mfa: MfaPolicy,
    pub(crate) style: ChallengeStyle,
    pub(crate) claims_challenge: Option<ClaimsChallenge>,
    pub(crate) app_only: AppOnly,
    pub(crate) step_up: Option<String>,
}

impl Requirement {
    /// Today's default: `amr` holds `mfa` (or `ngcmfa`, `multipleauthn`),
    /// answered Partner Center style, app-only callers allowed, no claims
    /// challenge, no browser step-up.
    #[must_use]
    pub fn mfa() -> Self {
        Self::default()
    }

    /// What counts as MFA proof.
    #[must_use]
    pub fn mfa_policy(mut self, policy: MfaPolicy) -> Self {
        self.mfa = policy;
        self
    }

    /// How a missing-MFA refusal is answered to API clients (the fallback
    /// when an Entra claims challenge is set and the client lacks `cp1`).
    #[must_use]
    pub fn challenge_style(mut self, style: ChallengeStyle) -> Self {
        self.style = style;
        self
    }

    /// Answers clients that declare `cp1` (`xms_cc`) with Entra's claims
    /// challenge for this authentication context.
    #[must_use]
    pub fn entra_claims_challenge(mut self, challenge: ClaimsChallenge) -> Self {
        self.claims_challenge = Some(challenge);
        self
    }

    /// What app-only callers get (default: allowed without an MFA check).
    #[must_use]
    pub fn app_only(mut self, app_only: AppOnly) -> Self {
        self.app_only = app_only;
        self
    }

    /// Redirects browsers without MFA to this step-up URL (see
    /// [`Builder::step_up_url`](crate::Builder::step_up_url)).
    #[must_use]
    pub fn step_up_url(mut self, url: impl Into<String>) -> Self {
        self.step_up = Some(url.into());
        self
    }
}
