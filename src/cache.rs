//! The verified-token cache: the signature check is the cost of a request,
//! and the same access token arrives again and again for its whole life.
//!
//! - Keyed on the full token bytes (a fast, keyed hash of all of them; the
//!   equality check compares every byte), never on a part of the token.
//! - The value is the verified [`Claims`], the issuer they came from and the
//!   key that verified them.
//! - A hit still checks `exp`/`nbf`/`iat` against the layer's clock, and that
//!   the signing key is still in its issuer's current key set; route rules
//!   and the MFA policy run on every request.
//! - Bounded by a byte budget (moka with a weigher: an estimate of each
//!   entry's memory from its token length, measured against the process RSS
//!   with benches/flood.rs); an entry expires with its token. A flood of
//!   distinct tokens costs evictions, never memory past the budget.
//! - In front of the shared cache, each thread remembers the last token it
//!   found there (a byte comparison instead of hashing the whole token): a
//!   client on a keep-alive connection sends the same token again and again.
//!   The slot holds one entry per thread and goes through the same checks.
//!
//! One cache per layer: it is scoped to that layer's issuers, audiences and
//! algorithms; an entry records its issuer and is checked against that
//! issuer's keys and times only.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use crate::claims::Claims;
use crate::jwks::VerifyingKey;

/// Default byte budget of the cache: 64 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Longest an entry lives, whatever its token says (the maximum lifetime
/// check bounds tokens already; this bounds a misconfigured one).
const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Who verified a token: the issuer (its index in the layer) and the key.
pub(crate) struct Signer {
    pub(crate) issuer: usize,
    pub(crate) key: Arc<VerifyingKey>,
}

/// A verified token.
pub(crate) struct Entry {
    pub(crate) claims: Claims,
    /// The index of the issuer whose key verified it.
    pub(crate) issuer: usize,
    pub(crate) key: Arc<VerifyingKey>,
    token: Arc<[u8]>,
    ttl: Duration,
    weight: u32,
}

struct UntilExpiry;

impl Expiry<Arc<[u8]>, Arc<Entry>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &Arc<[u8]>,
        entry: &Arc<Entry>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// Ids that tell caches apart in the per-thread slot.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The last entry a thread found in a cache, with that cache's id.
type Last = Option<(u64, Arc<Entry>)>;

thread_local! {
    static LAST: RefCell<Last> = const { RefCell::new(None) };
}

/// The cache of one layer.
pub(crate) struct TokenCache {
    id: u64,
    inner: Cache<Arc<[u8]>, Arc<Entry>, foldhash::fast::RandomState>,
}

impl TokenCache {
    /// A cache holding at most about `max_bytes` of tokens and claims.
    pub(crate) fn new(max_bytes: u64) -> Self {
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_token: &Arc<[u8]>, entry: &Arc<Entry>| entry.weight)
            .expire_after(UntilExpiry)
            .build_with_hasher(foldhash::fast::RandomState::default());
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            inner,
        }
    }

    /// The entry for exactly this token.
    pub(crate) fn get(&self, token: &[u8]) -> Option<Arc<Entry>> {
        let last = LAST.with(|slot| match &*slot.borrow() {
            Some((id, entry)) if *id == self.id && *entry.token == *token => {
                Some(Arc::clone(entry))
            }
            _ => None,
        });
        if last.is_some() {
            return last;
        }
        let entry = self.inner.get(token)?;
        LAST.with(|slot| *slot.borrow_mut() = Some((self.id, Arc::clone(&entry))));
        Some(entry)
    }

    /// Remembers a verified token until `deadline` (seconds since the epoch).
    pub(crate) fn insert(
        &self,
        token: &[u8],
        claims: Claims,
        signer: Signer,
        deadline: f64,
        now: f64,
    ) {
        let left = deadline - now;
        if left.is_nan() || left <= 0.0 {
            return;
        }
        let ttl = Duration::try_from_secs_f64(left).map_or(MAX_TTL, |ttl| ttl.min(MAX_TTL));
        // The token, the parsed claims (the payload text, the typed claims
        // and, once a handler reads it, the JSON map: about four times the
        // payload at most) and fixed overheads, as measured with
        // benches/flood.rs against the process RSS.
        let weight =
            u32::try_from(token.len().saturating_mul(5).saturating_add(1280)).unwrap_or(u32::MAX);
        let token: Arc<[u8]> = token.into();
        let entry = Entry {
            claims,
            issuer: signer.issuer,
            key: signer.key,
            token: Arc::clone(&token),
            ttl,
            weight,
        };
        self.inner.insert(token, Arc::new(entry));
    }

    /// Forgets a token (its key left the key set, or it expired).
    pub(crate) fn remove(&self, token: &[u8]) {
        LAST.with(|slot| {
            let mut slot = slot.borrow_mut();
            if matches!(&*slot, Some((id, entry)) if *id == self.id && *entry.token == *token) {
                *slot = None;
            }
        });
        self.inner.invalidate(token);
    }

    /// Entries and approximate bytes held, after pending maintenance.
    pub(crate) fn stats(&self) -> (u64, u64) {
        self.inner.run_pending_tasks();
        (self.inner.entry_count(), self.inner.weighted_size())
    }
}
