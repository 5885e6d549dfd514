//! The answers to refused requests: status, `WWW-Authenticate`
//! challenge (RFC 6750, RFC 9470), a small RFC 9457 problem body, the browser
//! step-up redirect, and trailers-only gRPC answers (with a
//! `grpc-status-details-bin` carrying a `google.rpc.ErrorInfo`, see
//! [`grpc_error_reason`]).
//!
//! Every header value is rendered once, when the layer is built (except the
//! step-up `Location`, `Retry-After` and the gRPC `RetryInfo`, which carry
//! per-request values). No token, claim value or library error text ever
//! appears in an answer.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

use crate::body::ResponseBody;
use crate::error::{ErrorKind, Reason};

/// The reason phrase Partner Center sends with a missing-MFA answer.
pub const MFA_REASON_PHRASE: &str = "Unauthorized - MFA required";

mod dpop;
mod facts;
mod grpc;
mod hooks;
mod status;
mod step_up;
pub(crate) use dpop::DpopChallenges;
pub(crate) use facts::Facts;
#[cfg(feature = "tonic")]
pub(crate) use grpc::status_details_bytes;
pub use grpc::{GRPC_ERROR_DOMAIN, GRPC_MISSING_ROLE_REASON, grpc_error_reason};
pub use hooks::{IsBrowser, Refusal, RefusalBody, RenderRefusal};
pub use status::KeysUnavailableStatus;
#[cfg(feature = "cli")]
pub(crate) use status::label;
pub(crate) use status::status;
pub(crate) use step_up::check as check_step_up;

/// How a missing-MFA refusal is answered to API clients.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChallengeStyle {
    /// Partner Center's answer: `401 Unauthorized - MFA required` and
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    #[default]
    PartnerCenter,
    /// RFC 9470 step-up: `Bearer error="insufficient_user_authentication"`
    /// with `acr_values` and/or `max_age`. A sign-in older than the MFA
    /// policy's [`max_age`](crate::MfaPolicy::max_age) is always
    /// answered with `max_age` (the policy's, or this one when smaller), and
    /// a style naming neither parameter is valid when the policy sets
    /// `max_age`.
    Rfc9470 {
        /// `acr_values` to request (space-separated), if any.
        acr_values: Option<String>,
        /// `max_age` in seconds to request, if any.
        max_age: Option<u64>,
    },
}

/// Pre-rendered answers of one layer.
#[derive(Clone, Debug)]
pub(crate) struct Answers {
    pub(crate) missing: HeaderValue,
    invalid_request: HeaderValue,
    invalid_token: HeaderValue,
    mfa: HeaderValue,
    /// The RFC 9470 answer to a sign-in older than `max_age` (always with
    /// `max_age`); `None` in the Partner Center style.
    mfa_stale: Option<HeaderValue>,
    mfa_reason_phrase: bool,
    app_denied: HeaderValue,
    missing_role: HeaderValue,
    unavailable_status: KeysUnavailableStatus,
    step_up: Option<String>,
    claims_challenge: Option<HeaderValue>,
    renderer: Option<Arc<dyn RenderRefusal>>,
}

impl fmt::Debug for dyn RenderRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RenderRefusal")
    }
}

/// Entra's claims challenge for clients that declare `cp1`: where to
/// authenticate, and the authentication context to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsChallenge {
    /// The authorization endpoint, e.g.
    /// `https://login.microsoftonline.com/common/oauth2/authorize`.
    pub authorization_uri: String,
    /// The Conditional Access authentication context id (`acrs`) to require,
    /// e.g. `c1`.
    pub auth_context: String,
}

impl ClaimsChallenge {
    /// `Bearer realm="", authorization_uri="…", error="insufficient_claims", claims="…"`
    /// where `claims` is the base64 of
    /// `{"access_token":{"acrs":{"essential":true,"value":"<auth_context>"}}}`.
    fn render(&self, metadata: Option<&str>) -> HeaderValue {
        use base64::Engine;
        let request = serde_json::json!({
            "access_token": {"acrs": {"essential": true, "value": self.auth_context}}
        });
        let claims = base64::engine::general_purpose::STANDARD.encode(request.to_string());
        header(&with_metadata(
            format!(
                "Bearer realm=\"\", authorization_uri=\"{}\", error=\"insufficient_claims\", claims=\"{claims}\"",
                quote(&self.authorization_uri)
            ),
            metadata,
        ))
    }
}

const DESC_INVALID_REQUEST: &str = "The request carries a malformed or duplicated credential";
const DESC_INVALID_TOKEN: &str = "The access token is invalid";
const DESC_MFA: &str = "Multi-factor authentication is required";
const DESC_APP_DENIED: &str = "App-only tokens are not accepted here";
const DESC_MISSING_ROLE: &str = "The access token lacks a required role";

fn quote(value: &str) -> String {
    // error_description and other parameters: %x20-21 / %x23-5B / %x5D-7E.
    value
        .chars()
        .filter(|c| matches!(*c, ' '..='~') && *c != '"' && *c != '\\')
        .collect()
}

/// Appends `resource_metadata="…"` (RFC 9728 §5.1) to a `Bearer` challenge
/// when the layer publishes metadata; the challenge is unchanged otherwise.
pub(crate) fn with_metadata(mut challenge: String, metadata: Option<&str>) -> String {
    if let Some(url) = metadata {
        let separator = if challenge.contains(' ') { ", " } else { " " };
        challenge.push_str(separator);
        challenge.push_str("resource_metadata=\"");
        challenge.push_str(&quote(url));
        challenge.push('"');
    }
    challenge
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// Renders `Bearer error="insufficient_scope", scope="..."`.
pub(crate) fn scope_challenge(scopes: &[String]) -> HeaderValue {
    let joined = scopes
        .iter()
        .map(|s| quote(s))
        .collect::<Vec<_>>()
        .join(" ");
    header(&format!(
        "Bearer error=\"insufficient_scope\", scope=\"{joined}\""
    ))
}

impl Answers {
    /// Renders every answer of one requirement once; `metadata` is the
    /// resource metadata URL the `401` challenges name, when published.
    // Plain values in, one per setting that shapes an answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        realm: Option<&str>,
        style: &ChallengeStyle,
        unavailable_status: KeysUnavailableStatus,
        step_up: Option<String>,
        claims_challenge: Option<&ClaimsChallenge>,
        policy_max_age: Option<u64>,
        renderer: Option<Arc<dyn RenderRefusal>>,
        metadata: Option<&str>,
    ) -> Self {
        let missing = match realm {
            Some(realm) => header(&with_metadata(
                format!("Bearer realm=\"{}\"", quote(realm)),
                metadata,
            )),
            None if metadata.is_some() => header(&with_metadata("Bearer".to_owned(), metadata)),
            None => HeaderValue::from_static("Bearer"),
        };
        let (mfa, mfa_stale, mfa_reason_phrase) = match style {
            ChallengeStyle::PartnerCenter => (
                header(&with_metadata(
                    "Bearer error=\"invalid_token\"".to_owned(),
                    metadata,
                )),
                None,
                true,
            ),
            ChallengeStyle::Rfc9470 {
                acr_values,
                max_age,
            } => {
                let acr_values = acr_values.as_deref().filter(|a| !a.is_empty());
                // A style without either parameter asks for the policy's max_age.
                let usual = match (acr_values, max_age) {
                    (None, None) => policy_max_age,
                    _ => *max_age,
                };
                // A stale sign-in is always asked to sign in again recently.
                let stale = match (*max_age, policy_max_age) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                (
                    rfc9470(acr_values, usual, metadata),
                    Some(rfc9470(acr_values, stale, metadata)),
                    false,
                )
            }
        };
        Self {
            missing,
            invalid_request: header(&format!(
                "Bearer error=\"invalid_request\", error_description=\"{DESC_INVALID_REQUEST}\""
            )),
            invalid_token: header(&with_metadata(
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{DESC_INVALID_TOKEN}\""
                ),
                metadata,
            )),
            mfa,
            mfa_stale,
            mfa_reason_phrase,
            app_denied: header(&format!(
                "Bearer error=\"insufficient_scope\", error_description=\"{DESC_APP_DENIED}\""
            )),
            // No `scope` parameter: a client cannot obtain a role by asking
            // for a scope.
            missing_role: header(&format!(
                "Bearer error=\"insufficient_scope\", error_description=\"{DESC_MISSING_ROLE}\""
            )),
            unavailable_status,
            step_up,
            claims_challenge: claims_challenge.map(|c| c.render(metadata)),
            renderer,
        }
    }

    /// The answer for a refusal for `reason`.
    ///
    /// `scope` is the rule's pre-rendered scope challenge; `return_to` the
    /// original path and query (for the browser redirect).
    pub(crate) fn render<B>(
        &self,
        reason: Reason,
        scope: Option<&HeaderValue>,
        facts: Facts,
        return_to: &str,
        retry_after: u64,
    ) -> Response<ResponseBody<B>> {
        let kind = reason.kind();
        let status = status(kind, self.unavailable_status);
        let (challenge, body): (Option<&HeaderValue>, &'static str) = match kind {
            ErrorKind::MissingToken => (Some(&self.missing), PROBLEM_MISSING),
            ErrorKind::InvalidRequest => (Some(&self.invalid_request), PROBLEM_INVALID_REQUEST),
            ErrorKind::InvalidToken => (Some(&self.invalid_token), PROBLEM_INVALID_TOKEN),
            ErrorKind::KeysUnavailable if status == StatusCode::SERVICE_UNAVAILABLE => {
                (None, PROBLEM_UNAVAILABLE)
            }
            ErrorKind::KeysUnavailable => (Some(&self.invalid_token), PROBLEM_INVALID_TOKEN),
            ErrorKind::MfaRequired => match (&self.claims_challenge, facts.cp1) {
                (Some(claims), true) => (Some(claims), PROBLEM_MFA),
                _ => {
                    let challenge = match (&self.mfa_stale, reason) {
                        (Some(stale), Reason::MfaTooOld) => stale,
                        _ => &self.mfa,
                    };
                    (Some(challenge), PROBLEM_MFA)
                }
            },
            ErrorKind::InsufficientScope => {
                let challenge = match reason {
                    Reason::MissingRole => &self.missing_role,
                    Reason::MissingScope => scope.unwrap_or(&self.app_denied),
                    _ => &self.app_denied,
                };
                (Some(challenge), PROBLEM_SCOPE)
            }
        };

        if facts.grpc {
            return grpc::grpc_answer(reason, status, challenge, retry_after);
        }

        if kind == ErrorKind::MfaRequired
            && facts.html
            && let Some(step_up) = &self.step_up
            && let Ok(location) = HeaderValue::from_str(&step_up::location(step_up, return_to))
        {
            let mut response = Response::new(ResponseBody::refusal(Bytes::new()));
            *response.status_mut() = StatusCode::SEE_OTHER;
            response.headers_mut().insert(LOCATION, location);
            return response;
        }

        let (content_type, body) = match &self.renderer {
            Some(renderer) => {
                let rendered = renderer.render(Refusal { status, kind });
                (rendered.content_type, rendered.body)
            }
            None => (
                HeaderValue::from_static("application/problem+json"),
                Bytes::from_static(body.as_bytes()),
            ),
        };
        let mut response = Response::new(ResponseBody::refusal(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, content_type);
        if let Some(challenge) = challenge {
            headers.insert(WWW_AUTHENTICATE, challenge.clone());
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        let claims_challenge = facts.cp1 && self.claims_challenge.is_some();
        if kind == ErrorKind::MfaRequired && self.mfa_reason_phrase && !claims_challenge {
            response
                .extensions_mut()
                .insert(hyper::ext::ReasonPhrase::from_static(
                    MFA_REASON_PHRASE.as_bytes(),
                ));
        }
        response
    }
}

/// `Bearer error="insufficient_user_authentication"` with the parameters given.
fn rfc9470(acr_values: Option<&str>, max_age: Option<u64>, metadata: Option<&str>) -> HeaderValue {
    let mut v = format!(
        "Bearer error=\"insufficient_user_authentication\", error_description=\"{DESC_MFA}\""
    );
    if let Some(acr) = acr_values {
        v.push_str(&format!(", acr_values=\"{}\"", quote(acr)));
    }
    if let Some(age) = max_age {
        v.push_str(&format!(", max_age=\"{age}\""));
    }
    header(&with_metadata(v, metadata))
}

const PROBLEM_MISSING: &str = r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"A bearer token is required."}"#;
const PROBLEM_INVALID_REQUEST: &str = r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"The request carries a malformed or duplicated credential."}"#;
const PROBLEM_INVALID_TOKEN: &str = r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The access token is invalid."}"#;
const PROBLEM_MFA: &str = r#"{"type":"about:blank","title":"Unauthorized - MFA required","status":401,"detail":"Multi-factor authentication is required."}"#;
const PROBLEM_SCOPE: &str = r#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"The access token lacks a required scope or role."}"#;
const PROBLEM_UNAVAILABLE: &str = r#"{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"The identity provider's keys are unavailable; retry later."}"#;
