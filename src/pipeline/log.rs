//! The decision log: one event per decided request at target
//! `tower_mfa::decision` (allow, deny or report-only, with its metric), and
//! one audit event per use of an exemption at target `tower_mfa::audit`.
//!
//! Claim values come from a verified token and are still escaped and capped;
//! the token itself is never logged.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use super::Verdict;
use crate::claims::Claims;
use crate::error::Reason;
use crate::log::Escaped;
use crate::policy::exempt::Exemption;
use crate::policy::route::Rule;

/// Logs a verdict: `allow` at debug, `deny` and `report_only` at info.
/// Requests let through without a token (public routes, optional routes
/// without one) decide nothing and are not logged.
/// Verified tokens name their issuer (`issuer_of` finds a refused token's);
/// a token refused before it was verified names none, as nothing proves
/// which issuer it came from.
pub(super) fn verdict<'p>(
    rule: &Rule,
    verdict: &Verdict,
    issuer_of: impl FnOnce(&Claims) -> Option<&'p Arc<str>>,
) {
    match verdict {
        Verdict::Allow(None) => {}
        Verdict::Allow(Some((claims, decision))) => {
            let verified = Some((claims, Some(&decision.issuer)));
            match decision.reported() {
                Some(reason) => event("report_only", Some(reason), rule, verified, None),
                None => event("allow", None, rule, verified, decision.exemption()),
            }
        }
        Verdict::Deny(reason, claims) => {
            let verified = claims.as_ref().map(|c| (c, issuer_of(c)));
            event("deny", Some(*reason), rule, verified, None);
        }
    }
}

fn event(
    outcome: &'static str,
    reason: Option<Reason>,
    rule: &Rule,
    verified: Option<(&Claims, Option<&Arc<str>>)>,
    exemption: Option<&str>,
) {
    let claims = verified.map(|(claims, _)| claims);
    let issuer = verified.and_then(|(_, issuer)| issuer);
    let exemption = Escaped(exemption.unwrap_or(""));
    let reason_code = reason.map_or("", Reason::as_str);
    let kind = reason.map_or("", |r| r.kind().as_str());
    crate::metrics::decision(outcome, kind, issuer);
    let issuer = issuer.map_or("", |name| &**name);
    // Claim values are read inside the macros: only when a subscriber takes
    // the event.
    let tid = || Escaped(claims.and_then(Claims::tenant_id).unwrap_or(""));
    let oid = || Escaped(claims.and_then(Claims::object_id).unwrap_or(""));
    let app = || Escaped(claims.and_then(Claims::client_id).unwrap_or(""));
    if outcome == "allow" {
        tracing::debug!(target: "tower_mfa::decision", outcome, issuer = %issuer, rule = %rule.name, access = rule.access.as_str(), tenant = %tid(), oid = %oid(), app_id = %app(), exemption = %exemption, "request allowed");
    } else {
        tracing::info!(target: "tower_mfa::decision", outcome, reason = reason_code, kind, issuer = %issuer, rule = %rule.name, access = rule.access.as_str(), tenant = %tid(), oid = %oid(), app_id = %app(), exemption = %exemption, "request refused");
    }
}

/// The audit event of one use of an exemption: which exemption, why it
/// exists, whom it let through on which rule, and the MFA refusal it
/// suppressed.
pub(super) fn exemption(exemption: &Exemption, suppressed: Reason, rule: &Rule, claims: &Claims) {
    let expires = exemption
        .expires
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    tracing::warn!(
        target: "tower_mfa::audit",
        exemption_id = %Escaped(&exemption.id),
        reason = ?exemption.reason,
        subject = exemption.subject.kind(),
        expires,
        suppressed = suppressed.as_str(),
        rule = %rule.name,
        tenant = %Escaped(claims.tenant_id().unwrap_or("")),
        oid = %Escaped(claims.object_id().unwrap_or("")),
        app_id = %Escaped(claims.client_id().unwrap_or("")),
        "MFA check suppressed by an exemption"
    );
}
