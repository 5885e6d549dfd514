//! Trailers-only gRPC answers: `grpc-status`, a percent-encoded
//! `grpc-message` and a `grpc-status-details-bin` holding a
//! `google.rpc.Status` with one `google.rpc.ErrorInfo`, rendered once per
//! process.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

use super::header;
use crate::body::ResponseBody;
use crate::error::ErrorKind;

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
pub(super) fn grpc_answer<B>(
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
}
