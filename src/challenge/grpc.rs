//! Trailers-only gRPC answers: `grpc-status`, a percent-encoded
//! `grpc-message` and a `grpc-status-details-bin` holding a
//! `google.rpc.Status` with one `google.rpc.ErrorInfo` (and, on
//! `UNAVAILABLE`, a `google.rpc.RetryInfo` built per request), rendered once
//! per process.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

use super::header;
use crate::body::ResponseBody;
use crate::error::{ErrorKind, Reason};

/// The `domain` of the `google.rpc.ErrorInfo` in gRPC status details.
pub const GRPC_ERROR_DOMAIN: &str = "tower-mfa";

/// The `type_url` of a packed `google.rpc.ErrorInfo`.
const ERROR_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.ErrorInfo";

/// The `type_url` of a packed `google.rpc.RetryInfo`.
const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// The `reason` of the `google.rpc.ErrorInfo` of a refusal for a missing
/// role (`PERMISSION_DENIED`, like a missing scope).
pub const GRPC_MISSING_ROLE_REASON: &str = "MISSING_ROLE";

/// The `reason` of the `google.rpc.ErrorInfo` sent in a gRPC refusal's
/// `grpc-status-details-bin`: `MISSING_TOKEN`, `INVALID_REQUEST`,
/// `INVALID_TOKEN`, `KEYS_UNAVAILABLE`, `MFA_REQUIRED` or `INSUFFICIENT_SCOPE`
/// (the [`ErrorKind`] in upper case), with domain [`GRPC_ERROR_DOMAIN`].
///
/// A key lookup answered as 401 (see
/// [`Builder::keys_unavailable_status`](crate::Builder::keys_unavailable_status))
/// is `INVALID_TOKEN`, as its HTTP answer is. A missing role is answered
/// with [`GRPC_MISSING_ROLE_REASON`] rather than `INSUFFICIENT_SCOPE`, and
/// `UNAVAILABLE` also carries a `google.rpc.RetryInfo`.
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
static GRPC_ANSWERS: std::sync::LazyLock<[GrpcAnswer; 8]> = std::sync::LazyLock::new(|| {
    let with_reason = |code: u8, message: &str, reason: &str| GrpcAnswer {
        status: HeaderValue::from(u16::from(code)),
        message: header(&percent_encode_message(message)),
        details: header(&status_details(code, message, reason, None)),
    };
    let one = |code: u8, message: &str, kind: ErrorKind| {
        with_reason(code, message, grpc_error_reason(kind))
    };
    [
        one(16, "a bearer token is required", ErrorKind::MissingToken),
        one(
            16,
            "the request carries a malformed credential",
            ErrorKind::InvalidRequest,
        ),
        one(16, "the access token is invalid", ErrorKind::InvalidToken),
        one(14, UNAVAILABLE_MESSAGE, ErrorKind::KeysUnavailable),
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
        with_reason(
            7,
            "the token lacks a required role",
            GRPC_MISSING_ROLE_REASON,
        ),
    ]
});

const UNAVAILABLE_MESSAGE: &str = "the identity provider's keys are unavailable";

/// The index of the `UNAVAILABLE` answer, whose details are built per
/// request (they carry the retry delay).
const UNAVAILABLE_INDEX: usize = 3;

fn grpc_index(reason: Reason, status: StatusCode) -> usize {
    let kind = reason.kind();
    let app_denied = reason == Reason::AppOnlyDenied;
    match kind {
        ErrorKind::InsufficientScope if reason == Reason::MissingRole => 7,
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
///
/// `UNAVAILABLE` carries a `google.rpc.RetryInfo` of `retry_after` seconds
/// (what HTTP sends as `Retry-After`).
pub(super) fn grpc_answer<B>(
    reason: Reason,
    status: StatusCode,
    challenge: Option<&HeaderValue>,
    retry_after: u64,
) -> Response<ResponseBody<B>> {
    let index = grpc_index(reason, status);
    let answer = &GRPC_ANSWERS[index];
    let mut response = Response::new(ResponseBody::refusal(Bytes::new()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", answer.status.clone());
    headers.insert("grpc-message", answer.message.clone());
    let details = if index == UNAVAILABLE_INDEX {
        header(&status_details(
            14,
            UNAVAILABLE_MESSAGE,
            grpc_error_reason(ErrorKind::KeysUnavailable),
            Some(retry_after),
        ))
    } else {
        answer.details.clone()
    };
    headers.insert("grpc-status-details-bin", details);
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
fn status_details(code: u8, message: &str, reason: &str, retry_after: Option<u64>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(status_details_bytes(
        code,
        message,
        reason,
        retry_after,
    ))
}

/// A serialized `google.rpc.Status` `{code, message, details:
/// [Any(google.rpc.ErrorInfo {reason, domain})]}`, encoded by hand (these
/// messages are three fields deep), with a second detail
/// `Any(google.rpc.RetryInfo {retry_delay: {seconds}})` when `retry_after`
/// is given.
pub(crate) fn status_details_bytes(
    code: u8,
    message: &str,
    reason: &str,
    retry_after: Option<u64>,
) -> Vec<u8> {
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
    if let Some(seconds) = retry_after {
        let mut duration = Vec::new();
        put_varint(&mut duration, 1 << 3); // field 1 (seconds), varint
        put_varint(&mut duration, seconds);
        let mut retry_info = Vec::new();
        put_bytes(&mut retry_info, 1, &duration);
        let mut any = Vec::new();
        put_bytes(&mut any, 1, RETRY_INFO_TYPE_URL.as_bytes());
        put_bytes(&mut any, 2, &retry_info);
        put_bytes(&mut status, 3, &any);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[derive(Clone, PartialEq, prost::Message)]
    struct RetryInfo {
        #[prost(message, optional, tag = "1")]
        retry_delay: Option<ProtoDuration>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct ProtoDuration {
        #[prost(int64, tag = "1")]
        seconds: i64,
        #[prost(int32, tag = "2")]
        nanos: i32,
    }

    #[test]
    fn grpc_status_details_decode() {
        use base64::Engine;
        use prost::Message;
        for (reason, status, code, info_reason) in [
            (
                Reason::NoCredentials,
                StatusCode::UNAUTHORIZED,
                16,
                "MISSING_TOKEN",
            ),
            (
                Reason::MalformedBearer,
                StatusCode::BAD_REQUEST,
                16,
                "INVALID_REQUEST",
            ),
            (
                Reason::BadSignature,
                StatusCode::UNAUTHORIZED,
                16,
                "INVALID_TOKEN",
            ),
            (
                Reason::KeysUnreachable,
                StatusCode::SERVICE_UNAVAILABLE,
                14,
                "KEYS_UNAVAILABLE",
            ),
            (
                Reason::KeysUnreachable,
                StatusCode::UNAUTHORIZED,
                16,
                "INVALID_TOKEN",
            ),
            (
                Reason::NoMfaProof,
                StatusCode::UNAUTHORIZED,
                16,
                "MFA_REQUIRED",
            ),
            (
                Reason::MissingScope,
                StatusCode::FORBIDDEN,
                7,
                "INSUFFICIENT_SCOPE",
            ),
            (
                Reason::AppOnlyDenied,
                StatusCode::FORBIDDEN,
                7,
                "INSUFFICIENT_SCOPE",
            ),
            (
                Reason::MissingRole,
                StatusCode::FORBIDDEN,
                7,
                "MISSING_ROLE",
            ),
        ] {
            for retry_after in [7, 42] {
                let response = grpc_answer::<()>(reason, status, None, retry_after);
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
                assert_eq!(decoded.details[0].type_url, ERROR_INFO_TYPE_URL);
                let info = ErrorInfo::decode(decoded.details[0].value.as_slice()).unwrap();
                assert_eq!(info.reason, info_reason);
                assert_eq!(info.domain, GRPC_ERROR_DOMAIN);
                assert!(info.metadata.is_empty());
                if code == 14 {
                    // UNAVAILABLE: the delay HTTP sends as Retry-After, per request.
                    assert_eq!(decoded.details.len(), 2);
                    assert_eq!(decoded.details[1].type_url, RETRY_INFO_TYPE_URL);
                    let retry = RetryInfo::decode(decoded.details[1].value.as_slice()).unwrap();
                    let delay = retry.retry_delay.unwrap();
                    assert_eq!(delay.seconds, retry_after as i64);
                    assert_eq!(delay.nanos, 0);
                } else {
                    assert_eq!(decoded.details.len(), 1);
                }
            }
        }
        assert_eq!(grpc_error_reason(ErrorKind::MfaRequired), "MFA_REQUIRED");
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
}
