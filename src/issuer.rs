//! [`Issuer`]: one trusted issuer as a value (its `iss` or `{tenantid}`
//! template, audiences, key source, tenant lists, `typ` strictness, leeway).
//! A layer trusts one or more; the token's `iss` picks exactly one.

use std::time::Duration;

use crate::config_error::ConfigError;
use crate::jwks::KeySet;
use crate::token::jws::TypPolicy;
use crate::token::validate::TenantFilter;

/// Where an issuer's keys come from.
#[derive(Debug, Default)]
pub(crate) enum KeySource {
    #[default]
    None,
    Static(KeySet),
    Jwks(String),
    Discovery(String),
    DiscoverFromIssuer,
}

/// One trusted issuer, named by a short name used in logs, metrics and
/// `inspect` (never its URLs). Hand it to
/// [`Builder::trust`](crate::Builder::trust); a layer trusts one or more.
///
/// Each issuer has its own key set, refresh schedule, cooldown and outage
/// state, and a key verifies only tokens of the issuer that published it.
///
/// ```
/// use tower_mfa::{Issuer, RequireMfaLayer};
///
/// let layer = RequireMfaLayer::builder()
///     .trust(
///         Issuer::new("entra-v2", "https://login.microsoftonline.com/{tenantid}/v2.0")
///             .audience("api://partner-api")
///             .jwks_url("https://login.microsoftonline.com/common/discovery/v2.0/keys"),
///     )
///     .trust(
///         Issuer::new("entra-v1", "https://sts.windows.net/{tenantid}/")
///             .audience("api://partner-api")
///             .jwks_url("https://login.microsoftonline.com/common/discovery/keys"),
///     )
///     .build()?;
/// # let _ = layer;
/// # Ok::<(), tower_mfa::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct Issuer {
    pub(crate) name: String,
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) keys: KeySource,
    pub(crate) tenants: TenantFilter,
    pub(crate) typ: Option<TypPolicy>,
    pub(crate) leeway: Option<Duration>,
    pub(crate) refresh_cooldown: Option<Duration>,
    pub(crate) refresh_interval: Option<Duration>,
}

/// Longest short name of an issuer.
const MAX_NAME_LEN: usize = 64;

impl Issuer {
    /// An issuer with a short `name` (ASCII letters, digits, `-`, `_`, `.`;
    /// at most 64) and its `iss`, compared exactly; a `{tenantid}`
    /// placeholder makes it a multi-tenant template whose tenant segment
    /// must be a GUID equal to the token's `tid`.
    pub fn new(name: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            issuer: issuer.into(),
            audiences: Vec::new(),
            keys: KeySource::None,
            tenants: TenantFilter::default(),
            typ: None,
            leeway: None,
            refresh_cooldown: None,
            refresh_interval: None,
        }
    }

    /// The short name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds an accepted audience (`aud`). At least one is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Fetches keys from this JWKS URL (no discovery document is fetched).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.keys = KeySource::Jwks(url.into());
        self
    }

    /// Fetches the OIDC discovery document at this URL and follows its `jwks_uri`.
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        self.keys = KeySource::Discovery(url.into());
        self
    }

    /// Uses OIDC discovery at `{issuer}/.well-known/openid-configuration`
    /// (exact issuers only).
    pub fn discover_from_issuer(mut self) -> Self {
        self.keys = KeySource::DiscoverFromIssuer;
        self
    }

    /// Uses these keys and never fetches (tests, air-gapped setups).
    pub fn static_keys(mut self, keys: KeySet) -> Self {
        self.keys = KeySource::Static(keys);
        self
    }

    /// Uses this JWK Set document and never fetches.
    ///
    /// # Errors
    /// When the document is not a JWK Set.
    pub fn static_jwks(self, jwks_json: &[u8]) -> Result<Self, ConfigError> {
        let keys = KeySet::parse(jwks_json).map_err(|_| {
            ConfigError::invalid(
                "static_jwks",
                format!("{} bytes", jwks_json.len()),
                "the document is not a JSON object with a `keys` array",
            )
        })?;
        Ok(self.static_keys(keys))
    }

    /// Only accepts these tenants (`tid`).
    pub fn allow_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tenants
            .allow
            .extend(tenants.into_iter().map(Into::into));
        self
    }

    /// Refuses these tenants (`tid`).
    pub fn deny_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tenants
            .deny
            .extend(tenants.into_iter().map(Into::into));
        self
    }

    /// RFC 9068 strict mode for this issuer's tokens: `typ` must be `at+jwt`
    /// or `application/at+jwt` (default: the layer's setting).
    pub fn strict_rfc9068(mut self, yes: bool) -> Self {
        self.typ = Some(if yes {
            TypPolicy::Rfc9068
        } else {
            TypPolicy::Lenient
        });
        self
    }

    /// Clock skew allowed on this issuer's `exp`, `nbf`, `iat` (default:
    /// the layer's leeway, 60 s unless set).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Minimum time between two unknown-`kid` refreshes of this issuer's
    /// keys (default: the layer's).
    pub fn refresh_cooldown(mut self, cooldown: Duration) -> Self {
        self.refresh_cooldown = Some(cooldown);
        self
    }

    /// Background refresh interval of this issuer's keys when its server
    /// sends no `max-age` (default: the layer's).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = Some(interval);
        self
    }

    /// Whether `name` is a short name fit for logs and metric labels.
    pub(crate) fn name_is_valid(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    }
}
