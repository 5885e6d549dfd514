//! Optional counters (feature `metrics`), through the `metrics` facade: the
//! application installs whichever recorder (Prometheus, StatsD...) it uses.
//!
//! - `tower_mfa_decisions_total{outcome, kind, issuer}`: one per decision;
//!   `outcome` is `allow`, `deny` or `report_only`, `kind` the
//!   [`ErrorKind`](crate::ErrorKind) name of a refusal (empty when allowed),
//!   `issuer` the short name of the token's issuer (empty when the token
//!   was refused before it was verified).
//! - `tower_mfa_jwks_fetches_total{issuer, result}`: key set fetches by
//!   issuer short name, `ok` or `error`.
//! - `tower_mfa_token_cache_total{result}`: verified-token cache lookups,
//!   `hit` or `miss`.
//!
//! Without the feature these functions compile to nothing.

/// Counts one decision.
#[inline]
pub(crate) fn decision(
    outcome: &'static str,
    kind: &'static str,
    issuer: Option<&std::sync::Arc<str>>,
) {
    #[cfg(feature = "metrics")]
    {
        let issuer: metrics::SharedString = match issuer {
            Some(name) => std::sync::Arc::clone(name).into(),
            None => "".into(),
        };
        metrics::counter!("tower_mfa_decisions_total", "outcome" => outcome, "kind" => kind, "issuer" => issuer)
            .increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (outcome, kind, issuer);
}

/// Counts one key set fetch of the issuer named `issuer`.
#[inline]
pub(crate) fn jwks_fetch(issuer: &std::sync::Arc<str>, ok: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "tower_mfa_jwks_fetches_total",
        "issuer" => std::sync::Arc::clone(issuer),
        "result" => if ok { "ok" } else { "error" }
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, ok);
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
