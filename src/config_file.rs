//! Configuration from a TOML file (feature `config-file`, PRODUCT.md §8).
//!
//! [`Builder::from_toml_str`] and [`Builder::from_toml_file`] read a file
//! into a [`Builder`], which code may refine further before
//! [`build`](Builder::build). [`Exemptions::from_toml_str`] and
//! [`Exemptions::reload_from_toml_str`] read only the `[[exemptions]]` of a
//! file, so they can be reloaded without a restart.
//!
//! Every key is optional (code can supply what the file leaves out), unknown
//! keys are an error, and so are invalid route patterns, HTTP methods, access
//! values and exemptions, with a message naming the place.
//!
//! Instants (`enforce_from`, `expires`) are RFC 3339 date-times with an
//! explicit offset: `2026-06-30T00:00:00Z` or `2026-06-30T02:00:00+02:00`,
//! written bare (a TOML offset date-time) or quoted. A date-time without an
//! offset, a bare date and a number are refused as ambiguous. Durations are
//! whole seconds in keys ending in `_seconds`.
//!
//! A complete file (see also `docs/CONFIGURATION.md`):
//!
//! ```
//! # #[cfg(feature = "config-file")] {
//! const CONFIG: &str = r#"
//! ## Who issues tokens and for whom.
//! issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
//! audiences = ["api://partner-api", "https://api.partnercenter.microsoft.com"]
//! ## Exactly one of jwks_url and discovery_url (or neither, and static keys
//! ## from code).
//! jwks_url = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
//! ## discovery_url = "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
//! allow_http_loopback = false
//!
//! ## public | optional | authenticated | mfa, for requests no rule matches.
//! default_access = "authenticated"
//! ## What `mfa` routes do with app-only tokens: allow | deny | require_mfa.
//! app_only = "allow"
//! leeway_seconds = 60
//! max_lifetime_seconds = 172800
//! realm = "partner-api"
//! step_up_url = "https://portal.example.com/step-up?return_to={return_to}"
//! token_cookie = "access_token"
//!
//! [mfa]
//! equivalents = ["ngcmfa", "http://schemas.microsoft.com/claims/multipleauthn"]
//! read_long_amr_claims = false
//! derive_from_factors = false
//! accept_acr = ["c1"]
//! accept_auth_contexts = []
//! max_age_seconds = 43200
//!
//! [tenants]
//! allow = ["df845f1a-7b35-40a2-ba78-6481de91f8ae", "72f988bf-86f1-41af-91ab-2d7cd011db47"]
//! deny = []
//!
//! ## First match wins.
//! [[rules]]
//! pattern = "/healthz"
//! access = "public"
//!
//! [[rules]]
//! name = "invoices"
//! pattern = "/v1/invoices/**"
//! access = "mfa"
//! methods = ["GET", "POST"]
//! scopes = ["Invoices.Read"]
//! roles = []
//!
//! [[rules]]
//! pattern = "/v1/**"
//! access = "mfa"
//! mode = "enforce"                   # or "report_only"
//! enforce_from = 2026-03-01T00:00:00Z  # report only before this instant
//!
//! [[rules]]
//! pattern = "/dashboard"
//! access = "authenticated"
//!
//! ## Technical exception requests: one of tenant, user (oid) or app (client id).
//! ## An app exemption covers the app's app-only tokens; `delegated = true`
//! ## also lets every user signing in through it skip MFA. `tenant` beside
//! ## `user` or `app` limits the exemption to that tenant.
//! [[exemptions]]
//! id = "EXC-2025-014"
//! tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
//! reason = "reporting robot of a CSP partner; MFA registration in progress"
//! expires = 2026-06-30T00:00:00Z
//!
//! [[exemptions]]
//! id = "EXC-2025-015"
//! app = "23ec45a3-5127-4185-9eff-c8887839e6ab"
//! reason = "legacy invoice export"
//! expires = "2026-01-31T18:00:00+01:00"
//! "#;
//!
//! let builder = tower_mfa::Builder::from_toml_str(CONFIG)?;
//! let exemptions = builder.exemptions_handle();
//! assert_eq!(exemptions.len(), 2);
//! let layer = builder.build()?;
//! // Later: reload only the exemptions (from the same file or another one).
//! exemptions.reload_from_toml_str(CONFIG)?;
//! # let _ = layer;
//! # }
//! # Ok::<(), tower_mfa::ConfigError>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::value::{Datetime, Offset};

use crate::config::Builder;
use crate::error::ConfigError;
use crate::policy::caller::AppOnly;
use crate::policy::exempt::{ExemptSubject, Exemption, Exemptions};
use crate::policy::mfa::MfaPolicy;
use crate::policy::route::{Access, Pattern, Rule};

/// The whole file. Every key is optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    issuer: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
    jwks_url: Option<String>,
    discovery_url: Option<String>,
    allow_http_loopback: Option<bool>,
    default_access: Option<AccessName>,
    app_only: Option<AppOnlyName>,
    #[serde(default)]
    rules: Vec<RuleFile>,
    mfa: Option<MfaFile>,
    leeway_seconds: Option<u64>,
    max_lifetime_seconds: Option<u64>,
    realm: Option<String>,
    step_up_url: Option<String>,
    token_cookie: Option<String>,
    tenants: Option<TenantsFile>,
    #[serde(default)]
    exemptions: Vec<ExemptionFile>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum AccessName {
    Public,
    Optional,
    Authenticated,
    Mfa,
}

impl From<AccessName> for Access {
    fn from(a: AccessName) -> Self {
        match a {
            AccessName::Public => Self::Public,
            AccessName::Optional => Self::Optional,
            AccessName::Authenticated => Self::Authenticated,
            AccessName::Mfa => Self::Mfa,
        }
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum AppOnlyName {
    Allow,
    Deny,
    RequireMfa,
}

#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ModeName {
    #[default]
    Enforce,
    ReportOnly,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    pattern: String,
    access: AccessName,
    name: Option<String>,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    mode: ModeName,
    enforce_from: Option<Instant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MfaFile {
    equivalents: Option<Vec<String>>,
    #[serde(default)]
    read_long_amr_claims: bool,
    #[serde(default)]
    derive_from_factors: bool,
    #[serde(default)]
    accept_acr: Vec<String>,
    #[serde(default)]
    accept_auth_contexts: Vec<String>,
    max_age_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptionFile {
    id: String,
    tenant: Option<String>,
    user: Option<String>,
    app: Option<String>,
    #[serde(default)]
    delegated: bool,
    reason: String,
    expires: Instant,
}

/// An RFC 3339 date-time with an explicit offset, bare or quoted.
struct Instant(SystemTime);

const INSTANT_EXPECTED: &str = "an RFC 3339 date-time with an offset, such as 2026-06-30T00:00:00Z";

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InstantVisitor;

        impl<'de> Visitor<'de> for InstantVisitor {
            type Value = Instant;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(INSTANT_EXPECTED)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Instant, A::Error> {
                let dt = Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                to_system_time(&dt).map(Instant).map_err(de::Error::custom)
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Instant, E> {
                let dt: Datetime = s
                    .parse()
                    .map_err(|e| E::custom(format!("{s:?} is not {INSTANT_EXPECTED}: {e}")))?;
                to_system_time(&dt).map(Instant).map_err(E::custom)
            }
        }

        deserializer.deserialize_any(InstantVisitor)
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn to_system_time(dt: &Datetime) -> Result<SystemTime, String> {
    let (Some(date), Some(time), Some(offset)) = (dt.date, dt.time, dt.offset) else {
        return Err(format!(
            "{dt} has no offset; expected {INSTANT_EXPECTED} (a local time is ambiguous)"
        ));
    };
    let offset_minutes = match offset {
        Offset::Z => 0,
        Offset::Custom { minutes } => i64::from(minutes),
    };
    let days = days_from_civil(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    let secs = days * 86_400
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second.unwrap_or(0))
        - offset_minutes * 60;
    let secs = u64::try_from(secs).map_err(|_| format!("{dt} is before 1970"))?;
    Ok(UNIX_EPOCH + Duration::new(secs, time.nanosecond.unwrap_or(0)))
}

fn parse(text: &str, origin: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::new(format!("{origin}{e}")))
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", path.display())))
}

fn exemptions(list: Vec<ExemptionFile>, origin: &str) -> Result<Vec<Exemption>, ConfigError> {
    let mut ids = HashSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, e) in list.into_iter().enumerate() {
        let at = |msg: String| ConfigError::new(format!("{origin}exemptions[{i}]: {msg}"));
        if e.id.trim().is_empty() {
            return Err(at("`id` must not be empty".into()));
        }
        if !ids.insert(e.id.clone()) {
            return Err(at(format!("duplicate id {:?}", e.id)));
        }
        if e.reason.trim().is_empty() {
            return Err(at(format!("{:?}: `reason` must not be empty", e.id)));
        }
        // `tenant` alone names the tenant; beside `user` or `app` it limits
        // that exemption to the tenant.
        let (subject, limit) = match (e.tenant, e.user, e.app) {
            (Some(t), None, None) => (ExemptSubject::Tenant(t), None),
            (t, Some(u), None) => (ExemptSubject::User(u), t),
            (t, None, Some(a)) => (ExemptSubject::App(a), t),
            _ => {
                return Err(at(format!(
                    "{:?}: set exactly one of `tenant`, `user` or `app` (`tenant` may limit a `user` or `app`)",
                    e.id
                )));
            }
        };
        if e.delegated && !matches!(subject, ExemptSubject::App(_)) {
            return Err(at(format!(
                "{:?}: `delegated` applies to `app` exemptions only",
                e.id
            )));
        }
        if limit.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(at(format!("{:?}: `tenant` must not be empty", e.id)));
        }
        if subject.value().trim().is_empty() {
            return Err(at(format!(
                "{:?}: `{}` must not be empty",
                e.id,
                subject.kind()
            )));
        }
        let mut exemption =
            Exemption::new(e.id, subject, e.reason, e.expires.0).delegated(e.delegated);
        exemption.tenant = limit;
        out.push(exemption);
    }
    Ok(out)
}

fn rule(r: RuleFile, i: usize, origin: &str) -> Result<Rule, ConfigError> {
    let at = |msg: String| {
        ConfigError::new(format!(
            "{origin}rules[{i}] (pattern {:?}): {msg}",
            r.pattern
        ))
    };
    Pattern::parse(&r.pattern).map_err(|e| at(e.to_owned()))?;
    let mut rule = Rule::new(r.access.into(), &r.pattern);
    if let Some(name) = &r.name {
        rule = rule.name(name);
    }
    for m in &r.methods {
        let method = Method::from_bytes(m.as_bytes())
            .ok()
            .filter(|_| !m.bytes().any(|b| b.is_ascii_lowercase()))
            .ok_or_else(|| {
                at(format!(
                    "{m:?} is not an HTTP method (methods are case-sensitive: GET, POST, ...)"
                ))
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
    Ok(rule)
}

fn builder(file: FileConfig, origin: &str) -> Result<Builder, ConfigError> {
    let mut b = Builder::new();
    if let Some(issuer) = file.issuer {
        b = b.issuer(issuer);
    }
    for aud in file.audiences {
        b = b.audience(aud);
    }
    match (file.jwks_url, file.discovery_url) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(format!(
                "{origin}set `jwks_url` or `discovery_url`, not both"
            )));
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
    if let Some(app_only) = file.app_only {
        b = b.app_only(match app_only {
            AppOnlyName::Allow => AppOnly::Allow,
            AppOnlyName::Deny => AppOnly::Deny,
            AppOnlyName::RequireMfa => AppOnly::RequireMfa,
        });
    }
    for (i, r) in file.rules.into_iter().enumerate() {
        b = b.rule(rule(r, i, origin)?);
    }
    if let Some(m) = file.mfa {
        let mut policy = MfaPolicy::new()
            .read_long_amr_claims(m.read_long_amr_claims)
            .derive_from_factors(m.derive_from_factors)
            .accept_acr(m.accept_acr)
            .accept_auth_contexts(m.accept_auth_contexts);
        if let Some(values) = m.equivalents {
            policy = policy.equivalent_amr_values(values);
        }
        if let Some(secs) = m.max_age_seconds {
            policy = policy.max_age(Duration::from_secs(secs));
        }
        b = b.mfa_policy(policy);
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
    if let Some(url) = file.step_up_url {
        b = b.step_up_url(url);
    }
    if let Some(cookie) = file.token_cookie {
        b = b.token_cookie(cookie);
    }
    if let Some(t) = file.tenants {
        b = b.allow_tenants(t.allow).deny_tenants(t.deny);
    }
    let list = exemptions(file.exemptions, origin)?;
    Ok(b.exemptions(Exemptions::new(list)))
}

impl Builder {
    /// A builder configured from a TOML document (see [`config_file`](crate::config_file)
    /// for the format). Code may set more before [`build`](Builder::build);
    /// the file's `[[exemptions]]` are in [`exemptions_handle`](Builder::exemptions_handle).
    ///
    /// # Errors
    /// For a TOML syntax error, an unknown key, a value of the wrong type or
    /// out of range (access, mode, `app_only`, instants), an invalid route
    /// pattern or HTTP method, both `jwks_url` and `discovery_url`, or an
    /// invalid exemption (empty id or reason, duplicate id, not exactly one
    /// of `tenant`, `user`, `app`). What only [`build`](Builder::build)
    /// checks (a missing issuer, an insecure URL...) is reported there.
    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        builder(parse(toml, "")?, "")
    }

    /// [`Builder::from_toml_str`] on the contents of a file; messages name
    /// the file.
    ///
    /// # Errors
    /// When the file cannot be read, and as [`Builder::from_toml_str`].
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let origin = format!("{}: ", path.display());
        builder(parse(&read(path)?, &origin)?, &origin)
    }
}

impl Exemptions {
    /// The `[[exemptions]]` of a TOML document, as a new set. The document
    /// may be a whole configuration file (its other keys are checked, not
    /// applied) or hold only `[[exemptions]]` tables.
    ///
    /// # Errors
    /// As [`Builder::from_toml_str`].
    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(exemptions(parse(toml, "")?.exemptions, "")?))
    }

    /// [`Exemptions::from_toml_str`] on the contents of a file.
    ///
    /// # Errors
    /// When the file cannot be read, and as [`Exemptions::from_toml_str`].
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let origin = format!("{}: ", path.display());
        Ok(Self::new(exemptions(
            parse(&read(path)?, &origin)?.exemptions,
            &origin,
        )?))
    }

    /// Replaces this set's list with the `[[exemptions]]` of a TOML document
    /// (reload without restart). All or nothing: on an error the current
    /// list stays in force.
    ///
    /// # Errors
    /// As [`Exemptions::from_toml_str`].
    pub fn reload_from_toml_str(&self, toml: &str) -> Result<(), ConfigError> {
        self.replace(exemptions(parse(toml, "")?.exemptions, "")?);
        Ok(())
    }

    /// [`Exemptions::reload_from_toml_str`] on the contents of a file.
    ///
    /// # Errors
    /// When the file cannot be read, and as [`Exemptions::from_toml_str`].
    pub fn reload_from_toml_file(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        let path = path.as_ref();
        let origin = format!("{}: ", path.display());
        self.replace(exemptions(
            parse(&read(path)?, &origin)?.exemptions,
            &origin,
        )?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instant(s: &str) -> Result<SystemTime, String> {
        #[derive(Deserialize)]
        struct T {
            at: Instant,
        }
        toml::from_str::<T>(&format!("at = {s}"))
            .map(|t| t.at.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn instants() {
        let t = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(instant("1970-01-01T00:00:00Z"), Ok(t(0)));
        assert_eq!(instant("2000-03-01T00:00:00Z"), Ok(t(951_868_800)));
        assert_eq!(instant("2026-06-30T00:00:00Z"), Ok(t(1_782_777_600)));
        assert_eq!(
            instant("\"2026-06-30T02:00:00+02:00\""),
            Ok(t(1_782_777_600))
        );
        assert_eq!(instant("2026-06-29T19:00:00-05:00"), Ok(t(1_782_777_600)));
        assert_eq!(
            instant("2024-02-29T12:00:00.5Z"),
            Ok(t(1_709_208_000) + Duration::from_millis(500))
        );
        for bad in [
            "2026-06-30T00:00:00",
            "2026-06-30",
            "1782777600",
            "\"tomorrow\"",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(instant(bad).is_err(), "{bad}");
        }
    }
}
