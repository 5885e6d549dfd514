//! The verified-token cache: the signature check is the cost of a request,
//! and the same access token arrives again and again for its whole life.
//!
//! - Keyed on the full token bytes (a fast, keyed hash of all of them; the
//!   equality check compares every byte), never on a part of the token.
//! - The value is the verified [`Claims`] and the key that verified them.
//! - A hit still checks `exp`/`nbf`/`iat` against the layer's clock, and that
//!   the signing key is still in the current key set; route rules and the MFA
//!   policy run on every request.
//! - Lock-free reads (papaya). The cache is bounded by a byte budget (an
//!   estimate of each entry's memory from the token length): when an insert would pass it,
//!   one thread sweeps expired entries, then evicts arbitrary ones down to
//!   three quarters of the budget. A flood of distinct tokens costs sweeps,
//!   never memory past the budget.
//!
//! - In front of the shared map, each thread remembers the last token it
//!   found there (a byte comparison instead of hashing the whole token): a
//!   client on a keep-alive connection sends the same token again and again.
//!   It holds `Arc`s to one entry per thread and goes through the same checks.
//!
//! One cache per layer: it is scoped to that layer's issuer, audiences and
//! algorithms.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::claims::Claims;
use crate::jwks::VerifyingKey;

/// Default byte budget of the cache: 64 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A verified token.
pub(crate) struct Entry {
    pub(crate) claims: Claims,
    pub(crate) key: Arc<VerifyingKey>,
    /// `exp` + leeway, seconds since the epoch: past it the entry is dead.
    deadline: f64,
    weight: u64,
}

type Map = papaya::HashMap<Arc<[u8]>, Arc<Entry>, foldhash::fast::RandomState>;

/// Ids that tell caches apart in the per-thread slot.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The last token a thread found in a cache: (cache id, token, entry).
type Last = Option<(u64, Arc<[u8]>, Arc<Entry>)>;

thread_local! {
    static LAST: RefCell<Last> = const { RefCell::new(None) };
}

/// The cache of one layer.
pub(crate) struct TokenCache {
    id: u64,
    map: Map,
    bytes: AtomicU64,
    max_bytes: u64,
    sweeping: AtomicBool,
}

impl TokenCache {
    /// A cache holding at most about `max_bytes` of tokens and claims.
    pub(crate) fn new(max_bytes: u64) -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            map: papaya::HashMap::with_hasher(foldhash::fast::RandomState::default()),
            bytes: AtomicU64::new(0),
            max_bytes,
            sweeping: AtomicBool::new(false),
        }
    }

    /// The entry for exactly this token.
    pub(crate) fn get(&self, token: &[u8]) -> Option<Arc<Entry>> {
        let last = LAST.with(|slot| match &*slot.borrow() {
            Some((id, last, entry)) if *id == self.id && **last == *token => {
                Some(Arc::clone(entry))
            }
            _ => None,
        });
        if last.is_some() {
            return last;
        }
        let map = self.map.pin();
        let (key, entry) = map.get_key_value(token)?;
        let found = (Arc::clone(key), Arc::clone(entry));
        drop(map);
        let entry = Arc::clone(&found.1);
        LAST.with(|slot| *slot.borrow_mut() = Some((self.id, found.0, found.1)));
        Some(entry)
    }

    /// Remembers a verified token until `deadline` (seconds since the epoch).
    pub(crate) fn insert(
        &self,
        token: &str,
        claims: Claims,
        key: Arc<VerifyingKey>,
        deadline: f64,
        now: f64,
    ) {
        // The token, the parsed claims (a JSON map and the typed copies:
        // about four times the payload) and fixed overheads, as measured
        // with benches/flood.rs against the process RSS.
        let weight = (token.len() as u64).saturating_mul(5).saturating_add(1024);
        if weight > self.max_bytes / 4 {
            return;
        }
        if self.bytes.load(Ordering::Relaxed).saturating_add(weight) > self.max_bytes {
            self.sweep(now);
            if self.bytes.load(Ordering::Relaxed).saturating_add(weight) > self.max_bytes {
                return;
            }
        }
        let entry = Arc::new(Entry {
            claims,
            key,
            deadline,
            weight,
        });
        let map = self.map.pin();
        self.bytes.fetch_add(weight, Ordering::Relaxed);
        if let Some(old) = map.insert(token.as_bytes().into(), entry) {
            self.bytes.fetch_sub(old.weight, Ordering::Relaxed);
        }
    }

    /// Forgets a token (its key left the key set, or it expired).
    pub(crate) fn remove(&self, token: &[u8]) {
        LAST.with(|slot| {
            let mut slot = slot.borrow_mut();
            if matches!(&*slot, Some((id, last, _)) if *id == self.id && **last == *token) {
                *slot = None;
            }
        });
        if let Some(old) = self.map.pin().remove(token) {
            self.bytes.fetch_sub(old.weight, Ordering::Relaxed);
        }
    }

    /// Drops expired entries, then arbitrary ones until the cache holds at
    /// most three quarters of its budget. One sweeper at a time; others skip.
    fn sweep(&self, now: f64) {
        if self.sweeping.swap(true, Ordering::Acquire) {
            return;
        }
        let map = self.map.pin();
        let target = self.max_bytes / 4 * 3;
        let mut left = self.bytes.load(Ordering::Relaxed);
        let mut doomed: Vec<Arc<[u8]>> = Vec::new();
        for (token, entry) in map.iter() {
            if entry.deadline <= now {
                left = left.saturating_sub(entry.weight);
                doomed.push(Arc::clone(token));
            }
        }
        for (token, entry) in map.iter() {
            if left <= target {
                break;
            }
            if entry.deadline > now {
                left = left.saturating_sub(entry.weight);
                doomed.push(Arc::clone(token));
            }
        }
        for token in &doomed {
            if let Some(old) = map.remove(&**token) {
                self.bytes.fetch_sub(old.weight, Ordering::Relaxed);
            }
        }
        drop(map);
        self.sweeping.store(false, Ordering::Release);
    }

    /// Entries and approximate bytes held.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (self.map.len() as u64, self.bytes.load(Ordering::Relaxed))
    }
}
