//! The file format as serde types: every key optional, unknown keys refused,
//! instants as RFC 3339 date-times with an explicit offset.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::value::{Datetime, Offset};

use super::requirement::{ChallengeFile, ClaimsChallengeFile, MfaFile, RequirementFile};
use crate::dpop::Sender;
use crate::policy::route::Access;
use crate::time::DateTime;

/// The whole file. Every key is optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) issuer: Option<String>,
    #[serde(default)]
    pub(super) audiences: Vec<String>,
    pub(super) jwks_url: Option<String>,
    pub(super) discovery_url: Option<String>,
    pub(super) allow_http_loopback: Option<bool>,
    pub(super) default_access: Option<AccessName>,
    pub(super) app_only: Option<AppOnlyName>,
    #[serde(default)]
    pub(super) rules: Vec<RuleFile>,
    pub(super) mfa: Option<MfaFile>,
    pub(super) challenge: Option<ChallengeFile>,
    pub(super) entra_claims_challenge: Option<ClaimsChallengeFile>,
    #[serde(default)]
    pub(super) requirements: BTreeMap<String, RequirementFile>,
    pub(super) keys_unavailable: Option<KeysUnavailableName>,
    pub(super) leeway_seconds: Option<u64>,
    pub(super) max_lifetime_seconds: Option<u64>,
    pub(super) strict_rfc9068: Option<bool>,
    pub(super) max_token_len: Option<usize>,
    pub(super) fetch_timeout_seconds: Option<u64>,
    pub(super) max_jwks_bytes: Option<usize>,
    pub(super) refresh_cooldown_seconds: Option<u64>,
    pub(super) refresh_interval_seconds: Option<u64>,
    pub(super) token_cache_bytes: Option<u64>,
    pub(super) realm: Option<String>,
    pub(super) step_up_url: Option<String>,
    pub(super) token_cookie: Option<String>,
    pub(super) tenants: Option<TenantsFile>,
    #[serde(default)]
    pub(super) exemptions: Vec<ExemptionFile>,
    pub(super) dpop: Option<DpopFile>,
    pub(super) resource_metadata: Option<MetadataFile>,
    #[serde(default)]
    pub(super) issuers: Vec<IssuerFile>,
}

/// The `[resource_metadata]` table (RFC 9728).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetadataFile {
    pub(super) resource: String,
    #[serde(default)]
    pub(super) authorization_servers: Vec<String>,
    pub(super) scopes_supported: Option<Vec<String>>,
    pub(super) bearer_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(super) tls_client_certificate_bound_access_tokens: bool,
    pub(super) resource_name: Option<String>,
    pub(super) resource_documentation: Option<String>,
}

/// One `[[issuers]]` table: a trusted issuer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IssuerFile {
    pub(super) name: String,
    pub(super) issuer: String,
    #[serde(default)]
    pub(super) audiences: Vec<String>,
    pub(super) jwks_url: Option<String>,
    pub(super) discovery_url: Option<String>,
    /// A JWK Set document (JSON) used as static keys, never fetched.
    pub(super) static_jwks: Option<String>,
    pub(super) tenants: Option<TenantsFile>,
    pub(super) strict_rfc9068: Option<bool>,
    pub(super) leeway_seconds: Option<u64>,
    pub(super) refresh_cooldown_seconds: Option<u64>,
    pub(super) refresh_interval_seconds: Option<u64>,
}

/// The `[dpop]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DpopFile {
    pub(super) public_origin: Option<String>,
    #[serde(default)]
    pub(super) trust_forwarded_headers: bool,
    pub(super) window_seconds: Option<u64>,
    pub(super) replay_capacity: Option<usize>,
    /// The environment variable holding the nonce secret (secrets stay out
    /// of the file); nonces are off without it.
    pub(super) nonce_secret_env: Option<String>,
    pub(super) nonce_rotation_seconds: Option<u64>,
}

/// A rule's `sender`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum SenderName {
    Bearer,
    DpopAllowed,
    DpopRequired,
    MtlsRequired,
}

impl From<SenderName> for Sender {
    fn from(s: SenderName) -> Self {
        match s {
            SenderName::Bearer => Self::Bearer,
            SenderName::DpopAllowed => Self::DpopAllowed,
            SenderName::DpopRequired => Self::DpopRequired,
            SenderName::MtlsRequired => Self::MtlsRequired,
        }
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum AccessName {
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
pub(super) enum KeysUnavailableName {
    ServiceUnavailable,
    Unauthorized,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum AppOnlyName {
    Allow,
    Deny,
    RequireMfa,
}

#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum ModeName {
    #[default]
    Enforce,
    ReportOnly,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    pub(super) pattern: String,
    pub(super) access: AccessName,
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) methods: Vec<String>,
    #[serde(default)]
    pub(super) scopes: Vec<String>,
    #[serde(default)]
    pub(super) roles: Vec<String>,
    #[serde(default)]
    pub(super) mode: ModeName,
    pub(super) enforce_from: Option<Instant>,
    pub(super) sender: Option<SenderName>,
    pub(super) requirement: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantsFile {
    #[serde(default)]
    pub(super) allow: Vec<String>,
    #[serde(default)]
    pub(super) deny: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExemptionFile {
    pub(super) id: String,
    pub(super) tenant: Option<String>,
    pub(super) user: Option<String>,
    pub(super) app: Option<String>,
    #[serde(default)]
    pub(super) delegated: bool,
    pub(super) reason: String,
    pub(super) expires: Instant,
}

/// An RFC 3339 date-time with an explicit offset, bare or quoted.
pub(super) struct Instant(pub(super) SystemTime);

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
    DateTime {
        year: i64::from(date.year),
        month: i64::from(date.month),
        day: i64::from(date.day),
        hour: i64::from(time.hour),
        minute: i64::from(time.minute),
        second: i64::from(time.second.unwrap_or(0)),
        nanosecond: time.nanosecond.unwrap_or(0),
        offset_minutes,
    }
    .to_system_time()
    .ok_or_else(|| format!("{dt} is before 1970"))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

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
