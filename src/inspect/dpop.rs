//! `inspect`'s DPoP part: the token's binding (`cnf.jkt`) and, given a
//! proof, the proof checks that need no request (its header, key and
//! signature, the thumbprint against `cnf.jkt`, `ath`, `iat`, `jti`; `htm`
//! and `htu` are shown, since only a request can be compared with them).

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::report::HeaderCheck;
use crate::dpop::{DEFAULT_DPOP_WINDOW, htu, proof};
use crate::error::Reason;

/// The DPoP facts of a token and, when given, of its proof.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DpopReport {
    /// The token's `cnf.jkt`: it is DPoP-bound and must be sent with the
    /// `DPoP` scheme and a proof by that key; as `Bearer` it is refused.
    pub bound_to: Option<String>,
    /// The proof checks, in the layer's order, when a proof was given.
    pub proof_checks: Vec<HeaderCheck>,
}

impl DpopReport {
    /// The first failed proof check.
    #[must_use]
    pub fn failure(&self) -> Option<Reason> {
        self.proof_checks.iter().find_map(|c| c.result.err())
    }
}

fn check(name: &'static str, detail: String, result: Result<(), Reason>) -> HeaderCheck {
    HeaderCheck {
        name,
        detail,
        result,
    }
}

/// The report for `token` (whose payload decoded to `claims`, if it did)
/// and an optional proof, judged at `now` with `leeway` seconds.
pub(super) fn report(
    token: &str,
    claims: Option<&Value>,
    proof: Option<&str>,
    now: f64,
    leeway: f64,
) -> Option<DpopReport> {
    let bound_to = claims
        .and_then(|c| c.get("cnf"))
        .and_then(|cnf| cnf.get("jkt"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(proof) = proof.map(str::trim) else {
        return bound_to.map(|bound_to| DpopReport {
            bound_to: Some(bound_to),
            proof_checks: Vec::new(),
        });
    };
    let mut checks = Vec::new();
    let parsed = proof::parse_unbound(proof.as_bytes());
    let unbound = match parsed {
        Ok(unbound) => {
            let alg = unbound
                .header
                .get("alg")
                .and_then(Value::as_str)
                .unwrap_or("?");
            checks.push(check(
                "proof",
                format!("typ dpop+jwt, alg {alg}, public jwk, signature by it"),
                Ok(()),
            ));
            unbound
        }
        Err(reason) => {
            checks.push(check(
                "proof",
                "typ dpop+jwt, an allowed asymmetric alg, a public jwk, its signature".into(),
                Err(reason),
            ));
            return Some(DpopReport {
                bound_to,
                proof_checks: checks,
            });
        }
    };
    let jkt_ok = match &bound_to {
        Some(jkt) if *jkt == unbound.jkt => Ok(()),
        Some(_) => Err(Reason::DpopKeyMismatch),
        None => Err(Reason::DpopTokenNotBound),
    };
    checks.push(check(
        "cnf.jkt",
        format!("proof key thumbprint {}", unbound.jkt),
        jkt_ok,
    ));
    let text = |name: &str| unbound.payload.get(name).and_then(Value::as_str);
    let want = URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()));
    checks.push(check(
        "ath",
        "base64url(SHA-256(token))".into(),
        match text("ath") {
            Some(ath) if ath == want => Ok(()),
            Some(_) => Err(Reason::DpopTokenHashMismatch),
            None => Err(Reason::DpopClaim),
        },
    ));
    let window = DEFAULT_DPOP_WINDOW.as_secs_f64();
    let (iat_detail, iat_ok) = match unbound.payload.get("iat").and_then(Value::as_f64) {
        Some(iat) => (
            format!(
                "{:.0} s before now; accepted: at most {window:.0} s (default window)",
                now - iat
            ),
            if iat >= now - window && iat <= now + leeway {
                Ok(())
            } else {
                Err(Reason::DpopStale)
            },
        ),
        None => ("missing or not a number".into(), Err(Reason::DpopClaim)),
    };
    checks.push(check("iat", iat_detail, iat_ok));
    checks.push(check(
        "jti",
        "a string, never seen before (the layer's replay cache)".into(),
        match text("jti") {
            Some(jti) if !jti.is_empty() && jti.len() <= 256 => Ok(()),
            _ => Err(Reason::DpopClaim),
        },
    ));
    let (htm, htu_value) = (text("htm"), text("htu"));
    checks.push(check(
        "htm/htu",
        format!(
            "{} {} (compared with the request's method and public URI by the layer)",
            htm.unwrap_or("(missing)"),
            htu_value.unwrap_or("(missing)")
        ),
        match (htm, htu_value) {
            (Some(_), Some(u)) if htu::normalise(u).is_some() => Ok(()),
            (Some(_), Some(_)) => Err(Reason::DpopUriMismatch),
            _ => Err(Reason::DpopClaim),
        },
    ));
    Some(DpopReport {
        bound_to,
        proof_checks: checks,
    })
}
