//! The answers to refused requests (PRODUCT.md §5): status, `WWW-Authenticate`
//! challenge (RFC 6750, RFC 9470), a small RFC 9457 problem body, the browser
//! step-up redirect, and trailers-only gRPC answers (with a
//! `grpc-status-details-bin` carrying a `google.rpc.ErrorInfo`, see
//! [`grpc_error_reason`]).
//!
//! Every header value is rendered once, when the layer is built. No token,
//! claim value or library error text ever appears in an answer.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::body::ResponseBody;
use crate::error::ErrorKind;

/// The reason phrase Partner Center sends with a missing-MFA answer.
pub const MFA_REASON_PHRASE: &str = "Unauthorized - MFA required";

/// How a missing-MFA refusal is answered to API clients.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChallengeStyle {
    /// Partner Center's answer: `401 Unauthorized - MFA required` and
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    #[default]
    PartnerCenter,
    /// RFC 9470 step-up: `Bearer error="insufficient_user_authentication"`
    /// with `acr_values` and/or `max_age`.
    Rfc9470 {
        /// `acr_values` to request (space-separated), if any.
        acr_values: Option<String>,
        /// `max_age` in seconds to request, if any.
        max_age: Option<u64>,
    },
}

/// Pre-rendered answers of one layer.
#[derive(Debug, Clone)]
pub(crate) struct Answers {
    missing: HeaderValue,
    invalid_request: HeaderValue,
    invalid_token: HeaderValue,
    mfa: HeaderValue,
    mfa_reason_phrase: bool,
    app_denied: HeaderValue,
    unavailable_status: StatusCode,
    step_up: Option<String>,
}

/// Facts about the request that shape the answer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    pub(crate) grpc: bool,
    pub(crate) html: bool,
}

impl Facts {
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let grpc = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_grpc_content_type);
        let html = !grpc
            && headers
                .get_all(http::header::ACCEPT)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(accepts_html);
        Self { grpc, html }
    }
}

/// `application/grpc`, `application/grpc+proto`, `application/grpc+json`, ...
pub(crate) fn is_grpc_content_type(value: &str) -> bool {
    let media = value.split(';').next().unwrap_or("").trim();
    media.len() >= 16
        && media[..16].eq_ignore_ascii_case("application/grpc")
        && (media.len() == 16 || media.as_bytes()[16] == b'+')
}

/// Whether an `Accept` value explicitly lists `text/html` (with q > 0).
fn accepts_html(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim();
        media.eq_ignore_ascii_case("text/html")
            && !parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
    })
}

const DESC_INVALID_REQUEST: &str = "The request carries a malformed or duplicated credential";
const DESC_INVALID_TOKEN: &str = "The access token is invalid";
const DESC_MFA: &str = "Multi-factor authentication is required";
const DESC_APP_DENIED: &str = "App-only tokens are not accepted here";

fn quote(value: &str) -> String {
    // error_description and other parameters: %x20-21 / %x23-5B / %x5D-7E.
    value
        .chars()
        .filter(|c| matches!(*c, ' '..='~') && *c != '"' && *c != '\\')
        .collect()
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
    pub(crate) fn new(
        realm: Option<&str>,
        style: &ChallengeStyle,
        unavailable_status: StatusCode,
        step_up: Option<String>,
    ) -> Self {
        let missing = match realm {
            Some(realm) => header(&format!("Bearer realm=\"{}\"", quote(realm))),
            None => HeaderValue::from_static("Bearer"),
        };
        let (mfa, mfa_reason_phrase) = match style {
            ChallengeStyle::PartnerCenter => (
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
                true,
            ),
            ChallengeStyle::Rfc9470 {
                acr_values,
                max_age,
            } => {
                let mut v = format!(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"{DESC_MFA}\""
                );
                if let Some(acr) = acr_values {
                    v.push_str(&format!(", acr_values=\"{}\"", quote(acr)));
                }
                if let Some(age) = max_age {
                    v.push_str(&format!(", max_age=\"{age}\""));
                }
                (header(&v), false)
            }
        };
        Self {
            missing,
            invalid_request: header(&format!(
                "Bearer error=\"invalid_request\", error_description=\"{DESC_INVALID_REQUEST}\""
            )),
            invalid_token: header(&format!(
                "Bearer error=\"invalid_token\", error_description=\"{DESC_INVALID_TOKEN}\""
            )),
            mfa,
            mfa_reason_phrase,
            app_denied: header(&format!(
                "Bearer error=\"insufficient_scope\", error_description=\"{DESC_APP_DENIED}\""
            )),
            unavailable_status,
            step_up,
        }
    }

    /// The answer for a refusal of `kind`.
    ///
    /// `scope` is the rule's pre-rendered scope challenge; `return_to` the
    /// original path and query (for the browser redirect).
    pub(crate) fn render<B>(
        &self,
        kind: ErrorKind,
        app_denied: bool,
        scope: Option<&HeaderValue>,
        facts: Facts,
        return_to: &str,
        retry_after: u64,
    ) -> Response<ResponseBody<B>> {
        let (status, challenge, body): (StatusCode, Option<&HeaderValue>, &'static str) = match kind
        {
            ErrorKind::MissingToken => (
                StatusCode::UNAUTHORIZED,
                Some(&self.missing),
                PROBLEM_MISSING,
            ),
            ErrorKind::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                Some(&self.invalid_request),
                PROBLEM_INVALID_REQUEST,
            ),
            ErrorKind::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                Some(&self.invalid_token),
                PROBLEM_INVALID_TOKEN,
            ),
            ErrorKind::KeysUnavailable
                if self.unavailable_status == StatusCode::SERVICE_UNAVAILABLE =>
            {
                (StatusCode::SERVICE_UNAVAILABLE, None, PROBLEM_UNAVAILABLE)
            }
            ErrorKind::KeysUnavailable => (
                StatusCode::UNAUTHORIZED,
                Some(&self.invalid_token),
                PROBLEM_INVALID_TOKEN,
            ),
            ErrorKind::MfaRequired => (StatusCode::UNAUTHORIZED, Some(&self.mfa), PROBLEM_MFA),
            ErrorKind::InsufficientScope => {
                let challenge = if app_denied {
                    &self.app_denied
                } else {
                    scope.unwrap_or(&self.app_denied)
                };
                (StatusCode::FORBIDDEN, Some(challenge), PROBLEM_SCOPE)
            }
        };

        if facts.grpc {
            return grpc_answer(kind, app_denied, status, challenge);
        }

        if kind == ErrorKind::MfaRequired
            && facts.html
            && let Some(step_up) = &self.step_up
            && let Ok(location) = HeaderValue::from_str(&step_up_location(step_up, return_to))
        {
            let mut response = Response::new(ResponseBody::refusal(Bytes::new()));
            *response.status_mut() = StatusCode::SEE_OTHER;
            response.headers_mut().insert(LOCATION, location);
            return response;
        }

        let mut response =
            Response::new(ResponseBody::refusal(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(challenge) = challenge {
            headers.insert(WWW_AUTHENTICATE, challenge.clone());
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if kind == ErrorKind::MfaRequired && self.mfa_reason_phrase {
            response
                .extensions_mut()
                .insert(hyper::ext::ReasonPhrase::from_static(
                    MFA_REASON_PHRASE.as_bytes(),
                ));
        }
        response
    }
}

/// The `domain` of the `google.rpc.ErrorInfo` in gRPC status details.
pub const GRPC_ERROR_DOMAIN: &str = "tower-mfa";

/// The `type_url` of a packed `google.rpc.ErrorInfo`.
const ERROR_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.ErrorInfo";

/// The `reason` of the `google.rpc.ErrorInfo` sent in a gRPC refusal's
/// `grpc-status-details-bin`: `MISSING_TOKEN`, `INVALID_REQUEST`,
/// `INVALID_TOKEN`, `KEYS_UNAVAILABLE`, `MFA_REQUIRED` or `INSUFFICIENT_SCOPE`
/// (the [`ErrorKind`] in upper case), with domain [`GRPC_ERROR_DOMAIN`].
///
/// A key lookup answered as 401 (see
/// [`Builder::keys_unavailable_status`](crate::Builder::keys_unavailable_status))
/// is `INVALID_TOKEN`, as its HTTP answer is.
#[must_use]
pub const fn grpc_error_reason(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::MissingToken => "MISSING_TOKEN",
        ErrorKind::InvalidRequest => "INVALID_REQUEST",
        ErrorKind::InvalidToken => "INVALID_TOKEN",
        ErrorKind::KeysUnavailable => "KEYS_UNAVAILABLE",
        ErrorKind::MfaRequired => "MFA_REQUIRED",
        ErrorKind::InsufficientScope => "INSUFFICIENT_SCOPE",
    }
}

/// One gRPC refusal, rendered once per process.
#[derive(Debug)]
struct GrpcAnswer {
    status: HeaderValue,
    message: HeaderValue,
    details: HeaderValue,
}

/// The gRPC refusals, indexed by [`grpc_index`].
static GRPC_ANSWERS: std::sync::LazyLock<[GrpcAnswer; 7]> = std::sync::LazyLock::new(|| {
    let one = |code: u8, message: &str, kind: ErrorKind| GrpcAnswer {
        status: HeaderValue::from(u16::from(code)),
        message: header(&percent_encode_message(message)),
        details: header(&status_details(code, message, grpc_error_reason(kind))),
    };
    [
        one(16, "a bearer token is required", ErrorKind::MissingToken),
        one(
            16,
            "the request carries a malformed credential",
            ErrorKind::InvalidRequest,
        ),
        one(16, "the access token is invalid", ErrorKind::InvalidToken),
        one(
            14,
            "the identity provider's keys are unavailable",
            ErrorKind::KeysUnavailable,
        ),
        one(
            16,
            "multi-factor authentication is required",
            ErrorKind::MfaRequired,
        ),
        one(
            7,
            "the token lacks a required scope or role",
            ErrorKind::InsufficientScope,
        ),
        one(
            7,
            "app-only tokens are not accepted here",
            ErrorKind::InsufficientScope,
        ),
    ]
});

fn grpc_index(kind: ErrorKind, app_denied: bool, status: StatusCode) -> usize {
    match kind {
        ErrorKind::MissingToken => 0,
        ErrorKind::InvalidRequest => 1,
        ErrorKind::KeysUnavailable if status == StatusCode::SERVICE_UNAVAILABLE => 3,
        ErrorKind::InvalidToken | ErrorKind::KeysUnavailable => 2,
        ErrorKind::MfaRequired => 4,
        ErrorKind::InsufficientScope if app_denied => 6,
        ErrorKind::InsufficientScope => 5,
    }
}

/// A trailers-only gRPC answer (gRPC over HTTP/2: `:status 200`,
/// `content-type`, `grpc-status`, `grpc-message`, then custom metadata), sent
/// as one HEADERS frame that ends the stream (the body is empty).
fn grpc_answer<B>(
    kind: ErrorKind,
    app_denied: bool,
    status: StatusCode,
    challenge: Option<&HeaderValue>,
) -> Response<ResponseBody<B>> {
    let answer = &GRPC_ANSWERS[grpc_index(kind, app_denied, status)];
    let mut response = Response::new(ResponseBody::refusal(Bytes::new()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", answer.status.clone());
    headers.insert("grpc-message", answer.message.clone());
    headers.insert("grpc-status-details-bin", answer.details.clone());
    if let Some(challenge) = challenge {
        headers.insert(WWW_AUTHENTICATE, challenge.clone());
    }
    response
}

/// `grpc-message` is percent-encoded: every byte outside `%x20-%x7E`, and `%`
/// itself, is sent as `%XX`.
fn percent_encode_message(message: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `grpc-status-details-bin`: unpadded base64 of [`status_details_bytes`].
fn status_details(code: u8, message: &str, reason: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .encode(status_details_bytes(code, message, reason))
}

/// A serialized `google.rpc.Status` `{code, message, details:
/// [Any(google.rpc.ErrorInfo {reason, domain})]}`, encoded by hand (these
/// messages are three fields deep).
pub(crate) fn status_details_bytes(code: u8, message: &str, reason: &str) -> Vec<u8> {
    let mut error_info = Vec::new();
    put_bytes(&mut error_info, 1, reason.as_bytes());
    put_bytes(&mut error_info, 2, GRPC_ERROR_DOMAIN.as_bytes());
    let mut any = Vec::new();
    put_bytes(&mut any, 1, ERROR_INFO_TYPE_URL.as_bytes());
    put_bytes(&mut any, 2, &error_info);
    let mut status = Vec::new();
    put_varint(&mut status, 1 << 3); // field 1 (code), varint
    put_varint(&mut status, u64::from(code));
    put_bytes(&mut status, 2, message.as_bytes());
    put_bytes(&mut status, 3, &any);
    status
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited field (wire type 2).
fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The step-up URL with the return path: `{return_to}` is replaced when the
/// URL holds it, else `return_to=` is appended as a query parameter.
fn step_up_location(step_up: &str, return_to: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    if step_up.contains("{return_to}") {
        step_up.replace("{return_to}", &encoded)
    } else {
        let sep = if step_up.contains('?') { '&' } else { '?' };
        format!("{step_up}{sep}return_to={encoded}")
    }
}

const PROBLEM_MISSING: &str = r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"A bearer token is required."}"#;
const PROBLEM_INVALID_REQUEST: &str = r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"The request carries a malformed or duplicated credential."}"#;
const PROBLEM_INVALID_TOKEN: &str = r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The access token is invalid."}"#;
const PROBLEM_MFA: &str = r#"{"type":"about:blank","title":"Unauthorized - MFA required","status":401,"detail":"Multi-factor authentication is required."}"#;
const PROBLEM_SCOPE: &str = r#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"The access token lacks a required scope or role."}"#;
const PROBLEM_UNAVAILABLE: &str = r#"{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"The identity provider's keys are unavailable; retry later."}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types() {
        assert!(is_grpc_content_type("application/grpc"));
        assert!(is_grpc_content_type("application/grpc+proto"));
        assert!(is_grpc_content_type("Application/GRPC+json; charset=utf-8"));
        assert!(!is_grpc_content_type("application/grpc-web"));
        assert!(!is_grpc_content_type("application/json"));
    }

    #[test]
    fn html_must_be_explicit() {
        assert!(accepts_html("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(!accepts_html("*/*"));
        assert!(!accepts_html("application/json"));
        assert!(!accepts_html("text/html;q=0"));
    }

    #[test]
    fn grpc_message_is_percent_encoded() {
        assert_eq!(percent_encode_message("a b~"), "a b~");
        assert_eq!(
            percent_encode_message("100% caf\u{e9}\n"),
            "100%25 caf%C3%A9%0A"
        );
        for answer in GRPC_ANSWERS.iter() {
            let message = answer.message.to_str().unwrap();
            assert!(!message.contains('%'), "{message}");
        }
    }

    /// The hand-written protobuf, decoded by prost.
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
        #[prost(message, repeated, tag = "3")]
        details: Vec<Any>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Any {
        #[prost(string, tag = "1")]
        type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        value: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct ErrorInfo {
        #[prost(string, tag = "1")]
        reason: String,
        #[prost(string, tag = "2")]
        domain: String,
        #[prost(map = "string, string", tag = "3")]
        metadata: std::collections::HashMap<String, String>,
    }

    #[test]
    fn grpc_status_details_decode() {
        use base64::Engine;
        use prost::Message;
        for (kind, app_denied, status, code, reason) in [
            (
                ErrorKind::MissingToken,
                false,
                StatusCode::UNAUTHORIZED,
                16,
                "MISSING_TOKEN",
            ),
            (
                ErrorKind::InvalidRequest,
                false,
                StatusCode::BAD_REQUEST,
                16,
                "INVALID_REQUEST",
            ),
            (
                ErrorKind::InvalidToken,
                false,
                StatusCode::UNAUTHORIZED,
                16,
                "INVALID_TOKEN",
            ),
            (
                ErrorKind::KeysUnavailable,
                false,
                StatusCode::SERVICE_UNAVAILABLE,
                14,
                "KEYS_UNAVAILABLE",
            ),
            (
                ErrorKind::KeysUnavailable,
                false,
                StatusCode::UNAUTHORIZED,
                16,
                "INVALID_TOKEN",
            ),
            (
                ErrorKind::MfaRequired,
                false,
                StatusCode::UNAUTHORIZED,
                16,
                "MFA_REQUIRED",
            ),
            (
                ErrorKind::InsufficientScope,
                false,
                StatusCode::FORBIDDEN,
                7,
                "INSUFFICIENT_SCOPE",
            ),
            (
                ErrorKind::InsufficientScope,
                true,
                StatusCode::FORBIDDEN,
                7,
                "INSUFFICIENT_SCOPE",
            ),
        ] {
            let response = grpc_answer::<()>(kind, app_denied, status, None);
            let headers = response.headers();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(headers[CONTENT_TYPE], "application/grpc");
            assert_eq!(headers["grpc-status"], code.to_string().as_str());
            let message = headers["grpc-message"].to_str().unwrap();
            let bin = headers["grpc-status-details-bin"].as_bytes();
            let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(bin)
                .unwrap();
            let decoded = RpcStatus::decode(bytes.as_slice()).unwrap();
            assert_eq!(decoded.code, code);
            assert_eq!(decoded.message, message);
            assert_eq!(decoded.details.len(), 1);
            assert_eq!(decoded.details[0].type_url, ERROR_INFO_TYPE_URL);
            let info = ErrorInfo::decode(decoded.details[0].value.as_slice()).unwrap();
            assert_eq!(info.reason, reason);
            assert_eq!(info.domain, GRPC_ERROR_DOMAIN);
            assert!(info.metadata.is_empty());
            if status != StatusCode::UNAUTHORIZED || kind != ErrorKind::KeysUnavailable {
                assert_eq!(grpc_error_reason(kind), reason);
            }
        }
    }

    #[test]
    fn varints() {
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        let mut out = Vec::new();
        put_bytes(&mut out, 3, &[0; 200]);
        assert_eq!(&out[..3], [0x1a, 0xc8, 0x01]);
    }

    #[test]
    fn step_up_carries_the_return_path() {
        assert_eq!(
            step_up_location("https://idp.test/step-up", "/dashboard/customers?x=1"),
            "https://idp.test/step-up?return_to=%2Fdashboard%2Fcustomers%3Fx%3D1"
        );
        assert_eq!(
            step_up_location("/login?a=b&to={return_to}", "/x"),
            "/login?a=b&to=%2Fx"
        );
    }
}
