//! Optional counters (feature `metrics`), through the `metrics` facade: the
//! application installs whichever recorder (Prometheus, StatsD...) it uses.
//!
//! - `tower_mfa_decisions_total{outcome, kind}`: one per decision; `outcome`
//!   is `allow`, `deny` or `report_only`, `kind` the [`ErrorKind`](crate::ErrorKind)
//!   name of a refusal (empty when allowed).
//! - `tower_mfa_jwks_fetches_total{result}`: key set fetches, `ok` or `error`.
//! - `tower_mfa_token_cache_total{result}`: verified-token cache lookups,
//!   `hit` or `miss`.
//!
//! Without the feature these functions compile to nothing.

/// Counts one decision.
#[inline]
pub(crate) fn decision(outcome: &'static str, kind: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("tower_mfa_decisions_total", "outcome" => outcome, "kind" => kind)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (outcome, kind);
}

/// Counts one key set fetch.
#[inline]
pub(crate) fn jwks_fetch(ok: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!("tower_mfa_jwks_fetches_total", "result" => if ok { "ok" } else { "error" })
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = ok;
}

/// Counts one verified-token cache lookup.
#[inline]
pub(crate) fn token_cache(hit: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!("tower_mfa_token_cache_total", "result" => if hit { "hit" } else { "miss" })
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = hit;
}
