//! Why a request was refused: a small, stable [`ErrorKind`] for the answer and a
//! detailed [`Reason`] for logs.
//!
//! The kind decides the HTTP (or gRPC) answer. The reason is what an operator
//! reads in the `tower_mfa::decision` trace event; it never reaches the client.

use std::fmt;

/// The class of a refusal. Each kind maps to exactly one answer (see
/// the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No bearer token was sent (or another scheme was used): 401 with a bare
    /// `Bearer` challenge.
    MissingToken,
    /// The request itself is malformed (two `Authorization` headers, a token
    /// sent two ways, a broken `Bearer` header): 400 `invalid_request`.
    InvalidRequest,
    /// The token failed verification: 401 `invalid_token`.
    InvalidToken,
    /// The token names a key that could not be found while the issuer's key
    /// endpoint is failing: 503 with `Retry-After` (or 401 when configured).
    KeysUnavailable,
    /// The token is valid but carries no proof of multi-factor authentication.
    MfaRequired,
    /// The token is valid but lacks a scope or role the route requires: 403
    /// `insufficient_scope`.
    InsufficientScope,
}

impl ErrorKind {
    /// A stable, lower-case name for logs and metrics.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::KeysUnavailable => "keys_unavailable",
            Self::MfaRequired => "mfa_required",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! reasons {
    ($( $(#[$doc:meta])* $name:ident => $kind:ident, $code:literal, $text:literal; )*) => {
        /// The detailed reason behind a refusal. Logged, never sent to the client.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $( $(#[$doc])* $name, )*
        }

        impl Reason {
            /// The [`ErrorKind`] this reason is answered with.
            #[must_use]
            pub const fn kind(self) -> ErrorKind {
                match self { $( Self::$name => ErrorKind::$kind, )* }
            }

            /// A stable snake-case code for logs and metrics.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$name => $code, )* }
            }

            const fn sentence(self) -> &'static str {
                match self { $( Self::$name => $text, )* }
            }
        }
    };
}

reasons! {
    /// No `Authorization` header (nor configured cookie) was sent.
    NoCredentials => MissingToken, "no_credentials", "the request carries no bearer token";
    /// The `Authorization` header uses another scheme (`Basic`, `DPoP`, ...).
    OtherScheme => MissingToken, "other_scheme", "the authorization header uses a scheme other than Bearer";
    /// More than one `Authorization` header.
    DuplicateAuthorization => InvalidRequest, "duplicate_authorization", "the request carries more than one authorization header";
    /// A token was sent both in the header and in a cookie.
    TokenSentTwice => InvalidRequest, "token_sent_twice", "the request carries a token in more than one place";
    /// The `Bearer` header is not `Bearer 1*SP b64token`.
    MalformedBearer => InvalidRequest, "malformed_bearer", "the bearer authorization header is malformed";
    /// The token is longer than the configured cap.
    TokenTooLarge => InvalidToken, "token_too_large", "the token is larger than the configured limit";
    /// The token is not three base64url segments.
    MalformedToken => InvalidToken, "malformed_token", "the token is not a compact JWS of three base64url segments";
    /// The header or payload is not a JSON object (or has invalid JSON).
    MalformedJson => InvalidToken, "malformed_json", "the token header or payload is not a valid JSON object";
    /// A JSON object in the header or payload repeats a member name.
    DuplicateMember => InvalidToken, "duplicate_member", "the token repeats a JSON member name";
    /// `alg` is missing, not a string, `none`, HMAC or otherwise not allowed.
    UnsupportedAlgorithm => InvalidToken, "unsupported_algorithm", "the token's algorithm is not allowed";
    /// The header carries `crit`, `zip`, `cty`, `b64` or JWE parameters.
    UnsupportedHeader => InvalidToken, "unsupported_header", "the token header carries a parameter that is not supported";
    /// `typ` is not one of the accepted values.
    WrongType => InvalidToken, "wrong_type", "the token type is not accepted";
    /// The header has no `kid` (or a `kid` that is not a string).
    MissingKeyId => InvalidToken, "missing_kid", "the token header names no key";
    /// No key with this `kid` is known, even after a refresh.
    UnknownKeyId => InvalidToken, "unknown_kid", "the token names a key the issuer does not publish";
    /// The key's algorithm differs from the header `alg`.
    AlgorithmMismatch => InvalidToken, "algorithm_mismatch", "the token's algorithm does not match its key";
    /// The signature does not verify.
    BadSignature => InvalidToken, "bad_signature", "the token signature does not verify";
    /// A registered claim has the wrong JSON type.
    ClaimType => InvalidToken, "claim_type", "a claim in the token has the wrong type";
    /// `iss` is missing or differs from the configured issuer.
    WrongIssuer => InvalidToken, "wrong_issuer", "the token was issued by another issuer";
    /// The key's own `issuer` member (Entra) names another issuer or tenant
    /// than the token's.
    KeyIssuerMismatch => InvalidToken, "key_issuer_mismatch", "the token's key belongs to another issuer";
    /// `tid` is missing, not a GUID, does not match the issuer, or the tenant is not allowed.
    WrongTenant => InvalidToken, "wrong_tenant", "the token's tenant is not accepted";
    /// `aud` is missing or names none of the configured audiences.
    WrongAudience => InvalidToken, "wrong_audience", "the token is meant for another audience";
    /// `exp` is missing.
    MissingExpiry => InvalidToken, "missing_exp", "the token has no expiry";
    /// `exp` is in the past (beyond the leeway).
    Expired => InvalidToken, "expired", "the token has expired";
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid => InvalidToken, "not_yet_valid", "the token is not valid yet";
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture => InvalidToken, "issued_in_future", "the token was issued in the future";
    /// `auth_time` is in the future (beyond the leeway): it would satisfy any
    /// `max_age` forever.
    AuthTimeInFuture => InvalidToken, "auth_time_in_future", "the token's authentication time is in the future";
    /// `exp` lies further ahead than the maximum lifetime.
    LifetimeTooLong => InvalidToken, "lifetime_too_long", "the token lives longer than the maximum lifetime";
    /// An unknown `kid` could not be looked up because the key endpoint fails.
    KeysUnreachable => KeysUnavailable, "keys_unreachable", "the issuer's keys could not be fetched";
    /// The caller is a user whose token carries no accepted MFA proof.
    NoMfaProof => MfaRequired, "no_mfa_proof", "the token carries no proof of multi-factor authentication";
    /// The token is an Entra v2.0 access token, which never carries `amr`.
    EntraV2NoAmr => MfaRequired, "entra_v2_no_amr", "the token is an Entra v2.0 access token, which carries no amr claim";
    /// The token lacks an Entra authentication context (`acrs`) the route's
    /// requirement demands.
    MissingAuthContext => MfaRequired, "missing_auth_context", "the token lacks an authentication context the route requires";
    /// MFA was proven, but longer ago than `max_age` allows.
    MfaTooOld => MfaRequired, "mfa_too_old", "the last authentication is older than the allowed maximum age";
    /// The route requires MFA from app-only callers too, and apps cannot prove it.
    AppMustProveMfa => MfaRequired, "app_must_prove_mfa", "app-only tokens cannot prove multi-factor authentication";
    /// App-only callers are denied on this route.
    AppOnlyDenied => InsufficientScope, "app_only_denied", "app-only tokens are not accepted on this route";
    /// A scope the rule requires is missing.
    MissingScope => InsufficientScope, "missing_scope", "the token lacks a scope the route requires";
    /// The rule requires a DPoP-bound token and the request sent a bearer
    /// token (report-only rules let it through).
    DpopRequired => MissingToken, "dpop_required", "the route requires a DPoP-bound token";
    /// A DPoP-bound token (`cnf.jkt`) was sent with the `Bearer` scheme.
    DpopBoundAsBearer => InvalidToken, "dpop_bound_as_bearer", "a DPoP-bound token was sent as a bearer token";
    /// A token sent with the `DPoP` scheme carries no `cnf.jkt`.
    DpopTokenNotBound => InvalidToken, "dpop_token_not_bound", "the token sent with the DPoP scheme is not bound to a key";
    /// No `DPoP` proof header, or more than one.
    DpopProofCount => InvalidToken, "dpop_proof_count", "the request does not carry exactly one DPoP proof";
    /// The DPoP proof is not a compact JWS with a strict JSON header and
    /// payload, or is larger than the limit.
    DpopMalformedProof => InvalidToken, "dpop_malformed_proof", "the DPoP proof is malformed";
    /// The proof's `typ` is not `dpop+jwt`, or it carries a rejected header parameter.
    DpopWrongType => InvalidToken, "dpop_wrong_type", "the DPoP proof header is not accepted";
    /// The proof's `alg` is not an allowed asymmetric algorithm.
    DpopUnsupportedAlgorithm => InvalidToken, "dpop_unsupported_algorithm", "the DPoP proof algorithm is not allowed";
    /// The proof's `jwk` is missing, private, or not a usable public key for its `alg`.
    DpopBadKey => InvalidToken, "dpop_bad_key", "the DPoP proof key is not an accepted public key";
    /// The proof's signature does not verify with its `jwk`.
    DpopBadSignature => InvalidToken, "dpop_bad_signature", "the DPoP proof signature does not verify";
    /// A proof claim (`jti`, `htm`, `htu`, `iat`, `ath`, `nonce`) is missing or has the wrong type.
    DpopClaim => InvalidToken, "dpop_claim", "a DPoP proof claim is missing or has the wrong type";
    /// `htm` differs from the request method.
    DpopMethodMismatch => InvalidToken, "dpop_method_mismatch", "the DPoP proof is for another method";
    /// `htu` differs from the request URI (or carries a query or fragment).
    DpopUriMismatch => InvalidToken, "dpop_uri_mismatch", "the DPoP proof is for another URI";
    /// `iat` lies outside the accepted window.
    DpopStale => InvalidToken, "dpop_stale", "the DPoP proof was issued outside the accepted window";
    /// `ath` is not the hash of the access token.
    DpopTokenHashMismatch => InvalidToken, "dpop_ath_mismatch", "the DPoP proof is for another access token";
    /// The proof key's thumbprint differs from the token's `cnf.jkt`.
    DpopKeyMismatch => InvalidToken, "dpop_key_mismatch", "the DPoP proof key is not the key the token is bound to";
    /// The proof's `jti` was seen before.
    DpopReplayed => InvalidToken, "dpop_replayed", "the DPoP proof was used before";
    /// The replay cache is full of unexpired proofs: new proofs are refused.
    DpopReplayCacheFull => InvalidToken, "dpop_replay_cache_full", "the DPoP replay cache is full";
    /// The proof carries no server nonce, or a stale or forged one.
    DpopNonce => InvalidToken, "dpop_nonce", "the DPoP proof lacks a current server nonce";
    /// The rule requires a certificate-bound token (`cnf.x5t#S256`) and the
    /// token is not bound (report-only rules let it through).
    MtlsRequired => InvalidToken, "mtls_required", "the route requires a certificate-bound token";
    /// A certificate-bound token came on a request without a client certificate.
    MtlsCertificateMissing => InvalidToken, "mtls_certificate_missing", "the certificate-bound token came without a client certificate";
    /// The client certificate's thumbprint differs from the token's `cnf.x5t#S256`.
    MtlsCertificateMismatch => InvalidToken, "mtls_certificate_mismatch", "the client certificate is not the one the token is bound to";
    /// A role the rule requires is missing (answered without a `scope`
    /// parameter: a client cannot obtain a role by asking for a scope).
    MissingRole => InsufficientScope, "missing_role", "the token lacks a role the route requires";
}

impl Reason {
    /// Whether the refusal is about the DPoP proof (answered with
    /// `error="invalid_dpop_proof"` or `error="use_dpop_nonce"` in the
    /// `DPoP` challenge).
    #[must_use]
    pub const fn is_dpop_proof(self) -> bool {
        matches!(
            self,
            Self::DpopProofCount
                | Self::DpopMalformedProof
                | Self::DpopWrongType
                | Self::DpopUnsupportedAlgorithm
                | Self::DpopBadKey
                | Self::DpopBadSignature
                | Self::DpopClaim
                | Self::DpopMethodMismatch
                | Self::DpopUriMismatch
                | Self::DpopStale
                | Self::DpopTokenHashMismatch
                | Self::DpopKeyMismatch
                | Self::DpopReplayed
                | Self::DpopReplayCacheFull
                | Self::DpopNonce
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sentence())
    }
}
