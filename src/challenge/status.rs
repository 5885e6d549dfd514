//! The one table from a refusal's [`ErrorKind`] to its HTTP status, read by
//! the layer's answers and by `inspect`'s verdicts alike.

use http::StatusCode;

use crate::error::ErrorKind;

/// How an unknown `kid` is answered while the issuer's key endpoint fails.
///
/// ```
/// use tower_mfa::{KeysUnavailableStatus, RequireMfaLayer};
///
/// let builder = RequireMfaLayer::builder()
///     .keys_unavailable_status(KeysUnavailableStatus::Unauthorized);
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeysUnavailableStatus {
    /// `503 Service Unavailable` with `Retry-After` (the default): the
    /// client should retry the same token later.
    #[default]
    ServiceUnavailable,
    /// `401 Unauthorized` with `Bearer error="invalid_token"`, as for any
    /// token that cannot be verified.
    Unauthorized,
}

/// The HTTP status of a refusal of `kind`.
pub(crate) const fn status(kind: ErrorKind, keys: KeysUnavailableStatus) -> StatusCode {
    match kind {
        ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorKind::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorKind::KeysUnavailable if matches!(keys, KeysUnavailableStatus::ServiceUnavailable) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ErrorKind::MissingToken
        | ErrorKind::InvalidToken
        | ErrorKind::KeysUnavailable
        | ErrorKind::MfaRequired => StatusCode::UNAUTHORIZED,
    }
}

/// What the answer to `kind` says besides its status: the RFC 6750 `error`
/// code, the bare `Bearer` challenge, or the reason phrase.
#[cfg_attr(not(feature = "cli"), allow(dead_code))] // `inspect` reads it
pub(crate) const fn label(kind: ErrorKind, keys: KeysUnavailableStatus) -> &'static str {
    match kind {
        ErrorKind::MissingToken => "Bearer challenge",
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::InvalidToken => "invalid_token",
        ErrorKind::KeysUnavailable if matches!(keys, KeysUnavailableStatus::ServiceUnavailable) => {
            "Service Unavailable"
        }
        ErrorKind::KeysUnavailable => "invalid_token",
        ErrorKind::MfaRequired => super::MFA_REASON_PHRASE,
        ErrorKind::InsufficientScope => "insufficient_scope",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_unavailable_follows_the_setting() {
        let kind = ErrorKind::KeysUnavailable;
        let unauthorized = KeysUnavailableStatus::Unauthorized;
        assert_eq!(
            status(kind, KeysUnavailableStatus::default()),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status(kind, unauthorized), StatusCode::UNAUTHORIZED);
        assert_eq!(label(kind, unauthorized), "invalid_token");
        assert_eq!(
            status(ErrorKind::InsufficientScope, unauthorized),
            StatusCode::FORBIDDEN
        );
    }
}
