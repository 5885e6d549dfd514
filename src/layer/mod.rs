//! The tower middleware: [`RequireMfaLayer`], configured by its
//! [`Builder`], makes [`RequireMfa`] services whose calls return a
//! [`ResponseFuture`].
//!
//! Readiness: `poll_ready` drives the inner service to readiness; `call`
//! swaps that readied service out (leaving a fresh clone in its place) and
//! calls it once the request is verified, so no clone is ever called unready.
//! A refused request drops the readied service uncalled. When a key must be
//! fetched first, the readied service is released too and a clone is driven
//! to readiness after the fetch, so the inner service's capacity is never
//! held while keys are being fetched.

mod answers;
mod builder;
mod future;
mod service;
mod trust;
mod validate;

use std::sync::Arc;

use tower_layer::Layer;

pub use builder::{Builder, DEFAULT_MAX_TOKEN_LEN};
#[cfg(feature = "cli")]
pub(crate) use builder::{DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME};
pub use future::ResponseFuture;
pub use service::RequireMfa;

use crate::pipeline::Pipeline;

/// A tower layer that verifies bearer tokens and requires MFA on chosen routes.
///
/// Build it with [`RequireMfaLayer::builder`]. Cloning is cheap (an `Arc`);
/// all clones share one key cache.
#[derive(Clone)]
pub struct RequireMfaLayer {
    pipeline: Arc<Pipeline>,
}

impl RequireMfaLayer {
    /// Starts a configuration.
    pub fn builder() -> Builder {
        Builder::new()
    }

    fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline: Arc::new(pipeline),
        }
    }

    /// The pipeline (`inspect` runs its steps).
    #[cfg(feature = "cli")]
    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Fetches every issuer's keys now (side by side), instead of on the
    /// first request. Does nothing for static keys.
    pub async fn warm_up(&self) {
        futures_util::future::join_all(self.pipeline.issuers.iter().map(|t| t.keys.refresh_now()))
            .await;
    }

    /// How many key set fetches this layer has started, all issuers
    /// together (discovery documents not counted).
    #[must_use]
    pub fn key_fetches(&self) -> u64 {
        self.pipeline
            .issuers
            .iter()
            .map(|t| t.keys.fetch_count())
            .sum()
    }

    /// How many key set fetches this layer has started for the issuer with
    /// this short name (`None`: no such issuer; the one-issuer shorthand is
    /// named `default`).
    #[must_use]
    pub fn key_fetches_of(&self, issuer: &str) -> Option<u64> {
        self.issuer(issuer).map(|t| t.keys.fetch_count())
    }

    /// The short names of the trusted issuers, in configuration order.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.pipeline.issuers.iter().map(|t| &*t.name)
    }

    fn issuer(&self, name: &str) -> Option<&crate::pipeline::Trusted> {
        self.pipeline.issuers.iter().find(|t| &*t.name == name)
    }

    /// Entries and approximate bytes held by the verified-token cache
    /// (`None` when the cache is off).
    #[must_use]
    pub fn token_cache_stats(&self) -> Option<(u64, u64)> {
        self.pipeline
            .cache
            .as_ref()
            .map(crate::cache::TokenCache::stats)
    }

    /// The number of usable keys currently cached, all issuers together.
    #[must_use]
    pub fn cached_keys(&self) -> usize {
        self.pipeline
            .issuers
            .iter()
            .map(|t| t.keys.snapshot().keys.len())
            .sum()
    }

    /// The number of usable keys currently cached for one issuer.
    #[must_use]
    pub fn cached_keys_of(&self, issuer: &str) -> Option<usize> {
        self.issuer(issuer).map(|t| t.keys.snapshot().keys.len())
    }
}

impl std::fmt::Debug for RequireMfaLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireMfaLayer")
            .field("rules", &self.pipeline.rules())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RequireMfaLayer {
    type Service = RequireMfa<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireMfa::new(inner, Arc::clone(&self.pipeline))
    }
}
