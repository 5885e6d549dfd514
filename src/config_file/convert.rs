//! From the file's serde types to the crate's: rules, exemptions and a
//! [`Builder`], each fault a [`ConfigError`] naming its place.

use std::collections::HashSet;
use std::time::Duration;

use http::Method;

use super::requirement::{RequirementFile, requirement};
use super::schema::{
    DpopFile, ExemptionFile, FileConfig, KeysUnavailableName, MetadataFile, ModeName, RuleFile,
};
use crate::challenge::KeysUnavailableStatus;
use crate::config_error::ConfigError;
use crate::dpop::DpopConfig;
use crate::layer::Builder;
use crate::metadata::ResourceMetadata;
use crate::policy::exempt::{ExemptSubject, Exemption, Exemptions};
use crate::policy::pattern::Pattern;
use crate::policy::requirement::Requirement;
use crate::policy::route::Rule;

pub(super) fn exemptions(list: Vec<ExemptionFile>) -> Result<Vec<Exemption>, ConfigError> {
    let mut ids = HashSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, e) in list.into_iter().enumerate() {
        let at = |field: &str, value: &str, problem: String| {
            let setting = if field.is_empty() {
                format!("exemptions[{i}]")
            } else {
                format!("exemptions[{i}].{field}")
            };
            ConfigError::invalid(setting, value, problem)
        };
        if e.id.trim().is_empty() {
            return Err(at("id", &e.id, "`id` must not be empty".into()));
        }
        if !ids.insert(e.id.clone()) {
            return Err(at("id", &e.id, format!("duplicate id {:?}", e.id)));
        }
        if e.reason.trim().is_empty() {
            return Err(at(
                "reason",
                &e.reason,
                format!("{:?}: `reason` must not be empty", e.id),
            ));
        }
        // `tenant` alone names the tenant; beside `user` or `app` it limits
        // that exemption to the tenant.
        let (subject, limit) = match (e.tenant, e.user, e.app) {
            (Some(t), None, None) => (ExemptSubject::Tenant(t), None),
            (t, Some(u), None) => (ExemptSubject::User(u), t),
            (t, None, Some(a)) => (ExemptSubject::App(a), t),
            _ => {
                return Err(at(
                    "",
                    &e.id,
                    format!(
                        "{:?}: set exactly one of `tenant`, `user` or `app` (`tenant` may limit a `user` or `app`)",
                        e.id
                    ),
                ));
            }
        };
        if e.delegated && !matches!(subject, ExemptSubject::App(_)) {
            return Err(at(
                "delegated",
                "true",
                format!("{:?}: `delegated` applies to `app` exemptions only", e.id),
            ));
        }
        if let Some(tenant) = limit.as_deref().filter(|t| t.trim().is_empty()) {
            return Err(at(
                "tenant",
                tenant,
                format!("{:?}: `tenant` must not be empty", e.id),
            ));
        }
        if subject.value().trim().is_empty() {
            return Err(at(
                subject.kind(),
                subject.value(),
                format!("{:?}: `{}` must not be empty", e.id, subject.kind()),
            ));
        }
        let mut exemption =
            Exemption::new(e.id, subject, e.reason, e.expires.0).delegated(e.delegated);
        exemption.tenant = limit;
        out.push(exemption);
    }
    Ok(out)
}

fn rule(r: RuleFile, i: usize) -> Result<Rule, ConfigError> {
    Pattern::parse(&r.pattern).map_err(|problem| {
        ConfigError::invalid(
            format!("rules[{i}].pattern"),
            &r.pattern,
            format!("{:?} is not a route pattern: {problem}", r.pattern),
        )
    })?;
    let mut rule = Rule::new(r.access.into(), &r.pattern);
    if let Some(name) = &r.name {
        rule = rule.name(name);
    }
    for m in &r.methods {
        let method = Method::from_bytes(m.as_bytes())
            .ok()
            .filter(|_| !m.bytes().any(|b| b.is_ascii_lowercase()))
            .ok_or_else(|| {
                ConfigError::invalid(
                    format!("rules[{i}].methods"),
                    m,
                    format!(
                        "{m:?} is not an HTTP method (methods are case-sensitive: GET, POST, ...)"
                    ),
                )
            })?;
        rule = rule.method(method);
    }
    for s in &r.scopes {
        rule = rule.require_scope(s);
    }
    for role in &r.roles {
        rule = rule.require_role(role);
    }
    if r.mode == ModeName::ReportOnly {
        rule = rule.report_only();
    }
    if let Some(from) = r.enforce_from {
        rule = rule.enforce_from(from.0);
    }
    if let Some(sender) = r.sender {
        rule = rule.sender(sender.into());
    }
    if let Some(name) = &r.requirement {
        rule = rule.requirement(name);
    }
    Ok(rule)
}

fn dpop(d: DpopFile) -> Result<DpopConfig, ConfigError> {
    let mut config = DpopConfig::new().trust_forwarded_headers(d.trust_forwarded_headers);
    if let Some(origin) = d.public_origin {
        config = config.public_origin(origin);
    }
    if let Some(secs) = d.window_seconds {
        config = config.window(Duration::from_secs(secs));
    }
    if let Some(capacity) = d.replay_capacity {
        config = config.replay_capacity(capacity);
    }
    let rotation = Duration::from_secs(d.nonce_rotation_seconds.unwrap_or(300));
    if let Some(var) = d.nonce_secret_env {
        // The secret itself is never echoed in the error.
        let secret = std::env::var(&var).map_err(|_| {
            ConfigError::invalid(
                "dpop.nonce_secret_env",
                &var,
                format!("the environment variable {var:?} is not set (or not UTF-8)"),
            )
        })?;
        config = config.nonces(secret.into_bytes(), rotation);
    }
    Ok(config)
}

fn metadata(m: MetadataFile) -> ResourceMetadata {
    let mut meta = ResourceMetadata::new(m.resource)
        .tls_client_certificate_bound_access_tokens(m.tls_client_certificate_bound_access_tokens);
    for server in m.authorization_servers {
        meta = meta.authorization_server(server);
    }
    if let Some(scopes) = m.scopes_supported {
        meta = meta.scopes_supported(scopes);
    }
    if let Some(methods) = m.bearer_methods_supported {
        meta = meta.bearer_methods_supported(methods);
    }
    if let Some(name) = m.resource_name {
        meta = meta.resource_name(name);
    }
    if let Some(url) = m.resource_documentation {
        meta = meta.resource_documentation(url);
    }
    meta
}

pub(super) fn builder(file: FileConfig) -> Result<Builder, ConfigError> {
    let mut b = Builder::new();
    if let Some(issuer) = file.issuer {
        b = b.issuer(issuer);
    }
    for aud in file.audiences {
        b = b.audience(aud);
    }
    match (file.jwks_url, file.discovery_url) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Conflict {
                first: "jwks_url",
                second: "discovery_url",
            });
        }
        (Some(url), None) => b = b.jwks_url(url),
        (None, Some(url)) => b = b.discovery_url(url),
        (None, None) => {}
    }
    if let Some(yes) = file.allow_http_loopback {
        b = b.allow_http_loopback(yes);
    }
    if let Some(access) = file.default_access {
        b = b.default_access(access.into());
    }
    for (i, r) in file.rules.into_iter().enumerate() {
        b = b.rule(rule(r, i)?);
    }
    let default = RequirementFile {
        mfa: file.mfa,
        app_only: file.app_only,
        step_up_url: file.step_up_url,
        challenge: file.challenge,
        entra_claims_challenge: file.entra_claims_challenge,
    };
    b = b.default_requirement(requirement(default, Requirement::mfa(), "")?);
    for (name, r) in file.requirements {
        if name.trim().is_empty() {
            return Err(ConfigError::invalid(
                "requirements",
                &name,
                "a requirement name must not be empty",
            ));
        }
        let prefix = format!("requirements.{name}.");
        b = b.requirement(name, requirement(r, Requirement::mfa(), &prefix)?);
    }
    if let Some(status) = file.keys_unavailable {
        b = b.keys_unavailable_status(match status {
            KeysUnavailableName::ServiceUnavailable => KeysUnavailableStatus::ServiceUnavailable,
            KeysUnavailableName::Unauthorized => KeysUnavailableStatus::Unauthorized,
        });
    }
    if let Some(yes) = file.strict_rfc9068 {
        b = b.strict_rfc9068(yes);
    }
    if let Some(len) = file.max_token_len {
        b = b.max_token_len(len);
    }
    if let Some(secs) = file.fetch_timeout_seconds {
        b = b.fetch_timeout(Duration::from_secs(secs));
    }
    if let Some(bytes) = file.max_jwks_bytes {
        b = b.max_jwks_bytes(bytes);
    }
    if let Some(secs) = file.refresh_cooldown_seconds {
        b = b.refresh_cooldown(Duration::from_secs(secs));
    }
    if let Some(secs) = file.refresh_interval_seconds {
        b = b.refresh_interval(Duration::from_secs(secs));
    }
    if let Some(bytes) = file.token_cache_bytes {
        b = b.token_cache_bytes(bytes);
    }
    if let Some(secs) = file.leeway_seconds {
        b = b.leeway(Duration::from_secs(secs));
    }
    if let Some(secs) = file.max_lifetime_seconds {
        b = b.max_lifetime(Duration::from_secs(secs));
    }
    if let Some(realm) = file.realm {
        b = b.realm(realm);
    }
    if let Some(cookie) = file.token_cookie {
        b = b.token_cookie(cookie);
    }
    if let Some(t) = file.tenants {
        b = b.allow_tenants(t.allow).deny_tenants(t.deny);
    }
    if let Some(d) = file.dpop {
        b = b.dpop(dpop(d)?);
    }
    if let Some(m) = file.resource_metadata {
        b = b.resource_metadata(metadata(m));
    }
    b = super::issuers::trust(b, file.issuers)?;
    let list = exemptions(file.exemptions)?;
    Ok(b.exemptions(Exemptions::new(list)))
}
