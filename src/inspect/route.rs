//! The route verdict of a report: the answer a configured layer gives to one
//! request, found by running the layer's own pipeline steps (select,
//! extract, verify, authorize, answer) on a request built from the token,
//! the method and the path.

use std::time::SystemTime;

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};

use super::Error;
use crate::RequireMfaLayer;
use crate::error::{ErrorKind, Reason};
use crate::pipeline::{Extracted, Scheme, Verdict, Verified};
use crate::policy::caller::Caller;
use crate::policy::mfa::MfaProof;
use crate::policy::route::Access;

/// What the layer does with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Let through (with MFA proof, or on a route that needs none).
    Pass,
    /// Let through without MFA proof because an exemption applies.
    Exempted,
    /// Let through on a report-only rule (or before its `enforce_from`);
    /// the refusal is only logged.
    ReportOnly,
    /// Refused.
    Refused,
}

impl Outcome {
    /// `pass`, `exempted`, `report_only` or `refused` (the decision log's
    /// outcome, with `allow` split into `pass` and `exempted`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Exempted => "exempted",
            Self::ReportOnly => "report_only",
            Self::Refused => "refused",
        }
    }
}

/// The state of one pipeline step for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    /// Passed; the text says what was found.
    Ok(String),
    /// Refused for this reason.
    Fail(Reason),
    /// Failed, but the rule only reports it (the request goes through).
    Reported(Reason),
    /// Not applied: the text says why (not needed, or an earlier step refused).
    Skipped(String),
}

/// One pipeline step as the layer ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `rule`, `token`, `verify`, `scopes`, `roles`, `mfa`, `exemption`, `mode`.
    pub name: &'static str,
    /// What it found.
    pub state: StepState,
}

/// The exemption that stood in for missing MFA proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemptionUse {
    /// Its id (a ticket number).
    pub id: String,
    /// Why it was granted.
    pub reason: String,
    /// When it stops applying.
    pub expires: Option<SystemTime>,
}

/// The answer the configured layer gives to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteVerdict {
    /// The request's method.
    pub method: Method,
    /// The request's path.
    pub path: String,
    /// The name of the rule that matched (`default` when none did).
    pub rule: String,
    /// The access the rule requires.
    pub access: Access,
    /// Scopes the rule requires.
    pub scopes: Vec<String>,
    /// Roles the rule requires.
    pub roles: Vec<String>,
    /// Whether the rule only reports refusals at the time judged.
    pub report_only: bool,
    /// The rule's `enforce_from`, when it has one.
    pub enforce_from: Option<SystemTime>,
    /// What the layer does.
    pub outcome: Outcome,
    /// The refusal (or the reported refusal on a report-only rule).
    pub reason: Option<Reason>,
    /// The caller class, when the token was verified.
    pub caller: Option<Caller>,
    /// The MFA proof found, when the route checked it and the token has it.
    pub mfa: Option<MfaProof>,
    /// The exemption used, when one was.
    pub exemption: Option<ExemptionUse>,
    /// The HTTP status the layer answers (200: handed to the service).
    pub status: u16,
    /// The `WWW-Authenticate` value of the answer, when it has one.
    pub www_authenticate: Option<String>,
    /// The steps, in the layer's order.
    pub steps: Vec<Step>,
    /// The time judged at (the layer's clock).
    pub now: SystemTime,
    /// The short name of the trusted issuer whose token was verified
    /// (`default` for the one-issuer shorthand); `None` when the token was
    /// not verified.
    pub issuer: Option<String>,
}

impl RouteVerdict {
    /// Whether the request goes through to the service.
    #[must_use]
    pub fn passes(&self) -> bool {
        self.outcome != Outcome::Refused
    }
}

/// Runs the layer's pipeline on `METHOD path` with `Authorization: Bearer
/// <token>` (an API request: no `Accept: text/html`, not gRPC). Keys the
/// layer has not cached are fetched as the layer fetches them.
pub(super) async fn judge(
    layer: &RequireMfaLayer,
    token: &str,
    method: Method,
    path: &str,
) -> Result<RouteVerdict, Error> {
    let pipeline = layer.pipeline();
    let uri: Uri = path
        .parse()
        .ok()
        .filter(|u: &Uri| u.path().starts_with('/'))
        .ok_or_else(|| Error::InvalidPath(path.to_owned()))?;
    let mut headers = HeaderMap::new();
    let value =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Error::NotAHeaderValue)?;
    headers.insert(AUTHORIZATION, value);

    let now = pipeline.clock.now();
    let rule = pipeline.select(&method, uri.path(), &uri, &headers);
    let mut steps = vec![Step {
        name: "rule",
        state: StepState::Ok(format!("{:?} ({})", &*rule.name, rule.access.as_str())),
    }];
    let mut verified_by = None;
    let verdict = match pipeline.extract(rule, &uri, &headers) {
        Extracted::Skip => {
            steps.push(skipped("token", "not read: the route is public"));
            Verdict::Allow(None)
        }
        Extracted::Refused(reason) => {
            steps.push(fail("token", reason));
            Verdict::Deny(reason, None)
        }
        // The judged request sends its token as `Bearer`: never `Dpop`.
        Extracted::Dpop(_) => {
            steps.push(fail("token", Reason::OtherScheme));
            Verdict::Deny(Reason::OtherScheme, None)
        }
        Extracted::Token(token) => {
            steps.push(ok("token", "a bearer token in Authorization"));
            // As the layer: a key not cached is fetched, then the token is
            // verified again (a second `Fetch` is an unknown key).
            let verified = match pipeline.verify(token, now) {
                Verified::Fetch(token) => match pipeline.verify_fetched(&token).await {
                    Verified::Fetch(_) => Verified::Refused(Reason::UnknownKeyId),
                    other => other,
                },
                other => other,
            };
            match verified {
                Verified::Claims(claims, issuer) => {
                    let name = pipeline.issuers.get(issuer).map(|t| t.name.to_string());
                    steps.push(ok(
                        "verify",
                        &format!(
                            "issuer {:?}: size, header, key, signature, issuer, audience, tenant lists, times",
                            name.as_deref().unwrap_or_default()
                        ),
                    ));
                    verified_by = name;
                    // As the layer: the sender check (a DPoP-bound token sent
                    // as Bearer, a rule requiring DPoP), then authorize.
                    let mut req = Request::new(());
                    *req.method_mut() = method.clone();
                    *req.uri_mut() = uri.clone();
                    *req.headers_mut() = headers.clone();
                    pipeline.admit(rule, Scheme::Bearer, token, claims, issuer, &req, now)
                }
                Verified::Refused(reason) => {
                    steps.push(fail("verify", reason));
                    Verdict::Deny(reason, None)
                }
                Verified::Fetch(_) => {
                    steps.push(fail("verify", Reason::UnknownKeyId));
                    Verdict::Deny(Reason::UnknownKeyId, None)
                }
            }
        }
    };

    let mut report = RouteVerdict {
        method,
        path: path.to_owned(),
        rule: rule.name.to_string(),
        access: rule.access,
        scopes: rule.scopes.clone(),
        roles: rule.roles.clone(),
        report_only: rule.reports_only(now),
        enforce_from: rule.enforce_from,
        outcome: Outcome::Pass,
        reason: None,
        caller: None,
        mfa: None,
        exemption: None,
        status: 200,
        www_authenticate: None,
        steps,
        now,
        issuer: verified_by,
    };
    // Which authorization step refused, and whether that was enforced.
    let mut authorized: Option<(Option<Reason>, bool)> = None;
    match &verdict {
        Verdict::Allow(None) => {}
        Verdict::Allow(Some((_, decision))) => {
            report.caller = Some(decision.caller());
            report.mfa = decision.mfa();
            report.reason = decision.reported();
            authorized = Some((decision.reported(), false));
            if let Some(id) = decision.exemption() {
                report.outcome = Outcome::Exempted;
                let found = pipeline
                    .exemptions()
                    .snapshot()
                    .iter()
                    .find(|e| e.id == id)
                    .map(|e| (e.reason.clone(), e.expires));
                report.exemption = Some(ExemptionUse {
                    id: id.to_owned(),
                    reason: found.as_ref().map(|f| f.0.clone()).unwrap_or_default(),
                    expires: found.map(|f| f.1),
                });
            }
            if decision.reported().is_some() {
                report.outcome = Outcome::ReportOnly;
            }
        }
        Verdict::Deny(reason, claims) => {
            report.outcome = Outcome::Refused;
            report.reason = Some(*reason);
            if let Some(claims) = claims {
                report.caller = Some(crate::policy::caller::classify(claims));
                authorized = Some((Some(*reason), true));
            }
            let response =
                pipeline.answer::<()>(rule, *reason, claims.as_ref(), &HeaderMap::new(), path, now);
            report.status = response.status().as_u16();
            report.www_authenticate = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
    }
    if let Some((reason, enforced)) = authorized {
        authorize_steps(&mut report, reason, enforced);
    }
    Ok(report)
}

/// The authorization steps, from the one reason authorize gave (`Ok`: none).
fn authorize_steps(report: &mut RouteVerdict, reason: Option<Reason>, enforced: bool) {
    let failed_at = match reason {
        None => "",
        Some(Reason::MissingScope) => "scopes",
        Some(Reason::MissingRole) => "roles",
        Some(_) => "mfa",
    };
    let mut reached = true;
    let mut list = |report: &mut RouteVerdict, name: &'static str, passed: String| {
        let state = if !reached {
            StepState::Skipped("not reached".to_owned())
        } else if let Some(reason) = reason.filter(|_| name == failed_at) {
            reached = false;
            if enforced {
                StepState::Fail(reason)
            } else {
                StepState::Reported(reason)
            }
        } else {
            StepState::Ok(passed)
        };
        report.steps.push(Step { name, state });
    };
    let required = |list: &[String]| {
        if list.is_empty() {
            "none required".to_owned()
        } else {
            format!("has {}", list.join(", "))
        }
    };
    let scopes = required(&report.scopes);
    let roles = required(&report.roles);
    list(report, "scopes", scopes);
    list(report, "roles", roles);
    if report.access == Access::Mfa {
        let mfa = match (report.mfa, &report.exemption) {
            (Some(proof), _) => format!("proven by {}", proof.as_str()),
            (None, Some(_)) => "no proof; an exemption applies".to_owned(),
            (None, None) => "not required for this caller".to_owned(),
        };
        // A refused MFA check that an exemption covered is not a failure.
        if report.exemption.is_some() {
            report.steps.push(ok("mfa", &mfa));
        } else {
            list(report, "mfa", mfa);
        }
    } else {
        report.steps.push(skipped(
            "mfa",
            &format!("not checked on {} routes", report.access.as_str()),
        ));
    }
    match &report.exemption {
        Some(e) => report
            .steps
            .push(ok("exemption", &format!("{:?} used", e.id))),
        None if reason.is_some_and(|r| r.kind() == ErrorKind::MfaRequired) => {
            report.steps.push(skipped("exemption", "none applies"));
        }
        None => {}
    }
}

fn ok(name: &'static str, text: &str) -> Step {
    Step {
        name,
        state: StepState::Ok(text.to_owned()),
    }
}

fn fail(name: &'static str, reason: Reason) -> Step {
    Step {
        name,
        state: StepState::Fail(reason),
    }
}

fn skipped(name: &'static str, text: &str) -> Step {
    Step {
        name,
        state: StepState::Skipped(text.to_owned()),
    }
}
