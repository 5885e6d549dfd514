//! The `jti` replay cache of one layer: bounded in memory, entries expire
//! when their proof would be too old to be accepted anyway, and a full
//! cache refuses new proofs instead of evicting unexpired entries (evicting
//! would let an attacker flush a proof and replay it).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::digest::{Context, SHA256};

/// Why a proof was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The same key already sent a proof with this `jti`.
    Replayed,
    /// The cache is full of unexpired proofs.
    Full,
}

/// Seen proofs: SHA-256 of (thumbprint, `jti`) to the time (seconds since
/// the epoch) after which the proof could not be accepted anyway.
pub(crate) struct ReplayCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    seen: HashMap<[u8; 32], f64, foldhash::fast::RandomState>,
    /// The earliest expiry held: nothing expires before it, so a full cache
    /// is only swept when something can go.
    earliest: f64,
}

impl ReplayCache {
    /// A cache holding at most `capacity` proofs.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                seen: HashMap::with_hasher(foldhash::fast::RandomState::default()),
                earliest: f64::INFINITY,
            }),
        }
    }

    /// Records a proof seen at `now`, valid until `expires`; refuses a
    /// replay, and any new proof while the cache is full.
    pub(crate) fn record(
        &self,
        jkt: &str,
        jti: &str,
        expires: f64,
        now: f64,
    ) -> Result<(), Refusal> {
        let mut ctx = Context::new(&SHA256);
        ctx.update(&(jkt.len() as u64).to_be_bytes());
        ctx.update(jkt.as_bytes());
        ctx.update(jti.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        // A poisoned lock fails closed: the proof cannot be recorded.
        let Ok(mut inner) = self.inner.lock() else {
            return Err(Refusal::Full);
        };
        if let Some(until) = inner.seen.get(&key)
            && *until >= now
        {
            return Err(Refusal::Replayed);
        }
        if inner.seen.len() >= self.capacity && !inner.seen.contains_key(&key) {
            if inner.earliest >= now {
                return Err(Refusal::Full);
            }
            inner.seen.retain(|_, until| *until >= now);
            inner.earliest = inner.seen.values().copied().fold(f64::INFINITY, f64::min);
            if inner.seen.len() >= self.capacity {
                return Err(Refusal::Full);
            }
        }
        inner.seen.insert(key, expires);
        inner.earliest = inner.earliest.min(expires);
        Ok(())
    }

    /// Proofs held (for tests and `Debug`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.seen.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_until_expiry() {
        let cache = ReplayCache::new(10);
        assert_eq!(cache.record("k", "a", 100.0, 10.0), Ok(()));
        assert_eq!(cache.record("k", "a", 100.0, 20.0), Err(Refusal::Replayed));
        // Another key may use the same jti.
        assert_eq!(cache.record("other", "a", 100.0, 20.0), Ok(()));
        // After expiry the proof is too old anyway; the entry may go.
        assert_eq!(cache.record("k", "a", 300.0, 101.0), Ok(()));
    }

    #[test]
    fn a_full_cache_refuses_rather_than_evicts() {
        let cache = ReplayCache::new(2);
        assert_eq!(cache.record("k", "a", 100.0, 0.0), Ok(()));
        assert_eq!(cache.record("k", "b", 200.0, 0.0), Ok(()));
        assert_eq!(cache.record("k", "c", 300.0, 50.0), Err(Refusal::Full));
        // Still remembered: not evicted.
        assert_eq!(cache.record("k", "a", 100.0, 50.0), Err(Refusal::Replayed));
        // Once `a` expired, its slot is swept and reused.
        assert_eq!(cache.record("k", "c", 300.0, 150.0), Ok(()));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.record("k", "b", 200.0, 150.0), Err(Refusal::Replayed));
    }
}
