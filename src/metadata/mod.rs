//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells
//! a client which authorization servers issue tokens for this resource, and
//! the `resource_metadata` parameter of the layer's `401` challenges.
//!
//! [`ResourceMetadata`] is plain data set with [`Builder::resource_metadata`](crate::Builder::resource_metadata);
//! the layer renders the document once, when it is built, and answers
//! `GET`/`HEAD` on its well-known path before any rule is selected:
//! `/.well-known/oauth-protected-resource` for a resource without a path,
//! `/.well-known/oauth-protected-resource/{path}` for one with a path.
//!
//! ```
//! use tower_mfa::{RequireMfaLayer, ResourceMetadata, Rule};
//!
//! let layer = RequireMfaLayer::builder()
//!     .issuer("https://idp.example.com/")
//!     .audience("https://api.example.com")
//!     .jwks_url("https://idp.example.com/keys")
//!     .rule(Rule::mfa("/v1/**").require_scope("customers.read"))
//!     .resource_metadata(
//!         ResourceMetadata::new("https://api.example.com")
//!             .authorization_server("https://idp.example.com/")
//!             .resource_name("Customers API"),
//!     )
//!     .build()?;
//! # let _ = layer;
//! # Ok::<(), tower_mfa::ConfigError>(())
//! ```

pub(crate) mod check;
pub(crate) mod document;

/// What the layer publishes about its resource: the document is answered on
/// `/.well-known/oauth-protected-resource` plus the resource's path, if any.
///
/// `dpop_signing_alg_values_supported` is not set here: the layer lists its
/// DPoP proof algorithms when DPoP is configured. `scopes_supported`
/// defaults to the scopes the rules require, and
/// `tls_client_certificate_bound_access_tokens` is `true` when set here or
/// when a rule requires certificate-bound tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ResourceMetadata {
    pub(crate) resource: String,
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    pub(crate) bearer_methods_supported: Vec<String>,
    pub(crate) tls_client_certificate_bound_access_tokens: bool,
    pub(crate) resource_name: Option<String>,
    pub(crate) resource_documentation: Option<String>,
}

impl ResourceMetadata {
    /// Metadata for the resource identifier `resource`: an `https` URL
    /// without query or fragment (`http` only on loopback, with
    /// [`Builder::allow_http_loopback`](crate::Builder::allow_http_loopback)).
    /// Bearer method `header`; no authorization server yet.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: None,
            bearer_methods_supported: vec!["header".to_owned()],
            tls_client_certificate_bound_access_tokens: false,
            resource_name: None,
            resource_documentation: None,
        }
    }

    /// Adds an authorization server (its issuer identifier).
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The scopes to list instead of those the rules require.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// How tokens may be sent (`header`, `body`, `query`); `header` by
    /// default, an empty list leaves the member out.
    pub fn bearer_methods_supported<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Declares support for certificate-bound tokens (RFC 8705) even when no
    /// rule requires them (bound tokens are checked on every rule).
    pub fn tls_client_certificate_bound_access_tokens(mut self, yes: bool) -> Self {
        self.tls_client_certificate_bound_access_tokens = yes;
        self
    }

    /// A human-readable name of the resource.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A URL of human-readable documentation for developers.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The resource identifier.
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.resource
    }
}

/// The well-known path segment of RFC 9728.
pub const WELL_KNOWN_RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource";
