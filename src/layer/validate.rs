//! [`Builder::build`]'s checks: a [`Builder`] becomes plain [`Settings`], or
//! a [`ConfigError`] naming the setting and the value at fault.

use url::Url;

use super::builder::Builder;
use crate::challenge::{ChallengeStyle, check_step_up};
use crate::config_error::ConfigError;
use crate::issuer::{Issuer, KeySource};
use crate::jwks::KeySet;
use crate::jwks::fetch::{self, FetchPolicy};
use crate::jwks::store::{RefreshPolicy, Source};
use crate::pipeline::{AnswerSettings, IssuerSettings, KeySettings, Settings};
use crate::policy::matcher::{Routes, TooLarge};
use crate::token::jws::TypPolicy;
use crate::token::validate::IssuerMatch;

/// Checks everything that can be checked before the first request.
pub(super) fn settings(mut b: Builder) -> Result<Settings, ConfigError> {
    let (issuers, shorthand) = trusted(&mut b)?;
    if let ChallengeStyle::Rfc9470 {
        acr_values,
        max_age: None,
    } = &b.style
        && acr_values.as_deref().is_none_or(str::is_empty)
        && b.mfa.max_age.is_none()
    {
        return Err(ConfigError::invalid(
            "challenge_style",
            format!("{:?}", b.style),
            "the RFC 9470 challenge needs acr_values, max_age or both (or an MFA policy with max_age)",
        ));
    }
    if let Some(url) = &b.step_up {
        check_step_up(url).map_err(|problem| {
            ConfigError::invalid("step_up_url", url, format!("{url:?} {problem}"))
        })?;
    }
    for (i, rule) in b.rules.iter().enumerate() {
        if let Some((pattern, problem)) = rule.config_error() {
            return Err(ConfigError::invalid(
                format!("rules[{i}].pattern"),
                pattern,
                format!("{pattern:?} is not a route pattern: {problem}"),
            ));
        }
    }
    let routes = Routes::new(&b.rules).map_err(|TooLarge| {
        ConfigError::invalid(
            "rules",
            format!("{} rules", b.rules.len()),
            "too many route rules: their compiled form needs 32-bit indices",
        )
    })?;
    let defaults = Defaults {
        leeway: b.leeway,
        typ: b.typ,
        refresh: &b.refresh,
        fetch: &b.fetch,
    };
    let mut checked: Vec<IssuerSettings> = Vec::with_capacity(issuers.len());
    for (i, issuer) in issuers.into_iter().enumerate() {
        let one = check_issuer(issuer, i, shorthand, &defaults)?;
        if let Some(other) = checked.iter().find(|o| o.name == one.name) {
            return Err(ConfigError::invalid(
                format!("issuers[{i}].name"),
                &*one.name,
                format!("duplicate issuer name {:?}", other.name),
            ));
        }
        if let Some(other) = checked.iter().find(|o| o.issuer.overlaps(&one.issuer)) {
            return Err(ConfigError::OverlappingIssuers {
                first: other.name.to_string(),
                second: one.name.to_string(),
                first_issuer: other.issuer.text(),
                second_issuer: one.issuer.text(),
            });
        }
        checked.push(one);
    }
    let client = match b.client {
        Some(client) => client,
        None => fetch::default_client(&b.fetch).map_err(|e| ConfigError::HttpClient {
            reason: e.to_string(),
        })?,
    };
    Ok(Settings {
        issuers: checked,
        max_lifetime: b.max_lifetime,
        keys: KeySettings {
            client,
            fetch: b.fetch,
        },
        rules: b.rules,
        routes,
        default_access: b.default_access,
        sources: b.sources,
        max_token_len: b.max_token_len,
        mfa: b.mfa,
        app_only: b.app_only,
        exemptions: b.exemptions,
        answers: AnswerSettings {
            realm: b.realm,
            style: b.style,
            keys_unavailable: b.unavailable_status,
            step_up: b.step_up,
            claims_challenge: b.claims_challenge,
        },
        clock: b.clock,
        cache_bytes: b.cache_bytes,
    })
}

/// The issuers the layer trusts: those given to [`Builder::trust`], or the
/// one the single-issuer settings describe (mixing both is an error).
fn trusted(b: &mut Builder) -> Result<(Vec<Issuer>, bool), ConfigError> {
    if b.issuers.is_empty() {
        let issuer = b
            .issuer
            .take()
            .ok_or(ConfigError::Missing { setting: "issuer" })?;
        if b.audiences.is_empty() {
            return Err(ConfigError::Missing {
                setting: "audience",
            });
        }
        let mut one = Issuer::new("default", issuer);
        one.audiences = std::mem::take(&mut b.audiences);
        one.keys = std::mem::take(&mut b.keys);
        one.tenants = std::mem::take(&mut b.tenants);
        return Ok((vec![one], true));
    }
    let shorthand = [
        ("issuer", b.issuer.is_some()),
        ("audience", !b.audiences.is_empty()),
        ("keys", !matches!(b.keys, KeySource::None)),
        ("tenants", b.tenants.is_active()),
    ];
    if let Some((setting, _)) = shorthand.iter().find(|(_, set)| *set) {
        return Err(ConfigError::Conflict {
            first: setting,
            second: "issuers",
        });
    }
    Ok((std::mem::take(&mut b.issuers), false))
}

/// Layer-wide settings an issuer inherits unless it sets its own.
struct Defaults<'a> {
    leeway: std::time::Duration,
    typ: TypPolicy,
    refresh: &'a RefreshPolicy,
    fetch: &'a FetchPolicy,
}

/// Checks one issuer (`i`: its place, for error messages; the one-issuer
/// `shorthand` keeps its settings' own names).
fn check_issuer(
    issuer: Issuer,
    i: usize,
    shorthand: bool,
    d: &Defaults<'_>,
) -> Result<IssuerSettings, ConfigError> {
    let at = |field: &str| {
        if shorthand {
            field.to_owned()
        } else {
            format!("issuers[{i}].{field}")
        }
    };
    if !Issuer::name_is_valid(&issuer.name) {
        return Err(ConfigError::invalid(
            at("name"),
            &issuer.name,
            format!(
                "{:?} is not a short name (1 to 64 ASCII letters, digits, '-', '_' or '.')",
                issuer.name
            ),
        ));
    }
    if issuer.issuer.is_empty() {
        return Err(ConfigError::invalid(
            at("issuer"),
            "",
            "the issuer must not be empty",
        ));
    }
    if issuer.audiences.is_empty() {
        return Err(ConfigError::invalid(
            at("audiences"),
            "[]",
            format!("issuer {:?} needs at least one audience", issuer.name),
        ));
    }
    let matcher = IssuerMatch::new(&issuer.issuer);
    let allow_http_loopback = d.fetch.allow_http_loopback;
    let url = |setting: &str, url: &str| -> Result<Url, ConfigError> {
        let parsed = Url::parse(url)
            .map_err(|_| ConfigError::invalid(at(setting), url, format!("{url:?} is not a URL")))?;
        fetch::check_url(&parsed, allow_http_loopback).map_err(|_| {
            ConfigError::invalid(
                at(setting),
                url,
                format!("{url:?} must be https (http only on loopback, when allowed)"),
            )
        })?;
        Ok(parsed)
    };
    let (source, static_keys) = match issuer.keys {
        KeySource::None if shorthand => return Err(ConfigError::Missing { setting: "keys" }),
        KeySource::None => {
            return Err(ConfigError::invalid(
                at("keys"),
                "",
                format!(
                    "issuer {:?} needs a key source (jwks_url, discovery_url or static keys)",
                    issuer.name
                ),
            ));
        }
        KeySource::Static(keys) => (Source::Static, keys),
        KeySource::Jwks(u) => (Source::Jwks(url("jwks_url", &u)?), KeySet::default()),
        KeySource::Discovery(u) => (
            Source::Discovery(url("discovery_url", &u)?),
            KeySet::default(),
        ),
        KeySource::DiscoverFromIssuer => {
            let Some(exact) = matcher.exact() else {
                return Err(ConfigError::invalid(
                    at("issuer"),
                    &issuer.issuer,
                    "discovery from a {tenantid} template issuer is ambiguous: use discovery_url or jwks_url",
                ));
            };
            let base = exact.trim_end_matches('/');
            let discovery = format!("{base}/.well-known/openid-configuration");
            (
                Source::Discovery(url("issuer", &discovery)?),
                KeySet::default(),
            )
        }
    };
    let mut refresh = d.refresh.clone();
    if let Some(cooldown) = issuer.refresh_cooldown {
        refresh.cooldown = cooldown;
    }
    if let Some(interval) = issuer.refresh_interval {
        refresh.interval = interval;
    }
    Ok(IssuerSettings {
        name: issuer.name.into(),
        issuer: matcher,
        audiences: issuer.audiences,
        tenants: issuer.tenants,
        leeway: issuer.leeway.unwrap_or(d.leeway),
        typ: issuer.typ.unwrap_or(d.typ),
        source,
        static_keys,
        refresh,
    })
}
