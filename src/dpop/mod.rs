//! DPoP (RFC 9449): access tokens bound to a key the client holds.
//!
//! A rule's [`Sender`] says whether its tokens may or must come with the
//! `DPoP` scheme and a proof; [`DpopConfig`] holds the layer-wide settings
//! (public origin, forwarded headers, proof window, replay cache size, server
//! nonces). The checks themselves are plain functions:
//! - `proof`: the proof's header, key, signature and claims;
//! - `thumbprint`: the RFC 7638 thumbprint the token's `cnf.jkt` names;
//! - `htu`: the URI comparison;
//! - `replay`: the bounded `jti` cache;
//! - `nonce`: stateless server nonces.
//!
//! ```
//! use std::time::Duration;
//! use tower_mfa::{DpopConfig, RequireMfaLayer, Rule, Sender};
//!
//! let layer = RequireMfaLayer::builder()
//!     .issuer("https://idp.example.com/")
//!     .audience("api://payments")
//!     .jwks_url("https://idp.example.com/keys")
//!     .dpop(DpopConfig::new().public_origin("https://api.example.com").window(Duration::from_secs(60)))
//!     .rule(Rule::mfa("/v1/payments/**").sender(Sender::DpopRequired))
//!     .build()?;
//! # let _ = layer;
//! # Ok::<(), tower_mfa::ConfigError>(())
//! ```

pub(crate) mod htu;
pub(crate) mod nonce;
pub(crate) mod proof;
pub(crate) mod replay;
pub(crate) mod thumbprint;

use std::time::Duration;

use http::{HeaderMap, Method};

use crate::claims::{Claims, Cnf};
use crate::error::Reason;
use nonce::Nonces;
use proof::Expected;
use replay::{Refusal, ReplayCache};

/// Which schemes a rule accepts tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Sender {
    /// `Bearer` only (the default): a `DPoP` scheme is answered as no token.
    #[default]
    Bearer,
    /// `Bearer` tokens, and DPoP-bound tokens with the `DPoP` scheme and a proof.
    DpopAllowed,
    /// DPoP-bound tokens with the `DPoP` scheme and a proof only.
    DpopRequired,
    /// Certificate-bound tokens (RFC 8705: `cnf.x5t#S256`) with the client
    /// certificate they name only; the `DPoP` scheme is answered as no token.
    MtlsRequired,
}

impl Sender {
    /// The name used in TOML: `bearer`, `dpop_allowed`, `dpop_required`,
    /// `mtls_required`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::DpopAllowed => "dpop_allowed",
            Self::DpopRequired => "dpop_required",
            Self::MtlsRequired => "mtls_required",
        }
    }

    /// The sender named `name` (see [`Sender::as_str`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "bearer" => Some(Self::Bearer),
            "dpop_allowed" => Some(Self::DpopAllowed),
            "dpop_required" => Some(Self::DpopRequired),
            "mtls_required" => Some(Self::MtlsRequired),
            _ => None,
        }
    }

    /// Whether the `DPoP` scheme is accepted.
    #[must_use]
    pub const fn accepts_dpop(self) -> bool {
        matches!(self, Self::DpopAllowed | Self::DpopRequired)
    }

    /// Whether only certificate-bound tokens are accepted.
    #[must_use]
    pub const fn requires_mtls(self) -> bool {
        matches!(self, Self::MtlsRequired)
    }
}

/// Default age a proof may have: 60 seconds.
pub const DEFAULT_DPOP_WINDOW: Duration = Duration::from_secs(60);
/// Default number of proofs the replay cache holds: 100 000 (about 6 MB).
pub const DEFAULT_DPOP_REPLAY_CAPACITY: usize = 100_000;

/// The layer-wide DPoP settings (see [`Builder::dpop`](crate::Builder::dpop)).
#[derive(Clone)]
#[must_use]
pub struct DpopConfig {
    pub(crate) public_origin: Option<String>,
    pub(crate) trust_forwarded: bool,
    pub(crate) window: Duration,
    pub(crate) replay_capacity: usize,
    pub(crate) nonce: Option<(Vec<u8>, Duration)>,
}

impl Default for DpopConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for DpopConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The nonce secret is never printed.
        f.debug_struct("DpopConfig")
            .field("public_origin", &self.public_origin)
            .field("trust_forwarded", &self.trust_forwarded)
            .field("window", &self.window)
            .field("replay_capacity", &self.replay_capacity)
            .field("nonce_rotation", &self.nonce.as_ref().map(|(_, r)| r))
            .finish()
    }
}

impl DpopConfig {
    /// No origin, no forwarded headers trusted, a 60 s window, 100 000
    /// replay entries, no nonces.
    pub fn new() -> Self {
        Self {
            public_origin: None,
            trust_forwarded: false,
            window: DEFAULT_DPOP_WINDOW,
            replay_capacity: DEFAULT_DPOP_REPLAY_CAPACITY,
            nonce: None,
        }
    }

    /// The origin clients call (`https://api.example.com`, no path): `htu`
    /// must be this origin plus the request's original path.
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.public_origin = Some(origin.into());
        self
    }

    /// Reads the origin from `X-Forwarded-Proto` and `X-Forwarded-Host`
    /// (each exactly once, one value); only behind a proxy that sets them.
    pub fn trust_forwarded_headers(mut self, yes: bool) -> Self {
        self.trust_forwarded = yes;
        self
    }

    /// How old a proof's `iat` may be (the layer's leeway is allowed into
    /// the future); proofs are remembered this long.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How many proofs the replay cache holds; when it is full of unexpired
    /// proofs, new proofs are refused.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    /// Requires server nonces: a MAC of the period number under `secret`
    /// (at least 32 bytes; replicas with the same secret share nonces), a new
    /// one every `rotation`.
    pub fn nonces(mut self, secret: impl Into<Vec<u8>>, rotation: Duration) -> Self {
        self.nonce = Some((secret.into(), rotation));
        self
    }
}

/// The DPoP state of one layer: settings, replay cache, nonces.
pub(crate) struct Dpop {
    public_origin: Option<String>,
    trust_forwarded: bool,
    window: f64,
    replay: ReplayCache,
    nonces: Option<Nonces>,
}

impl Dpop {
    /// The state for checked settings.
    pub(crate) fn new(config: DpopConfig) -> Self {
        Self {
            public_origin: config.public_origin,
            trust_forwarded: config.trust_forwarded,
            window: config.window.as_secs_f64(),
            replay: ReplayCache::new(config.replay_capacity),
            nonces: config
                .nonce
                .map(|(secret, rotation)| Nonces::new(&secret, rotation.as_secs())),
        }
    }

    /// The nonce to hand out at `now`, when nonces are on.
    pub(crate) fn nonce(&self, now: f64) -> Option<String> {
        self.nonces.as_ref().map(|n| n.current(now))
    }

    /// Checks a DPoP request: exactly one proof, valid for this method, URI
    /// and token, bound to the token's `cnf.jkt`, with a current nonce when
    /// nonces are on, and not seen before.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        token: &[u8],
        claims: &Claims,
        now: f64,
        leeway: f64,
    ) -> Result<(), Reason> {
        let jkt = bound_key(claims)?.ok_or(Reason::DpopTokenNotBound)?;
        let mut proofs = headers.get_all("dpop").iter();
        let (Some(proof), None) = (proofs.next(), proofs.next()) else {
            return Err(Reason::DpopProofCount);
        };
        let origin = htu::origin(self.public_origin.as_deref(), self.trust_forwarded, headers)
            .ok_or(Reason::DpopUriMismatch)?;
        let uri = htu::expected(&origin, path).ok_or(Reason::DpopUriMismatch)?;
        let expected = Expected {
            method: method.as_str(),
            uri: &uri,
            token,
            now,
            window: self.window,
            leeway,
        };
        let proof = proof::verify(proof.as_bytes(), &expected)?;
        if aws_lc_rs::constant_time::verify_slices_are_equal(proof.jkt.as_bytes(), jkt.as_bytes())
            .is_err()
        {
            return Err(Reason::DpopKeyMismatch);
        }
        if let Some(nonces) = &self.nonces
            && !proof
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.accepts(n, now))
        {
            return Err(Reason::DpopNonce);
        }
        let expires = proof.iat + self.window + leeway;
        match self.replay.record(&proof.jkt, &proof.jti, expires, now) {
            Ok(()) => Ok(()),
            Err(Refusal::Replayed) => Err(Reason::DpopReplayed),
            Err(Refusal::Full) => {
                tracing::warn!(
                    target: "tower_mfa::dpop",
                    "the DPoP replay cache is full of unexpired proofs: new proofs are refused"
                );
                Err(Reason::DpopReplayCacheFull)
            }
        }
    }
}

/// The token's `cnf.jkt`: `Ok(None)` when it has no `cnf` or no `jkt` in
/// it, an error when `cnf` is not an object or `jkt` not a string.
pub(crate) fn bound_key(claims: &Claims) -> Result<Option<&str>, Reason> {
    claims.confirmation(|cnf| match cnf {
        Cnf::Object { jkt, .. } => Some(jkt),
        _ => None,
    })
}
