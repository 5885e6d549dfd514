//! The text `tower-mfa inspect` prints: [`Report`]'s `Display`.

use std::fmt;

use serde_json::Value;

use std::time::{SystemTime, UNIX_EPOCH};

use super::report::{Report, Signature, Verdict};
use super::route::{Outcome, RouteVerdict, StepState};
use crate::challenge::{self, KeysUnavailableStatus};
use crate::error::{ErrorKind, Reason};
use crate::log::Escaped;
use crate::policy::mfa::MfaProof;
use crate::time::{rfc3339, unix_seconds};

fn proof_text(proof: MfaProof) -> &'static str {
    match proof {
        MfaProof::Amr => "`amr` contains \"mfa\"",
        MfaProof::EquivalentAmr => "`amr` contains an MFA-equivalent value (ngcmfa, multipleauthn)",
        MfaProof::LongAmrClaim => "a long-named amr claim contains \"mfa\" or an equivalent",
        MfaProof::DerivedFactors => "`amr` holds methods from two RFC 8176 factor groups",
        MfaProof::Acr => "`acr` is an accepted value",
        MfaProof::AuthContext => "`acrs` holds an accepted authentication context",
    }
}

/// `53 min`, `2 h`, `3 d`, `45 s`.
fn span(seconds: f64) -> String {
    let s = seconds.abs();
    if s < 120.0 {
        format!("{} s", s.floor())
    } else if s < 120.0 * 60.0 {
        format!("{} min", (s / 60.0).floor())
    } else if s <= 48.0 * 3600.0 {
        format!("{} h", (s / 3600.0).floor())
    } else {
        format!("{} d", (s / 86400.0).floor())
    }
}

fn relative(at: f64, now: f64) -> String {
    if at > now {
        format!("in {}", span(at - now))
    } else {
        format!("{} ago", span(now - at))
    }
}

fn outcome(result: &Result<(), Reason>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(reason) => format!("FAIL {} ({reason})", reason.as_str()),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A [`Report`] rendered as text ([`Report::render`]): the verdict first,
/// then why (each step with ok/FAIL), then the details of the token.
#[derive(Debug, Clone, Copy)]
pub struct Rendered<'a> {
    report: &'a Report,
    color: bool,
}

impl Report {
    /// The text `tower-mfa inspect` prints; `color` adds ANSI colours to the
    /// verdict and the ok/FAIL marks (for a terminal). `Display` is
    /// `render(false)`.
    #[must_use]
    pub fn render(&self, color: bool) -> Rendered<'_> {
        Rendered {
            report: self,
            color,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.render(false).fmt(f)
    }
}

/// ANSI colour codes, or nothing.
fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

const GREEN: &str = "32";
const RED: &str = "1;31";
const YELLOW: &str = "33";
const DIM: &str = "2";

fn mark(state: &StepState, color: bool) -> String {
    match state {
        StepState::Ok(_) => paint("ok  ", GREEN, color),
        StepState::Fail(_) => paint("FAIL", RED, color),
        StepState::Reported(_) => paint("FAIL", YELLOW, color),
        StepState::Skipped(_) => paint("--  ", DIM, color),
    }
}

fn until(at: SystemTime) -> String {
    at.duration_since(UNIX_EPOCH)
        .map_or_else(|_| "?".to_owned(), |d| rfc3339(d.as_secs_f64()))
}

fn refusal(status: u16, reason: Reason) -> String {
    let label = challenge::label(reason.kind(), KeysUnavailableStatus::default());
    if reason.kind() == ErrorKind::MfaRequired {
        format!("{status} {label} ({})", reason.as_str())
    } else {
        format!("{status} {label}: {reason} ({})", reason.as_str())
    }
}

fn route_verdict(f: &mut fmt::Formatter<'_>, r: &RouteVerdict, color: bool) -> fmt::Result {
    let headline = match (r.outcome, r.reason) {
        (Outcome::Refused, Some(reason)) => paint(&refusal(r.status, reason), RED, color),
        (Outcome::ReportOnly, Some(reason)) => paint(
            &format!(
                "{} pass, report-only: would be {}",
                r.status,
                refusal(Verdict::Refused(reason).status(), reason)
            ),
            YELLOW,
            color,
        ),
        (Outcome::Exempted, _) => {
            let id = r.exemption.as_ref().map_or("", |e| e.id.as_str());
            paint(
                &format!("{} pass, MFA waived by exemption {id:?}", r.status),
                YELLOW,
                color,
            )
        }
        _ => paint(&format!("{} pass", r.status), GREEN, color),
    };
    writeln!(f, "verdict:   {headline}")?;
    writeln!(
        f,
        "           {} {} -> rule {:?} ({})",
        r.method,
        r.path,
        r.rule,
        r.access.as_str()
    )?;
    if let Some(challenge) = &r.www_authenticate {
        writeln!(f, "           WWW-Authenticate: {challenge}")?;
    }
    writeln!(f, "why:")?;
    for step in &r.steps {
        let detail = match &step.state {
            StepState::Ok(text) | StepState::Skipped(text) => text.clone(),
            StepState::Fail(reason) => format!("{} ({reason})", reason.as_str()),
            StepState::Reported(reason) => {
                format!("{} ({reason}), reported only", reason.as_str())
            }
        };
        writeln!(
            f,
            "  {} {:<10} {detail}",
            mark(&step.state, color),
            step.name
        )?;
    }
    if let Some(e) = &r.exemption {
        let expires = e.expires.map_or_else(|| "?".to_owned(), until);
        writeln!(
            f,
            "exemption: {:?} until {expires}: {}",
            e.id,
            Escaped(&e.reason)
        )?;
    }
    let mode = match (r.report_only, r.enforce_from) {
        (true, Some(from)) if r.now < from => format!("report-only until {}", until(from)),
        (true, _) => "report-only".to_owned(),
        (false, Some(from)) => format!("enforced since {}", until(from)),
        (false, None) => "enforced".to_owned(),
    };
    writeln!(f, "mode:      {mode}")?;
    if let Some(caller) = r.caller {
        writeln!(f, "caller:    {}", caller.as_str())?;
    }
    writeln!(f, "details:")
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.report;
        match &report.route {
            Some(route) => route_verdict(f, route, self.color)?,
            None => {
                let verified = matches!(report.signature, Signature::Verified { .. });
                let caveat = if report.verdict.passes() && !verified {
                    " (signature not checked)"
                } else {
                    ""
                };
                let code = if report.verdict.passes() { GREEN } else { RED };
                writeln!(
                    f,
                    "verdict:   on an `mfa` route: {}{caveat}",
                    paint(&report.verdict.answer(), code, self.color)
                )?;
            }
        }
        report.details(f, self.color)
    }
}

impl Report {
    /// The decoded token: header, claims, times (and, without a
    /// configuration, the token-only checks).
    fn details(&self, f: &mut fmt::Formatter<'_>, color: bool) -> fmt::Result {
        let plain = self.route.is_none();
        match &self.header {
            Some(header) => writeln!(f, "header:\n{}", pretty(header))?,
            None => writeln!(f, "header: not a base64url JSON object")?,
        }
        if !self.header_checks.is_empty() {
            writeln!(f, "header checks:")?;
            for check in &self.header_checks {
                let mark = if check.result.is_ok() {
                    paint("ok  ", GREEN, color)
                } else {
                    paint("FAIL", RED, color)
                };
                writeln!(f, "  {mark} {:<16} {}", check.name, check.detail)?;
            }
        }
        // With a configuration, the layer's verify step is the signature check.
        let verified = matches!(self.signature, Signature::Verified { .. })
            || self.route.as_ref().is_some_and(|r| {
                r.steps
                    .iter()
                    .any(|s| s.name == "verify" && matches!(s.state, StepState::Ok(_)))
            });
        match (&self.claims, self.claims_error) {
            (Some(claims), error) => {
                let note = if verified {
                    "signature verified"
                } else {
                    "NOT verified"
                };
                writeln!(f, "claims ({note}):\n{}", pretty(claims))?;
                if let Some(reason) = error {
                    writeln!(f, "  FAIL {} ({reason})", reason.as_str())?;
                }
            }
            (None, Some(reason)) => {
                writeln!(f, "claims: unreadable: {} ({reason})", reason.as_str())?
            }
            (None, None) => writeln!(f, "claims: not decoded")?,
        }
        if let Some((caller, why)) = self.caller.filter(|_| plain) {
            writeln!(f, "caller:    {}: {why}", caller.as_str())?;
        }
        if let (Some(mfa), Some(route), true) = (&self.mfa, &self.mfa_route, plain) {
            let amr = serde_json::to_string(&self.amr).unwrap_or_default();
            let proof = match mfa {
                Ok(proof) => format!("proven by {}: {}", proof.as_str(), proof_text(*proof)),
                Err(reason) => format!("no proof: {} ({reason})", reason.as_str()),
            };
            match route {
                Ok(Some(_)) => writeln!(f, "mfa:       {proof}; amr = {amr}")?,
                Ok(None) => writeln!(
                    f,
                    "mfa:       not required: app-only callers skip the check (app_only = allow); {proof}; amr = {amr}"
                )?,
                Err(reason) if reason.kind() == ErrorKind::MfaRequired => {
                    writeln!(
                        f,
                        "mfa:       MISSING: {} ({reason}); amr = {amr}",
                        reason.as_str()
                    )?;
                }
                Err(reason) => {
                    writeln!(
                        f,
                        "mfa:       refused: {} ({reason}); amr = {amr}",
                        reason.as_str()
                    )?;
                }
            }
        }
        if let Some(t) = &self.times {
            let now = unix_seconds(t.now);
            match t.exp {
                Some(exp) if exp > now => {
                    writeln!(
                        f,
                        "expiry:    exp {} (expires {})",
                        rfc3339(exp),
                        relative(exp, now)
                    )?;
                }
                Some(exp) => writeln!(
                    f,
                    "expiry:    exp {} (expired {} ago)",
                    rfc3339(exp),
                    span(now - exp)
                )?,
                None => writeln!(f, "expiry:    no exp (required)")?,
            }
            for (name, at) in [("nbf", t.nbf), ("iat", t.iat), ("auth_time", t.auth_time)] {
                if let Some(at) = at {
                    writeln!(
                        f,
                        "           {name} {} ({})",
                        rfc3339(at),
                        relative(at, now)
                    )?;
                }
            }
            writeln!(
                f,
                "times:     {} (leeway {}, max lifetime {})",
                outcome(&t.check),
                span(self.leeway.as_secs_f64()),
                span(self.max_lifetime.as_secs_f64())
            )?;
        }
        if !plain {
            return Ok(());
        }
        if let Some(check) = &self.claim_check {
            let mut skipped = Vec::new();
            if !self.issuer_compared {
                skipped.push("issuer not compared: pass --issuer");
            }
            if !self.audience_compared {
                skipped.push("audience not compared: pass --audience");
            }
            let skipped = if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.join("; "))
            };
            writeln!(f, "checks:    {}{skipped}", outcome(check))?;
        }
        match &self.keys {
            Some(kids) if kids.is_empty() => writeln!(f, "keys:      no usable key")?,
            Some(kids) => writeln!(f, "keys:      {} usable: {}", kids.len(), kids.join(", "))?,
            None => {}
        }
        match &self.signature {
            Signature::NotChecked if self.keys.is_none() => writeln!(
                f,
                "signature: not checked (pass --jwks URL or --jwks-file PATH)"
            )?,
            Signature::NotChecked => writeln!(f, "signature: not reached")?,
            Signature::Verified { kid } => writeln!(f, "signature: ok (key {kid:?})")?,
            Signature::Failed(reason) => {
                writeln!(f, "signature: FAIL {} ({reason})", reason.as_str())?;
            }
        }
        if let Some(dpop) = &self.dpop {
            match &dpop.bound_to {
                Some(jkt) => writeln!(
                    f,
                    "dpop:      bound to key {jkt} (cnf.jkt): send it as `DPoP` with a proof by that key; as `Bearer` it is refused"
                )?,
                None => writeln!(f, "dpop:      the token is not DPoP-bound (no cnf.jkt)")?,
            }
            for check in &dpop.proof_checks {
                writeln!(
                    f,
                    "  proof {:<8} {}: {}",
                    check.name,
                    check.detail,
                    outcome(&check.result)
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_dates() {
        assert_eq!(span(53.0 * 60.0 + 5.0), "53 min");
        assert_eq!(span(2.0 * 3600.0 + 10.0), "2 h");
        assert_eq!(span(45.0), "45 s");
        assert_eq!(span(3.0 * 86400.0), "3 d");
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000.0), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400.0), "2000-02-29T00:00:00Z");
    }
}
