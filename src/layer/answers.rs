//! [`Builder`]'s settings of requirements and answers: the default
//! requirement's parts, named requirements, realm, the keys-unavailable
//! answer, and the two answer hooks.

use std::sync::Arc;

use super::builder::Builder;
use crate::challenge::{
    ChallengeStyle, ClaimsChallenge, IsBrowser, KeysUnavailableStatus, RenderRefusal,
};
use crate::policy::caller::AppOnly;
use crate::policy::mfa::MfaPolicy;
use crate::policy::requirement::Requirement;

impl Builder {
    /// What counts as MFA proof (in the default requirement).
    pub fn mfa_policy(mut self, policy: MfaPolicy) -> Self {
        self.requirement.mfa = policy;
        self
    }

    /// What `mfa` routes do with app-only callers (default: allow; in the
    /// default requirement).
    pub fn app_only(mut self, app_only: AppOnly) -> Self {
        self.requirement.app_only = app_only;
        self
    }

    /// Replaces the default requirement, the one of `mfa` rules that name
    /// none (default: [`Requirement::mfa`]). [`Builder::mfa_policy`],
    /// [`Builder::app_only`], [`Builder::challenge_style`],
    /// [`Builder::entra_claims_challenge`] and [`Builder::step_up_url`] set
    /// its parts.
    pub fn default_requirement(mut self, requirement: Requirement) -> Self {
        self.requirement = requirement;
        self
    }

    /// Registers a requirement under `name`, for `mfa` rules that name it
    /// with [`Rule::requirement`](crate::Rule::requirement). Registering a name again replaces the
    /// requirement.
    pub fn requirement(mut self, name: impl Into<String>, requirement: Requirement) -> Self {
        let name = name.into();
        match self.requirements.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => *slot = requirement,
            None => self.requirements.push((name, requirement)),
        }
        self
    }

    /// The `realm` of the bare `Bearer` challenge (absent by default).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// How missing MFA is answered to API clients (default: Partner Center;
    /// in the default requirement).
    pub fn challenge_style(mut self, style: ChallengeStyle) -> Self {
        self.requirement.style = style;
        self
    }

    /// The answer to an unknown `kid` while the key endpoint fails: 503
    /// with `Retry-After` (default) or 401 `invalid_token`.
    pub fn keys_unavailable_status(mut self, status: KeysUnavailableStatus) -> Self {
        self.unavailable_status = status;
        self
    }

    /// Answers missing MFA with Entra's claims challenge
    /// (`error="insufficient_claims"`, asking for this authentication
    /// context) when the token's client declares the `cp1` capability
    /// (`xms_cc`, compared case-insensitively); other clients get the
    /// configured [`ChallengeStyle`] (in the default requirement).
    pub fn entra_claims_challenge(mut self, challenge: ClaimsChallenge) -> Self {
        self.requirement.claims_challenge = Some(challenge);
        self
    }

    /// Redirects browsers (an `Accept` that lists `text/html`) without MFA to
    /// this step-up URL with `303 See Other`, carrying the return path as
    /// `return_to` (or in place of `{return_to}`). The return path stays on
    /// the site: a leading run of `/` or `\` (`//evil.example`) becomes one
    /// `/`, and a path not starting with `/` becomes `/` (in the default
    /// requirement).
    pub fn step_up_url(mut self, url: impl Into<String>) -> Self {
        self.requirement.step_up = Some(url.into());
        self
    }

    /// Renders the bodies of HTTP refusals (default: small RFC 9457
    /// problem documents, `application/problem+json`).
    pub fn refusal_renderer(mut self, renderer: impl RenderRefusal) -> Self {
        self.renderer = Some(Arc::new(renderer));
        self
    }

    /// Tells browsers, which get the step-up redirect, from API clients
    /// (default: the `Accept` header explicitly lists `text/html`). gRPC
    /// requests are never browsers.
    pub fn browser_predicate(mut self, is_browser: impl IsBrowser) -> Self {
        self.browser = Some(Arc::new(is_browser));
        self
    }
}
