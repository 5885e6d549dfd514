//! The verified-token cache: the signature check is the cost of a request,
//! and the same access token arrives again and again for its whole life.
//!
//! - Keyed on the full token bytes (a fast, keyed hash of all of them; the
//!   equality check compares every byte), never on a part of the token.
//! - The value is the verified [`Claims`] and the key that verified them.
//! - A hit still checks `exp`/`nbf`/`iat` against the layer's clock, and that
//!   the signing key is still in the current key set; route rules and the MFA
//!   policy run on every request.
//! - Entries expire with the token and the cache is bounded by a byte budget
//!   (token length plus an estimate of the claims), so a flood of distinct
//!   tokens cannot grow memory past it.
//!
//! One cache per layer: it is scoped to that layer's issuer, audiences and
//! algorithms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use crate::claims::Claims;
use crate::jwks::VerifyingKey;

/// Default byte budget of the cache: 64 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A verified token.
pub(crate) struct Entry {
    pub(crate) claims: Claims,
    pub(crate) key: Arc<VerifyingKey>,
    /// How long the entry may live (until `exp` + leeway).
    ttl: Duration,
    weight: u32,
}

struct UntilExpiry;

impl Expiry<Arc<str>, Arc<Entry>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &Arc<str>,
        value: &Arc<Entry>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The cache of one layer.
#[derive(Clone)]
pub(crate) struct TokenCache {
    inner: Cache<Arc<str>, Arc<Entry>, foldhash::fast::RandomState>,
}

impl TokenCache {
    /// A cache holding at most about `max_bytes` of tokens and claims.
    pub(crate) fn new(max_bytes: u64) -> Self {
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key: &Arc<str>, entry: &Arc<Entry>| entry.weight)
            .expire_after(UntilExpiry)
            .build_with_hasher(foldhash::fast::RandomState::default());
        Self { inner }
    }

    /// The entry for exactly this token.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        self.inner.get(token)
    }

    /// Remembers a verified token for `ttl`.
    pub(crate) fn insert(
        &self,
        token: &str,
        claims: Claims,
        key: Arc<VerifyingKey>,
        ttl: Duration,
    ) {
        if ttl.is_zero() {
            return;
        }
        // The token, the parsed claims (about three times the payload) and
        // fixed overheads.
        let weight =
            u32::try_from(token.len().saturating_mul(3).saturating_add(256)).unwrap_or(u32::MAX);
        let entry = Entry {
            claims,
            key,
            ttl,
            weight,
        };
        self.inner.insert(token.into(), Arc::new(entry));
    }

    /// Forgets a token (its key left the key set, or it expired).
    pub(crate) fn remove(&self, token: &str) {
        self.inner.invalidate(token);
    }

    /// Entries and weighted size, after pending maintenance.
    pub(crate) fn stats(&self) -> (u64, u64) {
        self.inner.run_pending_tasks();
        (self.inner.entry_count(), self.inner.weighted_size())
    }
}
