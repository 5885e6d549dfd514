//! [`Builder`]: the settings of a [`RequireMfaLayer`] (issuer, audiences, key
//! source, route rules, MFA policy, answers), checked by [`Builder::build`].

use std::sync::Arc;
use std::time::Duration;

use super::RequireMfaLayer;
use super::validate;
use crate::cache::DEFAULT_CACHE_BYTES;
use crate::challenge::{IsBrowser, KeysUnavailableStatus, RenderRefusal};
use crate::clock::{Clock, SystemClock};
use crate::config_error::ConfigError;
use crate::dpop::DpopConfig;
use crate::issuer::Issuer;
use crate::jwks::KeySet;
use crate::jwks::fetch::FetchPolicy;
use crate::jwks::store::RefreshPolicy;
use crate::metadata::ResourceMetadata;
use crate::pipeline::Pipeline;
use crate::policy::exempt::Exemptions;
use crate::policy::requirement::Requirement;
use crate::policy::route::{Access, Rule};
use crate::token::extract::{Sources, TokenSource};
use crate::token::jws::TypPolicy;

/// Default cap on a token's length: 16 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;
/// Default clock skew allowed on `exp`, `nbf`, `iat`.
pub(crate) const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// Default longest accepted `exp - now`.
pub(crate) const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(48 * 3600);

/// Configures a [`RequireMfaLayer`]. Every method returns the builder.
///
/// ```
/// use tower_mfa::{RequireMfaLayer, Rule};
///
/// let layer = RequireMfaLayer::builder()
///     .issuer("https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/")
///     .audience("https://api.partnercenter.microsoft.com")
///     .jwks_url("https://login.microsoftonline.com/common/discovery/keys")
///     .rule(Rule::public("/healthz"))
///     .rule(Rule::mfa("/v1/**"))
///     .build()?;
/// # let _ = layer;
/// # Ok::<(), tower_mfa::ConfigError>(())
/// ```
#[must_use]
pub struct Builder {
    /// The one-issuer shorthand: the issuer that [`Builder::issuer`],
    /// [`Builder::audience`], the key source and the tenant lists fill
    /// through its own setters (`None` until one of them is called).
    pub(super) shorthand: Option<Issuer>,
    /// Whether [`Builder::issuer`] was called (the shorthand's `iss` is
    /// empty until then).
    pub(super) shorthand_iss: bool,
    pub(super) client: Option<reqwest::Client>,
    pub(super) fetch: FetchPolicy,
    pub(super) refresh: RefreshPolicy,
    pub(super) rules: Vec<Rule>,
    pub(super) default_access: Access,
    pub(super) requirement: Requirement,
    pub(super) requirements: Vec<(String, Requirement)>,
    pub(super) exemptions: Exemptions,
    pub(super) leeway: Duration,
    pub(super) max_lifetime: Duration,
    pub(super) typ: TypPolicy,
    pub(super) max_token_len: usize,
    pub(super) sources: Sources,
    pub(super) realm: Option<String>,
    pub(super) unavailable_status: KeysUnavailableStatus,
    pub(super) renderer: Option<Arc<dyn RenderRefusal>>,
    pub(super) browser: Option<Arc<dyn IsBrowser>>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) cache_bytes: u64,
    pub(super) issuers: Vec<Issuer>,
    pub(super) dpop: Option<DpopConfig>,
    pub(super) metadata: Option<ResourceMetadata>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with the defaults: unmatched routes need a valid token, MFA
    /// is `amr` containing `mfa` (or `ngcmfa`, `multipleauthn`), app-only
    /// callers skip the MFA check, 60 s leeway, 48 h maximum lifetime.
    pub fn new() -> Self {
        Self {
            shorthand: None,
            shorthand_iss: false,
            client: None,
            fetch: FetchPolicy {
                timeout: Duration::from_secs(10),
                max_bytes: 512 * 1024,
                allow_http_loopback: false,
            },
            refresh: RefreshPolicy::default(),
            rules: Vec::new(),
            default_access: Access::Authenticated,
            requirement: Requirement::mfa(),
            requirements: Vec::new(),
            exemptions: Exemptions::default(),
            leeway: DEFAULT_LEEWAY,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            typ: TypPolicy::Lenient,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            sources: Sources::default(),
            realm: None,
            unavailable_status: KeysUnavailableStatus::ServiceUnavailable,
            renderer: None,
            browser: None,
            clock: Arc::new(SystemClock),
            cache_bytes: DEFAULT_CACHE_BYTES,
            issuers: Vec::new(),
            dpop: None,
            metadata: None,
        }
    }

    /// The issuer (`iss`), compared exactly (the one-issuer shorthand of
    /// [`Builder::trust`]). A `{tenantid}` placeholder makes it a multi-tenant
    /// template: `https://login.microsoftonline.com/{tenantid}/v2.0`
    /// accepts any tenant whose `tid` equals that segment.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        self.shorthand_iss = true;
        self.shorthand(|one| Issuer { issuer, ..one })
    }

    /// Adds an accepted audience (`aud`). At least one is required.
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.shorthand(|one| one.audience(audience))
    }

    /// Fetches keys from this JWKS URL (no discovery document is fetched).
    pub fn jwks_url(self, url: impl Into<String>) -> Self {
        self.shorthand(|one| one.jwks_url(url))
    }

    /// Fetches the OIDC discovery document at this URL and follows its `jwks_uri`.
    pub fn discovery_url(self, url: impl Into<String>) -> Self {
        self.shorthand(|one| one.discovery_url(url))
    }

    /// Uses OIDC discovery at `{issuer}/.well-known/openid-configuration`.
    /// Resolved when the layer is built, so it may be called before
    /// [`Builder::issuer`]; a `{tenantid}` template issuer cannot be used.
    pub fn discover_from_issuer(self) -> Self {
        self.shorthand(Issuer::discover_from_issuer)
    }

    /// Uses these keys and never fetches (tests, air-gapped setups).
    pub fn static_keys(self, keys: KeySet) -> Self {
        self.shorthand(|one| one.static_keys(keys))
    }

    /// Uses this JWK Set document and never fetches.
    ///
    /// # Errors
    /// When the document is not a JWK Set.
    pub fn static_jwks(mut self, jwks_json: &[u8]) -> Result<Self, ConfigError> {
        let one = self.shorthand.take().unwrap_or_else(shorthand_issuer);
        self.shorthand = Some(one.static_jwks(jwks_json)?);
        Ok(self)
    }

    /// Applies `set` to the one-issuer shorthand, starting it if needed.
    fn shorthand(mut self, set: impl FnOnce(Issuer) -> Issuer) -> Self {
        let one = self.shorthand.take().unwrap_or_else(shorthand_issuer);
        self.shorthand = Some(set(one));
        self
    }

    /// Uses this HTTP client for key fetches (custom CAs, proxies). The
    /// timeout, size cap and same-host rule still apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Allows `http://` key and discovery URLs on loopback addresses (tests,
    /// local development). Everything else must be `https://`.
    pub fn allow_http_loopback(mut self, yes: bool) -> Self {
        self.fetch.allow_http_loopback = yes;
        self
    }

    /// Timeout of one fetch (default 10 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch.timeout = timeout;
        self
    }

    /// Cap on a fetched document (default 512 KiB).
    pub fn max_jwks_bytes(mut self, bytes: usize) -> Self {
        self.fetch.max_bytes = bytes;
        self
    }

    /// Minimum time between two refreshes triggered by an unknown `kid`
    /// (default 30 s). The start-up fetch does not start it.
    pub fn refresh_cooldown(mut self, cooldown: Duration) -> Self {
        self.refresh.cooldown = cooldown;
        self
    }

    /// Background refresh interval when the server sends no `max-age`
    /// (default 1 h). A `max-age` is honoured within 1 min to 24 h.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh.interval = interval;
        self
    }

    /// Adds a route rule. Rules are tried in order; the first match wins.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds several route rules, in order.
    pub fn rules(mut self, rules: impl IntoIterator<Item = Rule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// The access of requests no rule matches (default: authenticated).
    pub fn default_access(mut self, access: Access) -> Self {
        self.default_access = access;
        self
    }

    /// Exemptions from the MFA check on `mfa` routes (none by default).
    /// Keep a clone to [`replace`](Exemptions::replace) the list later
    /// without rebuilding the layer. Replaces any set given before (also one
    /// read from a configuration file).
    pub fn exemptions(mut self, exemptions: Exemptions) -> Self {
        self.exemptions = exemptions;
        self
    }

    /// A handle on the exemption set the layer will use (shared: replacing
    /// its list changes what the built layer sees). Useful after
    /// `Builder::from_toml_str` (feature `config-file`), which fills the set
    /// from the file.
    pub fn exemptions_handle(&self) -> Exemptions {
        self.exemptions.clone()
    }

    /// Clock skew allowed on `exp`, `nbf`, `iat` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Longest accepted `exp - now` (default 48 h).
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// RFC 9068 strict mode: `typ` must be `at+jwt` or `application/at+jwt`.
    pub fn strict_rfc9068(mut self, yes: bool) -> Self {
        self.typ = if yes {
            TypPolicy::Rfc9068
        } else {
            TypPolicy::Lenient
        };
        self
    }

    /// Cap on a token's length, checked before any parsing (default 16 KiB).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// Also reads the token from this cookie (off by default). A token sent
    /// both in the header and the cookie is a 400.
    pub fn token_cookie(mut self, name: impl Into<String>) -> Self {
        self.sources.cookie = Some(name.into().into_boxed_str());
        self
    }

    /// Also reads tokens from a source of the application's own, such as a
    /// WebSocket handshake (none by default). A token found in two places is
    /// a 400.
    pub fn token_source(mut self, source: impl TokenSource) -> Self {
        self.sources.custom = Some(Arc::new(source));
        self
    }

    /// Only accepts these tenants (`tid`).
    pub fn allow_tenants<I, S>(self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.shorthand(|one| one.allow_tenants(tenants))
    }

    /// Refuses these tenants (`tid`).
    pub fn deny_tenants<I, S>(self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.shorthand(|one| one.deny_tenants(tenants))
    }

    /// The time source (default: the system clock). Tests pass a
    /// [`ManualClock`](crate::clock::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Byte budget of the verified-token cache (default 64 MiB); `0` turns
    /// the cache off. A cached token skips the signature check but not the
    /// time checks, the key-set check, the route rules or the MFA policy.
    pub fn token_cache_bytes(mut self, bytes: u64) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// Enables DPoP (RFC 9449) for rules whose [`Sender`](crate::Sender)
    /// accepts it: the public origin (or trusted forwarded headers), proof
    /// window, replay cache size and server nonces. A DPoP rule without
    /// this, or without an origin and forwarded headers, fails `build()`.
    pub fn dpop(mut self, config: DpopConfig) -> Self {
        self.dpop = Some(config);
        self
    }

    /// Publishes Protected Resource Metadata (RFC 9728): the layer answers
    /// `GET`/`HEAD` on the document's well-known path before any rule, and
    /// its `401` challenges carry `resource_metadata="…"`.
    pub fn resource_metadata(mut self, metadata: ResourceMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Checks the configuration and builds the layer. Needs no network and no
    /// runtime: keys are fetched on the first request (or [`RequireMfaLayer::warm_up`]).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting at fault: a missing issuer,
    /// audience or key source; issuers (see [`Builder::trust`]) that could
    /// match one `iss`, or mixed with the one-issuer settings; a bad issuer
    /// name; a URL that is invalid or not https (http only
    /// on loopback, when allowed); a rule pattern that does not parse; a
    /// step-up URL that cannot be a `Location`; an RFC 9470 challenge style
    /// with neither `acr_values` nor `max_age` while the MFA policy sets no
    /// `max_age` either; a rule naming a requirement that was not
    /// registered (or naming one on a rule that is not `mfa`); or a default
    /// HTTP client that cannot be built.
    pub fn build(self) -> Result<RequireMfaLayer, ConfigError> {
        validate::settings(self).map(|settings| RequireMfaLayer::new(Pipeline::new(settings)))
    }
}

/// The one-issuer shorthand before any of its setters ran: named
/// `default`, with no `iss` yet.
fn shorthand_issuer() -> Issuer {
    Issuer::new("default", "")
}
