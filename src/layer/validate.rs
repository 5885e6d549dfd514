//! [`Builder::build`]'s checks: a [`Builder`] becomes plain [`Settings`], or
//! a [`ConfigError`] naming the setting and the value at fault.

use url::Url;

use super::builder::Builder;
use crate::challenge::{ChallengeStyle, check_step_up};
use crate::config_error::ConfigError;
use crate::dpop::htu;
use crate::issuer::{Issuer, KeySource};
use crate::jwks::KeySet;
use crate::jwks::fetch::{self, FetchPolicy};
use crate::jwks::store::{RefreshPolicy, Source};
use crate::pipeline::{AnswerSettings, IssuerSettings, KeySettings, Settings};
use crate::policy::matcher::{Routes, TooLarge};
use crate::policy::requirement::Requirement;
use crate::policy::route::{Access, Rule};
use crate::token::jws::TypPolicy;
use crate::token::validate::IssuerMatch;

/// Checks everything that can be checked before the first request.
pub(super) fn settings(mut b: Builder) -> Result<Settings, ConfigError> {
    check_dpop(&b)?;
    let metadata = match &b.metadata {
        Some(meta) => Some(crate::metadata::check::publish(
            meta,
            &b.rules,
            b.dpop.is_some(),
            b.fetch.allow_http_loopback,
        )?),
        None => None,
    };
    let (issuers, shorthand) = trusted(&mut b)?;
    check_requirement(&b.requirement, "")?;
    for (name, requirement) in &b.requirements {
        check_requirement(requirement, &format!("requirements.{name}."))?;
    }
    let mut rules = b.rules;
    for (i, rule) in rules.iter_mut().enumerate() {
        rule.requirement_index = requirement_index(rule, i, &b.requirements)?;
    }
    for (i, rule) in rules.iter().enumerate() {
        if let Some((pattern, problem)) = rule.config_error() {
            return Err(ConfigError::invalid(
                format!("rules[{i}].pattern"),
                pattern,
                format!("{pattern:?} is not a route pattern: {problem}"),
            ));
        }
    }
    let routes = Routes::new(&rules).map_err(|TooLarge| {
        ConfigError::invalid(
            "rules",
            format!("{} rules", rules.len()),
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
        rules,
        routes,
        default_access: b.default_access,
        sources: b.sources,
        max_token_len: b.max_token_len,
        requirements: std::iter::once(b.requirement)
            .chain(b.requirements.into_iter().map(|(_, r)| r))
            .collect(),
        exemptions: b.exemptions,
        answers: AnswerSettings {
            realm: b.realm,
            keys_unavailable: b.unavailable_status,
            renderer: b.renderer,
            browser: b.browser,
        },
        clock: b.clock,
        cache_bytes: b.cache_bytes,
        dpop: b.dpop,
        metadata,
    })
}

/// The issuers the layer trusts: those given to [`Builder::trust`], or the
/// one the single-issuer settings describe (mixing both is an error).
fn trusted(b: &mut Builder) -> Result<(Vec<Issuer>, bool), ConfigError> {
    let shorthand = b.shorthand.take();
    if b.issuers.is_empty() {
        let one = shorthand
            .filter(|_| b.shorthand_iss)
            .ok_or(ConfigError::Missing { setting: "issuer" })?;
        if one.audiences.is_empty() {
            return Err(ConfigError::Missing {
                setting: "audience",
            });
        }
        return Ok((vec![one], true));
    }
    if let Some(one) = shorthand {
        let set = [
            ("issuer", b.shorthand_iss),
            ("audience", !one.audiences.is_empty()),
            ("keys", !matches!(one.keys, KeySource::None)),
            ("tenants", one.tenants.is_active()),
        ];
        if let Some((setting, _)) = set.iter().find(|(_, set)| *set) {
            return Err(ConfigError::Conflict {
                first: setting,
                second: "issuers",
            });
        }
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

/// A rule accepting DPoP needs the DPoP settings, with a public origin or
/// trusted forwarded headers to compare `htu` with.
fn check_dpop(b: &Builder) -> Result<(), ConfigError> {
    if let Some(config) = &b.dpop {
        if let Some(origin) = &config.public_origin
            && !htu::is_origin(origin)
        {
            return Err(ConfigError::invalid(
                "dpop.public_origin",
                origin,
                format!("{origin:?} must be an http(s) origin without path, query or fragment"),
            ));
        }
        if config.replay_capacity == 0 {
            return Err(ConfigError::invalid(
                "dpop.replay_capacity",
                "0",
                "the DPoP replay cache needs room for at least one proof",
            ));
        }
        if config.window.is_zero() {
            return Err(ConfigError::invalid(
                "dpop.window",
                "0s",
                "the DPoP proof window must be longer than zero",
            ));
        }
        if let Some((secret, rotation)) = &config.nonce
            && (secret.len() < 32 || rotation.as_secs() == 0)
        {
            return Err(ConfigError::invalid(
                "dpop.nonce_secret",
                "(secret not shown)",
                "DPoP nonces need a secret of at least 32 bytes and a rotation of at least 1 s",
            ));
        }
    }
    for (i, rule) in b.rules.iter().enumerate() {
        if !rule.sender.accepts_dpop() {
            continue;
        }
        let ready = b
            .dpop
            .as_ref()
            .is_some_and(|c| c.public_origin.is_some() || c.trust_forwarded);
        if !ready {
            return Err(ConfigError::invalid(
                format!("rules[{i}].sender"),
                rule.sender.as_str(),
                "a DPoP rule needs dpop.public_origin or trusted forwarded headers",
            ));
        }
    }
    Ok(())
}

/// Checks one requirement; `prefix` places its settings (empty for the
/// default requirement, `requirements.NAME.` for a named one).
fn check_requirement(r: &Requirement, prefix: &str) -> Result<(), ConfigError> {
    if let ChallengeStyle::Rfc9470 {
        acr_values,
        max_age: None,
    } = &r.style
        && acr_values.as_deref().is_none_or(str::is_empty)
        && r.mfa.max_age.is_none()
    {
        return Err(ConfigError::invalid(
            format!("{prefix}challenge_style"),
            format!("{:?}", r.style),
            "the RFC 9470 challenge needs acr_values, max_age or both (or an MFA policy with max_age)",
        ));
    }
    if let Some(url) = &r.step_up {
        check_step_up(url).map_err(|problem| {
            ConfigError::invalid(
                format!("{prefix}step_up_url"),
                url,
                format!("{url:?} {problem}"),
            )
        })?;
    }
    Ok(())
}

/// The index of the requirement `rule` names (0: the default, `n + 1`: the
/// `n`th registered), or the error naming the rule and the name.
fn requirement_index(
    rule: &Rule,
    i: usize,
    requirements: &[(String, Requirement)],
) -> Result<usize, ConfigError> {
    let Some(name) = rule.requirement.as_deref() else {
        return Ok(0);
    };
    let setting = format!("rules[{i}].requirement");
    if rule.access != Access::Mfa {
        return Err(ConfigError::invalid(
            setting,
            name,
            format!(
                "rule {:?} is not an `mfa` rule, so it cannot name the requirement {name:?}",
                rule.name
            ),
        ));
    }
    requirements
        .iter()
        .position(|(n, _)| n == name)
        .map(|n| n + 1)
        .ok_or_else(|| {
            ConfigError::invalid(
                setting,
                name,
                format!(
                    "rule {:?} names the requirement {name:?}, which is not defined",
                    rule.name
                ),
            )
        })
}
