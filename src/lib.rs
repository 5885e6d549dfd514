//! # tower-mfa
//!
//! Require multi-factor authentication at the edge of a web service, the way
//! Microsoft Partner Center does: one tower layer that verifies bearer tokens
//! against the issuer's keys, attaches the claims to the request, and refuses
//! callers without MFA on the routes you mark.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tower_mfa::{Claims, RequireMfaLayer, Rule};
//!
//! async fn customers(claims: Claims) -> String {
//!     format!("hello {}", claims.subject().unwrap_or("?"))
//! }
//!
//! # #[cfg(feature = "axum")] // the `Claims` extractor
//! # fn main() -> Result<(), tower_mfa::ConfigError> {
//! let mfa = RequireMfaLayer::builder()
//!     .issuer("https://login.microsoftonline.com/{tenantid}/v2.0")
//!     .audience("api://partner-api")
//!     .jwks_url("https://login.microsoftonline.com/common/discovery/v2.0/keys")
//!     .rule(Rule::public("/healthz"))
//!     .rule(Rule::mfa("/v1/customers/**"))
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route("/healthz", get(|| async { "ok" }))
//!     .route("/v1/customers", get(customers))
//!     .layer(mfa);
//! # let _ = app;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "axum"))]
//! # fn main() {}
//! ```
//!
//! ## One request through the layer
//!
//! With static keys and a manual clock, a layer needs no network and no real
//! time: a test can send it requests directly. A request without a token on a
//! route that requires MFA gets a 401 with a bare `Bearer` challenge, and one
//! with a token that cannot be verified gets `error="invalid_token"`; the
//! inner service is never called.
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! use http::{Request, Response, StatusCode, header};
//! use tower::{Layer, ServiceExt, service_fn};
//! use tower_mfa::clock::ManualClock;
//! use tower_mfa::{RequireMfaLayer, Rule};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The issuer's public key set (one Ed25519 key), given inline.
//! let jwks = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
//! let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_750_000_000));
//! let layer = RequireMfaLayer::builder()
//!     .issuer("https://issuer.example/")
//!     .audience("api://partner-api")
//!     .static_jwks(jwks)?
//!     .clock(clock)
//!     .rule(Rule::mfa("/v1/**"))
//!     .build()?;
//! let service = layer.layer(service_fn(|_req: Request<String>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("reached")))
//! }));
//!
//! let response = service
//!     .clone()
//!     .oneshot(Request::get("/v1/customers").body(String::new())?)
//!     .await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
//!
//! let forged = Request::get("/v1/customers")
//!     .header(header::AUTHORIZATION, "Bearer eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.AAAA")
//!     .body(String::new())?;
//! let response = service.oneshot(forged).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert!(
//!     response.headers()[header::WWW_AUTHENTICATE]
//!         .to_str()?
//!         .starts_with(r#"Bearer error="invalid_token""#)
//! );
//! # Ok(())
//! # }
//! ```
//!
//! ## What happens to a request
//! 1. The first matching [`Rule`] decides what the route needs ([`Access`]):
//!    `public`, `optional`, `authenticated` (the default) or `mfa`. Rules
//!    match the request's path, or its [`OriginalPath`] when a router in
//!    front rewrote the URI.
//! 2. The bearer token is read from `Authorization` (RFC 6750); nothing else
//!    by default.
//! 3. The compact JWS is checked (size cap, three segments, strict header,
//!    no duplicate JSON members), its key looked up by `kid` in the issuer's
//!    key set, and its signature verified with the key's one algorithm.
//! 4. Claims are checked (`iss`, `aud`, `exp`, `nbf`, `iat`, lifetime),
//!    then the rule's scopes and roles.
//! 5. On `mfa` routes, users must show MFA (`amr` holds `mfa` by default);
//!    app-only callers skip the check by default ([`AppOnly`]); an
//!    [`Exemption`] can stand in for missing proof. What counts as proof and
//!    how a refusal is answered is the route's [`Requirement`]: the layer's
//!    default one, or one a rule names ([`Rule::requirement`]).
//! 6. A request that passes carries one [`Decision`] in its extensions,
//!    which holds the [`Claims`] ([`Decision::claims`]). Every refusal and every decision on a verified token is
//!    logged at target `tower_mfa::decision`.
//!
//! Refusals carry no token or claim value. By default a missing MFA is
//! `401 Unauthorized - MFA required` ([`MFA_REASON_PHRASE`]) with
//! `WWW-Authenticate: Bearer error="invalid_token"` ([`ChallengeStyle`]); a
//! bad or missing token is a 401 with an RFC 6750 challenge, a malformed
//! request a 400, a missing scope or role a 403, unreachable keys a 503 with
//! `Retry-After` ([`KeysUnavailableStatus`]); browsers without MFA can be
//! redirected to a step-up page ([`Builder::step_up_url`]). gRPC requests get
//! trailers-only gRPC answers ([`grpc_error_reason`]).
//!
//! ## Features
//! - `axum` (default): extractors for [`Claims`], [`Decision`] and your own
//!   claim type (`axum::VerifiedClaims<T>`), and
//!   `axum::OriginalPathLayer`, which stores axum's `OriginalUri` as the
//!   crate's [`OriginalPath`] so that rules under `Router::nest` match the
//!   path the client asked for. The core itself never reads axum types: it
//!   matches rules on [`OriginalPath`] when a request carries one, else on
//!   its URI, with or without this feature.
//! - `tonic`: accessors on `tonic::Request`, including your own claim type.
//! - `metrics`: counters of decisions, key fetches and token-cache lookups
//!   through the `metrics` facade (`tower_mfa_decisions_total{outcome,kind}`,
//!   `tower_mfa_jwks_fetches_total{result}`, `tower_mfa_token_cache_total{result}`).
//! - `config-file` (default): configuration from a TOML file (module `config_file`):
//!   `Builder::from_toml_str`, `Builder::from_toml_file` and
//!   `Exemptions::from_toml_str` for reloading exemptions.
//! - `cli`: the `tower-mfa inspect` command (`cargo install tower-mfa
//!   --features cli`) and the `inspect` module behind it, which decodes a
//!   token and explains what the layer would answer.
//!
//! Signatures are verified with `aws-lc-rs` (the backend of jsonwebtoken's
//! `aws_lc_rs` feature) with keys parsed once, when the key set is loaded:
//! jsonwebtoken's process-wide `CryptoProvider` is neither needed nor
//! touched, so enabling both of its backends elsewhere does no harm.
//!
//! ## Guides
//! In this crate's `docs/` directory: `GUIDE.md` (concepts, a recipe per
//! identity provider: Entra ID, Okta, Auth0, Keycloak; the Partner Center
//! scenario; why clients must sign in with authorization code + PKCE;
//! troubleshooting a 401 with `tower-mfa inspect`; your own claim type
//! through `axum::VerifiedClaims` and `tonic::RequestClaimsExt::verified_claims`),
//! `MIGRATING.md` (from jwt-authorizer or a hand-written jsonwebtoken
//! middleware) and `OPERATIONS.md` (every log target and field, every
//! metric, what to alert on). Their code is compiled as doctests.
//!
//! ## Design
//! The request pipeline step by step, with each step's file and type, and
//! where to add a rule kind, a challenge style or a key source, is in
//! `docs/ARCHITECTURE.md` in this crate's repository.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Keeps the declared `rust-version` true: no std API newer than it.
#![warn(clippy::incompatible_msrv)]
#![deny(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod cache;
mod challenge;
mod claims;
pub mod clock;
mod config_error;
#[cfg(feature = "config-file")]
#[cfg_attr(docsrs, doc(cfg(feature = "config-file")))]
pub mod config_file;
mod dpop;
mod error;
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod inspect;
mod issuer;
pub mod jwks;
mod layer;
mod log;
mod metadata;
mod metrics;
mod mtls;
mod original_path;
mod pipeline;
mod policy;
mod time;
mod token;
#[cfg(any(feature = "axum", feature = "tonic"))]
mod typed_claims;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod tonic;

/// The README's examples, compiled as doctests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The examples of docs/MTLS.md, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/MTLS.md")]
pub struct MtlsDoctests;

/// The examples of docs/RESOURCE_METADATA.md, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/RESOURCE_METADATA.md")]
pub struct ResourceMetadataDoctests;

/// The guide's examples (docs/GUIDE.md), compiled as doctests.
#[cfg(all(doctest, feature = "axum", feature = "tonic"))]
#[doc = include_str!("../docs/GUIDE.md")]
pub struct GuideDoctests;

/// The migration guide's examples (docs/MIGRATING.md), compiled as doctests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../docs/MIGRATING.md")]
pub struct MigratingDoctests;

/// The Entra recipe's examples (docs/ENTRA.md), compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/ENTRA.md")]
pub struct EntraDoctests;

pub use body::ResponseBody;
pub use cache::DEFAULT_CACHE_BYTES;
pub use challenge::{
    ChallengeStyle, ClaimsChallenge, GRPC_ERROR_DOMAIN, GRPC_MISSING_ROLE_REASON, IsBrowser,
    KeysUnavailableStatus, MFA_REASON_PHRASE, Refusal, RefusalBody, RenderRefusal,
    grpc_error_reason,
};
pub use claims::Claims;
pub use config_error::ConfigError;
pub use dpop::{DEFAULT_DPOP_REPLAY_CAPACITY, DEFAULT_DPOP_WINDOW, DpopConfig, Sender};
pub use error::{ErrorKind, Reason};
pub use issuer::Issuer;
pub use layer::{Builder, DEFAULT_MAX_TOKEN_LEN, RequireMfa, RequireMfaLayer, ResponseFuture};
pub use metadata::{ResourceMetadata, WELL_KNOWN_RESOURCE_METADATA};
pub use mtls::ClientCertificate;
pub use original_path::OriginalPath;
pub use pipeline::Decision;
pub use policy::caller::{AppOnly, Caller};
pub use policy::exempt::{ExemptSubject, Exemption, Exemptions};
pub use policy::mfa::{MfaPolicy, MfaProof};
pub use policy::requirement::Requirement;
pub use policy::route::{Access, Rule};
pub use token::extract::TokenSource;

/// Entry points for the fuzz targets and property tests; not a stable API.
#[doc(hidden)]
pub mod __fuzz {
    /// Parses an `Authorization` header value; `Ok(None)` for another scheme.
    ///
    /// # Errors
    /// For a malformed `Bearer` header.
    pub fn parse_authorization(value: &[u8]) -> Result<Option<&str>, crate::Reason> {
        crate::token::extract::parse_authorization(value)
    }

    /// Parses and checks a compact JWS header (no key, no signature check).
    ///
    /// # Errors
    /// For any fault in the token's shape or header.
    pub fn parse_token(token: &str) -> Result<(), crate::Reason> {
        crate::token::jws::parse(
            token.as_bytes(),
            crate::DEFAULT_MAX_TOKEN_LEN,
            crate::token::jws::TypPolicy::Lenient,
        )
        .map(|_| ())
    }

    /// Parses a JWK Set document; the number of usable keys.
    #[must_use]
    pub fn parse_jwks(bytes: &[u8]) -> Option<usize> {
        crate::jwks::KeySet::parse(bytes).ok().map(|set| set.len())
    }

    /// Parses a route pattern and matches a path against it.
    #[must_use]
    pub fn match_route(pattern: &str, path: &str) -> Option<bool> {
        crate::policy::pattern::Pattern::parse(pattern)
            .ok()
            .map(|p| p.matches(path))
    }

    /// Route rules compiled as the layer compiles them, next to the plain
    /// walk over the rules in order that defines their meaning.
    #[derive(Debug)]
    pub struct Routes {
        rules: Vec<crate::Rule>,
        compiled: crate::policy::matcher::Routes,
    }

    impl Routes {
        /// Compiles `rules`; `None` when there are more than 32-bit indices hold.
        #[must_use]
        pub fn new(rules: Vec<crate::Rule>) -> Option<Self> {
            let compiled = crate::policy::matcher::Routes::new(&rules).ok()?;
            Some(Self { rules, compiled })
        }

        /// The index of the rule the layer picks, through the compiled rules.
        #[must_use]
        pub fn select(
            &self,
            method: &http::Method,
            path: &str,
            uri: &http::Uri,
            headers: &http::HeaderMap,
        ) -> Option<usize> {
            self.compiled
                .select(&self.rules, method, path, uri, headers)
        }

        /// The same, walking the rules one by one (the reference).
        #[must_use]
        pub fn reference(
            &self,
            method: &http::Method,
            path: &str,
            uri: &http::Uri,
            headers: &http::HeaderMap,
        ) -> Option<usize> {
            crate::policy::matcher::reference(&self.rules, method, path, uri, headers)
        }
    }

    /// A `match_route` fuzz input read as a rule set and a request.
    ///
    /// Lines are separated by `\n`. The last line is the request,
    /// `[METHOD\t]path` (`GET` by default); every line before it is a rule,
    /// `[METHOD,METHOD\t]pattern`, or `[METHODS\t]?text` for a predicate
    /// rule that holds when the URI's path contains `text`. A single line
    /// is one rule and the request `GET /`.
    #[derive(Debug)]
    pub struct RouteCase {
        /// The rules, in order.
        pub rules: Vec<crate::Rule>,
        /// The request method.
        pub method: http::Method,
        /// The request path, as the layer matches it.
        pub path: String,
        /// The request URI handed to predicates (`/` when `path` is not one).
        pub uri: http::Uri,
    }

    impl RouteCase {
        /// Reads `text` (see the type's documentation).
        #[must_use]
        pub fn parse(text: &str) -> Self {
            fn methods(line: &str) -> (Vec<http::Method>, &str) {
                if let Some((list, rest)) = line.split_once('\t') {
                    let parsed: Option<Vec<http::Method>> = list
                        .split(',')
                        .map(|m| http::Method::from_bytes(m.as_bytes()).ok())
                        .collect();
                    if let Some(parsed) = parsed {
                        return (parsed, rest);
                    }
                }
                (Vec::new(), line)
            }
            let mut lines: Vec<&str> = text.split('\n').collect();
            let request = if lines.len() > 1 { lines.pop() } else { None };
            let (method, path) = match request.map(methods) {
                Some((ms, path)) => (ms.into_iter().next().unwrap_or(http::Method::GET), path),
                None => (http::Method::GET, "/"),
            };
            let rules = lines
                .into_iter()
                .map(|line| {
                    let (ms, spec) = methods(line);
                    let rule = match spec.strip_prefix('?') {
                        Some(needle) => {
                            let needle = needle.to_owned();
                            crate::Rule::predicate(crate::Access::Mfa, spec, move |_, uri, _| {
                                uri.path().contains(&needle)
                            })
                        }
                        None => crate::Rule::mfa(spec),
                    };
                    ms.into_iter().fold(rule, crate::Rule::method)
                })
                .collect();
            Self {
                rules,
                method,
                path: path.to_owned(),
                uri: path.parse().unwrap_or_default(),
            }
        }
    }

    /// Parses a DPoP proof: header, key and signature checks, then the
    /// payload as strict JSON (no request to compare its claims with).
    ///
    /// # Errors
    /// For any fault in the proof's shape, header, key or signature.
    pub fn parse_dpop_proof(proof: &[u8]) -> Result<(), crate::Reason> {
        crate::dpop::proof::parse_unbound(proof).map(|_| ())
    }

    /// Parses a JSON object strictly (duplicate members rejected).
    #[must_use]
    pub fn parse_strict_json(bytes: &[u8]) -> bool {
        crate::token::json::parse_object(bytes).is_ok()
    }
}
