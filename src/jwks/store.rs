//! The key cache: lock-free reads, single-flight refreshes, a cooldown between
//! unknown-`kid` refreshes, and last-known-good keys when the issuer fails.
//!
//! Reads load an immutable [`Snapshot`] through `arc-swap`. A refresh runs as
//! its own task (so a cancelled request does not cancel it) and swaps in a new
//! snapshot when done; the only mutex guards the "is a fetch in flight" slot
//! and is never held across an `.await`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwap, ArcSwapOption};
use futures_util::FutureExt;
use futures_util::future::Shared;
use url::Url;

use super::fetch::{self, FetchError, FetchPolicy};
use super::key::VerifyingKey;
use super::set::KeySet;
use crate::clock::Clock;
use crate::error::Reason;

/// Where keys come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Keys given in code; never fetched.
    Static,
    /// A JWKS URL; no discovery document is fetched.
    Jwks(Url),
    /// An OIDC discovery URL whose `jwks_uri` is followed.
    Discovery(Url),
}

/// Refresh timing.
#[derive(Debug, Clone)]
pub(crate) struct RefreshPolicy {
    /// Between two refreshes triggered by an unknown `kid`.
    pub(crate) cooldown: Duration,
    /// Background refresh interval when the server sends no `max-age`.
    pub(crate) interval: Duration,
    /// Bounds applied to the server's `max-age`.
    pub(crate) min_interval: Duration,
    /// Bounds applied to the server's `max-age`.
    pub(crate) max_interval: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(30),
            interval: Duration::from_secs(3600),
            min_interval: Duration::from_secs(60),
            max_interval: Duration::from_secs(24 * 3600),
        }
    }
}

/// An immutable view of the cache.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) keys: Arc<KeySet>,
    /// Whether any fetch was attempted (the start-up fetch is lazy).
    attempted: bool,
    /// Whether the most recent fetch failed.
    pub(crate) last_failed: bool,
    /// When the background refresh is due.
    next_refresh: SystemTime,
}

type InFlight = Shared<Pin<Box<dyn Future<Output = ()> + Send>>>;

/// The outcome of a synchronous key lookup.
pub(crate) enum Lookup {
    /// The key is cached.
    Found(Arc<VerifyingKey>),
    /// A fetch is needed (or running) before the answer is known.
    Fetch,
    /// Unknown, and no fetch may run now.
    Refused(Reason),
}

/// The shared key cache.
#[derive(Clone)]
pub(crate) struct KeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// The issuer's short name, for logs and metrics.
    name: Arc<str>,
    source: Source,
    expected_issuer: Option<String>,
    client: reqwest::Client,
    fetch: FetchPolicy,
    refresh: RefreshPolicy,
    clock: Arc<dyn Clock>,
    snapshot: ArcSwap<Snapshot>,
    jwks_url: ArcSwapOption<Url>,
    in_flight: Mutex<Option<InFlight>>,
    /// Micros since the epoch of the last unknown-`kid` refresh; 0 = never.
    last_kid_refresh: AtomicU64,
    fetches: AtomicU64,
}

impl KeyStore {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: Arc<str>,
        source: Source,
        static_keys: KeySet,
        expected_issuer: Option<String>,
        client: reqwest::Client,
        fetch: FetchPolicy,
        refresh: RefreshPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let is_static = matches!(source, Source::Static);
        let jwks_url = match &source {
            Source::Jwks(url) => Some(Arc::new(url.clone())),
            _ => None,
        };
        let snapshot = Snapshot {
            keys: Arc::new(static_keys),
            attempted: is_static,
            last_failed: false,
            next_refresh: if is_static {
                SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 4)
            } else {
                UNIX_EPOCH
            },
        };
        Self {
            inner: Arc::new(Inner {
                name,
                source,
                expected_issuer,
                client,
                fetch,
                refresh,
                clock,
                snapshot: ArcSwap::from_pointee(snapshot),
                jwks_url: ArcSwapOption::new(jwks_url),
                in_flight: Mutex::new(None),
                last_kid_refresh: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// How many fetches of the key set were started.
    pub(crate) fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The current snapshot.
    pub(crate) fn snapshot(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.inner.snapshot.load()
    }

    /// Looks `kid` up without waiting. Starts a background refresh when due.
    pub(crate) fn lookup(&self, kid: &str, now: SystemTime) -> Lookup {
        let snap = self.inner.snapshot.load();
        if let Some(key) = snap.keys.get(kid) {
            if now >= snap.next_refresh {
                self.refresh_in_background();
            }
            return Lookup::Found(Arc::clone(key));
        }
        if matches!(self.inner.source, Source::Static) {
            return Lookup::Refused(Reason::UnknownKeyId);
        }
        if !snap.attempted || self.cooldown_elapsed(now) || self.in_flight().is_some() {
            return Lookup::Fetch;
        }
        // A refresh may have finished since the first load: look again.
        let snap = self.inner.snapshot.load();
        match snap.keys.get(kid) {
            Some(key) => Lookup::Found(Arc::clone(key)),
            None => Lookup::Refused(unknown(&snap)),
        }
    }

    /// Looks `kid` up, fetching the key set first when allowed: the start-up
    /// fetch, a fetch already in flight, or an unknown-`kid` refresh once the
    /// cooldown has passed.
    pub(crate) async fn resolve(&self, kid: &str) -> Result<Arc<VerifyingKey>, Reason> {
        let snap = self.inner.snapshot.load_full();
        if let Some(key) = snap.keys.get(kid) {
            return Ok(Arc::clone(key));
        }
        let now = self.inner.clock.now();
        let wait = {
            let mut slot = lock(&self.inner.in_flight);
            // A fetch stores its keys before it frees the slot: looked at
            // again under the lock, the snapshot shows a fetch that finished
            // since the first look, and no second fetch is started for it.
            let snap = self.inner.snapshot.load();
            if let Some(running) = slot.as_ref() {
                Some(running.clone())
            } else if snap.keys.get(kid).is_some() {
                None
            } else if !snap.attempted || self.claim_cooldown(now) {
                Some(self.start(&mut slot))
            } else {
                None
            }
        };
        if let Some(wait) = wait {
            wait.await;
        }
        let snap = self.inner.snapshot.load();
        snap.keys.get(kid).cloned().ok_or_else(|| unknown(&snap))
    }

    /// Fetches the key set now unless a fetch is running, and waits for it.
    pub(crate) async fn refresh_now(&self) {
        let wait = {
            let mut slot = lock(&self.inner.in_flight);
            match slot.as_ref() {
                Some(running) => running.clone(),
                None => self.start(&mut slot),
            }
        };
        wait.await;
    }

    /// Seconds until an unknown-`kid` refresh may run again (at least 1).
    pub(crate) fn retry_after(&self, now: SystemTime) -> u64 {
        let last = self.inner.last_kid_refresh.load(Ordering::Acquire);
        let next = last.saturating_add(micros(self.inner.refresh.cooldown));
        let now = micros_since_epoch(now);
        next.saturating_sub(now).div_ceil(1_000_000).max(1)
    }

    fn in_flight(&self) -> Option<InFlight> {
        lock(&self.inner.in_flight).clone()
    }

    fn cooldown_elapsed(&self, now: SystemTime) -> bool {
        let last = self.inner.last_kid_refresh.load(Ordering::Acquire);
        last == 0
            || micros_since_epoch(now) >= last.saturating_add(micros(self.inner.refresh.cooldown))
    }

    fn claim_cooldown(&self, now: SystemTime) -> bool {
        let now_micros = micros_since_epoch(now).max(1);
        let cooldown = micros(self.inner.refresh.cooldown);
        self.inner
            .last_kid_refresh
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                (last == 0 || now_micros >= last.saturating_add(cooldown)).then_some(now_micros)
            })
            .is_ok()
    }

    fn refresh_in_background(&self) {
        let mut slot = lock(&self.inner.in_flight);
        if slot.is_none() {
            drop(self.start(&mut slot));
        }
    }

    /// Starts a fetch; the caller holds the in-flight slot.
    fn start(&self, slot: &mut Option<InFlight>) -> InFlight {
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let inner = Arc::clone(&self.inner);
        let task = async move {
            run_refresh(&inner).await;
            *lock(&inner.in_flight) = None;
        };
        let future: Pin<Box<dyn Future<Output = ()> + Send>> =
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => Box::pin(handle.spawn(task).map(|_| ())),
                Err(_) => Box::pin(task),
            };
        let shared = future.shared();
        *slot = Some(shared.clone());
        shared
    }
}

fn unknown(snap: &Snapshot) -> Reason {
    if snap.last_failed {
        Reason::KeysUnreachable
    } else {
        Reason::UnknownKeyId
    }
}

async fn run_refresh(inner: &Inner) {
    let result = fetch_keys(inner).await;
    let now = inner.clock.now();
    let previous = inner.snapshot.load_full();
    crate::metrics::jwks_fetch(&inner.name, result.is_ok());
    let next = match result {
        Ok((keys, max_age)) => {
            let interval = max_age.map_or(inner.refresh.interval, |age| {
                age.clamp(inner.refresh.min_interval, inner.refresh.max_interval)
            });
            tracing::debug!(target: "tower_mfa::jwks", issuer = %inner.name, keys = keys.len(), refresh_in_s = interval.as_secs(), "key set refreshed");
            Snapshot {
                keys: Arc::new(keys.reuse(&previous.keys)),
                attempted: true,
                last_failed: false,
                next_refresh: now + interval,
            }
        }
        Err(error) => {
            tracing::warn!(target: "tower_mfa::jwks", issuer = %inner.name, error = %error.describe(), "key set fetch failed; keeping the last known keys");
            Snapshot {
                keys: Arc::clone(&previous.keys),
                attempted: true,
                last_failed: true,
                next_refresh: now + inner.refresh.cooldown,
            }
        }
    };
    inner.snapshot.store(Arc::new(next));
}

async fn fetch_keys(inner: &Inner) -> Result<(KeySet, Option<Duration>), FetchError> {
    let jwks_url = match inner.jwks_url.load_full() {
        Some(url) => url,
        None => {
            let Source::Discovery(discovery) = &inner.source else {
                return Err(FetchError::Malformed);
            };
            let doc = fetch::get(&inner.client, discovery, &inner.fetch).await?;
            let url = fetch::jwks_uri_from_discovery(&doc.body, inner.expected_issuer.as_deref())?;
            fetch::check_url(&url, inner.fetch.allow_http_loopback)?;
            let url = Arc::new(url);
            inner.jwks_url.store(Some(Arc::clone(&url)));
            url
        }
    };
    let fetched = fetch::get(&inner.client, &jwks_url, &inner.fetch).await?;
    let keys = KeySet::parse(&fetched.body).map_err(|_| FetchError::Malformed)?;
    if keys.is_empty() {
        // An empty set would wipe the last known keys: treat it as a failure.
        return Err(FetchError::Malformed);
    }
    Ok((keys, fetched.max_age))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn micros_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, micros)
}
