//! Configuration from a TOML file (feature `config-file`).
//!
//! [`Builder::from_toml_str`] and [`Builder::from_toml_file`] read a file
//! into a [`Builder`], which code may refine further before
//! [`build`](Builder::build). [`Exemptions::from_toml_str`] and
//! [`Exemptions::reload_from_toml_str`] read only the `[[exemptions]]` of a
//! file, so they can be reloaded without a restart.
//!
//! `[[issuers]]` tables trust several issuers (each with a short `name`, its
//! `issuer`, `audiences`, one of `jwks_url`, `discovery_url` or
//! `static_jwks`, and optionally `tenants`, `strict_rfc9068`,
//! `leeway_seconds`, `refresh_cooldown_seconds`, `refresh_interval_seconds`);
//! the top-level `issuer`, `audiences`, key source and `[tenants]` are the
//! one-issuer shorthand and cannot be mixed with them.
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
//! ## DPoP (RFC 9449) for rules with `sender = "dpop_allowed"` or
//! ## `"dpop_required"`: `htu` is this origin plus the original path.
//! [dpop]
//! public_origin = "https://api.example.com"
//! trust_forwarded_headers = false      # X-Forwarded-Proto/-Host, only behind a proxy
//! window_seconds = 60                  # how old a proof may be
//! replay_capacity = 100000             # full: new proofs are refused
//! ## nonce_secret_env = "DPOP_NONCE_SECRET"  # server nonces; the secret from the environment
//! ## nonce_rotation_seconds = 300
//!
//! ## Protected Resource Metadata (RFC 9728), answered on
//! ## /.well-known/oauth-protected-resource; 401 challenges point to it.
//! [resource_metadata]
//! resource = "https://api.example.com"
//! authorization_servers = ["https://login.microsoftonline.com/df845f1a-7b35-40a2-ba78-6481de91f8ae/v2.0"]
//! ## scopes_supported = ["Invoices.Read"]   # default: the rules' scopes
//! ## bearer_methods_supported = ["header"]  # the default
//! tls_client_certificate_bound_access_tokens = false
//! resource_name = "Partner API"
//! resource_documentation = "https://api.example.com/docs"
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
//! sender = "dpop_required"            # bearer | dpop_allowed | dpop_required | mtls_required
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

mod convert;
mod issuers;
mod requirement;
mod schema;

use std::path::Path;

use convert::{builder, exemptions};
use schema::FileConfig;

use crate::config_error::ConfigError;
use crate::layer::Builder;
use crate::policy::exempt::Exemptions;

fn parse(text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((None, None), |span| {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            (Some(line), Some(column))
        });
        ConfigError::Toml {
            line,
            column,
            message: e.to_string(),
        }
    })
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// A file's text, parsed and passed to `then`; every error names the file.
fn from_file<T>(
    path: &Path,
    then: impl FnOnce(FileConfig) -> Result<T, ConfigError>,
) -> Result<T, ConfigError> {
    let text = read(path)?;
    parse(&text).and_then(then).map_err(|e| e.in_file(path))
}

#[cfg_attr(docsrs, doc(cfg(feature = "config-file")))]
impl Builder {
    /// A builder configured from a TOML document (see [`config_file`](crate::config_file)
    /// for the format). Code may set more before [`build`](Builder::build);
    /// the file's `[[exemptions]]` are in [`exemptions_handle`](Builder::exemptions_handle).
    ///
    /// # Errors
    /// For a TOML syntax error, an unknown key, a value of the wrong type or
    /// out of range (access, mode, `app_only`, instants), an invalid route
    /// pattern or HTTP method, both `jwks_url` and `discovery_url` (or two
    /// key sources in one `[[issuers]]` table), an invalid static JWK Set, or an
    /// invalid exemption (empty id or reason, duplicate id, not exactly one
    /// of `tenant`, `user`, `app`). What only [`build`](Builder::build)
    /// checks (a missing issuer, an insecure URL...) is reported there.
    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        builder(parse(toml)?)
    }

    /// [`Builder::from_toml_str`] on the contents of a file; messages name
    /// the file.
    ///
    /// # Errors
    /// When the file cannot be read, and as [`Builder::from_toml_str`].
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        from_file(path.as_ref(), builder)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "config-file")))]
impl Exemptions {
    /// The `[[exemptions]]` of a TOML document, as a new set. The document
    /// may be a whole configuration file (its other keys are checked, not
    /// applied) or hold only `[[exemptions]]` tables.
    ///
    /// # Errors
    /// As [`Builder::from_toml_str`].
    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(exemptions(parse(toml)?.exemptions)?))
    }

    /// [`Exemptions::from_toml_str`] on the contents of a file.
    ///
    /// # Errors
    /// When the file cannot be read, and as [`Exemptions::from_toml_str`].
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let list = from_file(path.as_ref(), |file| exemptions(file.exemptions))?;
        Ok(Self::new(list))
    }

    /// Replaces this set's list with the `[[exemptions]]` of a TOML document
    /// (reload without restart). All or nothing: on an error the current
    /// list stays in force.
    ///
    /// # Errors
    /// As [`Exemptions::from_toml_str`].
    pub fn reload_from_toml_str(&self, toml: &str) -> Result<(), ConfigError> {
        self.replace(exemptions(parse(toml)?.exemptions)?);
        Ok(())
    }

    /// [`Exemptions::reload_from_toml_str`] on the contents of a file.
    ///
    /// # Errors
    /// When the file cannot be read, and as [`Exemptions::from_toml_str`].
    pub fn reload_from_toml_file(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        self.replace(from_file(path.as_ref(), |file| {
            exemptions(file.exemptions)
        })?);
        Ok(())
    }
}
