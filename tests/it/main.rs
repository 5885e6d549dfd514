//! Every in-process integration test of tower-mfa, in one binary: one module
//! per concern, sharing the support modules of `tests/support/` (a test
//! issuer and its JWKS server, the layer over it or over static keys, the
//! expected answers, and the binary's one log capture).
//!
//! Run one concern with `cargo test --test it answers::` (a module path
//! filter). Modules that need a feature are compiled only with it, so
//! `cargo test --no-default-features` still runs the others.

#[path = "../support/dpop.rs"]
mod dpop_client;
#[path = "../support/harness.rs"]
mod harness;
#[path = "../support/logs.rs"]
mod logs;
#[path = "../support/mint.rs"]
mod mint;

/// The answer hooks: a refusal-body renderer and a browser predicate.
mod answer_hooks;
/// Refusals: statuses, challenges, problem bodies, redirects, gRPC answers.
mod answers;
/// The verified-token cache.
mod cache;
/// `ClaimsChallenge`: CAE claims challenges.
mod claims_challenge;
/// Configuration from TOML files (feature `config-file`).
mod config;
/// Bad builder settings fail with a `ConfigError` naming the value.
mod config_errors;
/// A file setting every key answers like the same layer built in code.
#[cfg(feature = "config-file")]
mod config_parity;
/// DPoP (RFC 9449): senders, proofs, downgrades, nonces, challenges.
mod dpop;
/// Exemptions and their audit log.
mod exemptions;
/// Every committed fuzz input, replayed.
mod fuzz_corpus;
/// The layer in front of a real tonic server.
mod grpc;
/// Property tests over hostile headers.
mod headers;
/// Several issuers behind one layer; keys bound to their issuer.
mod issuers;
/// Key sets: fetching, refreshing, rotation, static keys.
mod keys;
/// The layer with axum and other tower middleware.
#[cfg(feature = "axum")]
mod layer;
/// No secret in the log, at any level.
mod log_hygiene;
/// Protected Resource Metadata (RFC 9728): the document and the challenges.
mod metadata;
/// Counters (feature `metrics`).
mod metrics;
/// The declared `rust-version` holds for every dependency.
mod msrv;
/// Certificate-bound tokens (RFC 8705), the certificate given as an extension.
mod mtls;
/// The identity provider recipes of `docs/`, with provider-shaped tokens
/// (feature `config-file`).
mod providers;
/// Per-route requirements: three routes, three requirements, every proof.
#[cfg(feature = "config-file")]
mod requirements;
/// A first end-to-end check over the JWKS server.
#[cfg(feature = "axum")]
mod smoke;
/// Where the token is read from.
#[cfg(feature = "axum")]
mod token_source;
/// Token verification: the JWS, the claims, the times.
mod tokens;
/// A handler's own claim type: the axum extractor and the tonic accessor.
#[cfg(feature = "axum")]
mod typed_claims;
