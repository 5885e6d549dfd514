//! Requirements in the file: `[requirements.NAME]` tables, and the top-level
//! `[mfa]`, `app_only`, `step_up_url`, `[challenge]` and
//! `[entra_claims_challenge]` as the default requirement.

use std::time::Duration;

use serde::Deserialize;

use super::schema::AppOnlyName;
use crate::challenge::{ChallengeStyle, ClaimsChallenge};
use crate::config_error::ConfigError;
use crate::policy::caller::AppOnly;
use crate::policy::mfa::MfaPolicy;
use crate::policy::requirement::Requirement;

/// A `[requirements.NAME]` table (every key optional, defaults as
/// [`Requirement::mfa`]).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RequirementFile {
    pub(super) mfa: Option<MfaFile>,
    pub(super) app_only: Option<AppOnlyName>,
    pub(super) step_up_url: Option<String>,
    pub(super) challenge: Option<ChallengeFile>,
    pub(super) entra_claims_challenge: Option<ClaimsChallengeFile>,
}

/// `[mfa]`: what counts as MFA proof.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MfaFile {
    pub(super) equivalents: Option<Vec<String>>,
    #[serde(default)]
    pub(super) read_long_amr_claims: bool,
    #[serde(default)]
    pub(super) derive_from_factors: bool,
    #[serde(default)]
    pub(super) accept_acr: Vec<String>,
    #[serde(default)]
    pub(super) accept_auth_contexts: Vec<String>,
    #[serde(default)]
    pub(super) require_auth_contexts: Vec<String>,
    pub(super) max_age_seconds: Option<u64>,
}

/// `[challenge]`: how missing MFA is answered to API clients.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChallengeFile {
    pub(super) style: StyleName,
    pub(super) acr_values: Option<String>,
    pub(super) max_age_seconds: Option<u64>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum StyleName {
    PartnerCenter,
    Rfc9470,
}

/// `[entra_claims_challenge]`: Entra's claims challenge for `cp1` clients.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClaimsChallengeFile {
    pub(super) authorization_uri: String,
    pub(super) auth_context: String,
}

impl From<AppOnlyName> for AppOnly {
    fn from(a: AppOnlyName) -> Self {
        match a {
            AppOnlyName::Allow => Self::Allow,
            AppOnlyName::Deny => Self::Deny,
            AppOnlyName::RequireMfa => Self::RequireMfa,
        }
    }
}

fn mfa_policy(m: MfaFile) -> MfaPolicy {
    let mut policy = MfaPolicy::new()
        .read_long_amr_claims(m.read_long_amr_claims)
        .derive_from_factors(m.derive_from_factors)
        .accept_acr(m.accept_acr)
        .accept_auth_contexts(m.accept_auth_contexts)
        .require_auth_contexts(m.require_auth_contexts);
    if let Some(values) = m.equivalents {
        policy = policy.equivalent_amr_values(values);
    }
    if let Some(secs) = m.max_age_seconds {
        policy = policy.max_age(Duration::from_secs(secs));
    }
    policy
}

/// `style = "partner_center"` takes no parameters; `where_` places the
/// table in errors (`challenge`, `requirements.NAME.challenge`).
pub(super) fn style(c: ChallengeFile, where_: &str) -> Result<ChallengeStyle, ConfigError> {
    match c.style {
        StyleName::PartnerCenter => {
            if c.acr_values.is_some() || c.max_age_seconds.is_some() {
                return Err(ConfigError::invalid(
                    format!("{where_}.style"),
                    "partner_center",
                    "`acr_values` and `max_age_seconds` belong to style = \"rfc9470\"",
                ));
            }
            Ok(ChallengeStyle::PartnerCenter)
        }
        StyleName::Rfc9470 => Ok(ChallengeStyle::Rfc9470 {
            acr_values: c.acr_values,
            max_age: c.max_age_seconds,
        }),
    }
}

/// Applies the keys a file sets to `base` (the default requirement keeps
/// what code set before for the keys the file leaves out).
pub(super) fn requirement(
    r: RequirementFile,
    mut base: Requirement,
    prefix: &str,
) -> Result<Requirement, ConfigError> {
    if let Some(m) = r.mfa {
        base = base.mfa_policy(mfa_policy(m));
    }
    if let Some(a) = r.app_only {
        base = base.app_only(a.into());
    }
    if let Some(url) = r.step_up_url {
        base = base.step_up_url(url);
    }
    if let Some(c) = r.challenge {
        base = base.challenge_style(style(c, &format!("{prefix}challenge"))?);
    }
    if let Some(c) = r.entra_claims_challenge {
        base = base.entra_claims_challenge(ClaimsChallenge {
            authorization_uri: c.authorization_uri,
            auth_context: c.auth_context,
        });
    }
    Ok(base)
}
