//! The `--json` rendering of a [`Report`]: the same data as the text, as one
//! JSON object with stable keys.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::report::{Report, Signature, Verdict};
use super::route::{RouteVerdict, StepState};
use crate::error::Reason;

fn secs(at: SystemTime) -> Value {
    at.duration_since(UNIX_EPOCH)
        .map_or(Value::Null, |d| json!(d.as_secs()))
}

fn result(result: &Result<(), Reason>) -> Value {
    match result {
        Ok(()) => json!("ok"),
        Err(reason) => json!(reason.as_str()),
    }
}

fn route(r: &RouteVerdict) -> Value {
    let steps: Vec<Value> = r
        .steps
        .iter()
        .map(|s| {
            let (state, detail) = match &s.state {
                StepState::Ok(text) => ("ok", json!(text)),
                StepState::Fail(reason) => ("fail", json!(reason.as_str())),
                StepState::Reported(reason) => ("reported", json!(reason.as_str())),
                StepState::Skipped(text) => ("skipped", json!(text)),
            };
            json!({"step": s.name, "state": state, "detail": detail})
        })
        .collect();
    json!({
        "method": r.method.as_str(),
        "path": r.path,
        "rule": r.rule,
        "issuer": r.issuer,
        "access": r.access.as_str(),
        "scopes": r.scopes,
        "roles": r.roles,
        "report_only": r.report_only,
        "enforce_from": r.enforce_from.map(secs),
        "caller": r.caller.map(|c| c.as_str()),
        "mfa": r.mfa.map(|p| p.as_str()),
        "exemption": r.exemption.as_ref().map(|e| json!({
            "id": e.id,
            "reason": e.reason,
            "expires": e.expires.map(secs),
        })),
        "steps": steps,
    })
}

impl Report {
    /// The report as JSON (what `tower-mfa inspect --json` prints):
    /// `outcome`, `reason` (a [`Reason`] code or `null`), `status`,
    /// `www_authenticate`, then `route` (with `--config`), and the decoded
    /// token (never the token itself nor its signature).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let (outcome, reason, status, challenge) = match &self.route {
            Some(r) => (
                r.outcome.as_str(),
                r.reason.map(Reason::as_str),
                r.status,
                r.www_authenticate.clone(),
            ),
            None => match self.verdict {
                Verdict::Pass => ("pass", None, 200, None),
                Verdict::Refused(reason) => (
                    "refused",
                    Some(reason.as_str()),
                    self.verdict.status(),
                    None,
                ),
            },
        };
        let signature = match &self.signature {
            Signature::NotChecked => json!("not_checked"),
            Signature::Verified { kid } => json!({"verified": kid}),
            Signature::Failed(reason) => json!({"failed": reason.as_str()}),
        };
        json!({
            "outcome": outcome,
            "reason": reason,
            "status": status,
            "www_authenticate": challenge,
            "route": self.route.as_ref().map(route),
            "header": self.header,
            "header_checks": self.header_checks.iter().map(|c| json!({
                "check": c.name,
                "result": result(&c.result),
                "detail": c.detail,
            })).collect::<Vec<_>>(),
            "claims": self.claims,
            "claims_error": self.claims_error.map(Reason::as_str),
            "caller": self.caller.map(|(c, why)| json!({"kind": c.as_str(), "why": why})),
            "amr": self.amr,
            "times": self.times.as_ref().map(|t| json!({
                "now": secs(t.now),
                "exp": t.exp,
                "nbf": t.nbf,
                "iat": t.iat,
                "auth_time": t.auth_time,
                "check": result(&t.check),
            })),
            "signature": signature,
        })
    }
}
