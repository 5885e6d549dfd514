//! axum extractors for [`Claims`] and [`Decision`], [`OriginalPathLayer`]
//! for `Router::nest`, and [`AxumLayer`] (the layer answering axum's own
//! body type) (feature `axum`).
//!
//! ```
//! use axum::{Router, routing::get};
//! use tower_mfa::{Claims, Decision};
//!
//! async fn customers(claims: Claims, decision: Decision) -> String {
//!     format!("{} via {:?}", claims.subject().unwrap_or("?"), decision.mfa())
//! }
//!
//! // On `optional` routes, ask for `Option<Claims>`.
//! async fn landing(claims: Option<Claims>) -> &'static str {
//!     if claims.is_some() { "welcome back" } else { "hello" }
//! }
//!
//! let app: Router = Router::new()
//!     .route("/v1/customers", get(customers))
//!     .route("/", get(landing));
//! # let _ = app;
//! ```

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

mod layer;

pub use layer::{Axum, AxumFuture, AxumLayer};

use crate::claims::Claims;
use crate::original_path::OriginalPath;
use crate::pipeline::Decision;

/// The rejection of the [`Claims`] and [`Decision`] extractors: the request
/// carries no verified token (the route is `public` or `optional`, or the
/// layer is missing). Answers 401 with a bare `Bearer` challenge.
#[derive(Debug, Clone, Copy, Default)]
pub struct MissingClaims;

impl std::fmt::Display for MissingClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request carries no verified bearer token")
    }
}

impl std::error::Error for MissingClaims {}

impl IntoResponse for MissingClaims {
    fn into_response(self) -> Response {
        tracing::debug!(target: "tower_mfa::decision", "a handler asked for claims on a request without a verified token");
        (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
                (header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")),
            ],
            r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"A bearer token is required."}"#,
        )
            .into_response()
    }
}

/// `Claims` and `Decision` are both read from the one [`Decision`] extension.
macro_rules! extractor {
    ($ty:ty, $read:expr) => {
        impl<S: Send + Sync> FromRequestParts<S> for $ty {
            type Rejection = MissingClaims;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Self, Self::Rejection> {
                parts
                    .extensions
                    .get::<Decision>()
                    .map($read)
                    .ok_or(MissingClaims)
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $ty {
            type Rejection = Infallible;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Option<Self>, Self::Rejection> {
                Ok(parts.extensions.get::<Decision>().map($read))
            }
        }
    };
}

extractor!(Claims, |d: &Decision| d.claims().clone());
extractor!(Decision, Decision::clone);

/// The verified claims as the handler's own type `T`, deserialized once per
/// request (a second `VerifiedClaims<T>` in the same request, say in a
/// middleware and then the handler, reuses the first).
///
/// Dereferences to `T`. The rejection, [`ClaimsRejection`], answers 401: a
/// bare `Bearer` challenge when no token was verified, and
/// `Bearer error="invalid_token"` when the verified payload does not fit `T`
/// (the token lacks a claim the API needs, or carries it with another JSON
/// type). The response never carries serde's message, which may quote claim
/// values; the log names the type only.
///
/// ```
/// use axum::{Router, routing::get};
/// use serde::Deserialize;
/// use tower_mfa::axum::VerifiedClaims;
///
/// #[derive(Deserialize)]
/// struct PartnerClaims {
///     tid: String,
///     #[serde(default)]
///     roles: Vec<String>,
/// }
///
/// async fn customers(claims: VerifiedClaims<PartnerClaims>) -> String {
///     format!("tenant {} with {} roles", claims.tid, claims.roles.len())
/// }
///
/// let app: Router = Router::new().route("/v1/customers", get(customers));
/// # let _ = app;
/// ```
#[derive(Debug)]
pub struct VerifiedClaims<T>(pub std::sync::Arc<T>);

impl<T> Clone for VerifiedClaims<T> {
    fn clone(&self) -> Self {
        Self(std::sync::Arc::clone(&self.0))
    }
}

impl<T> std::ops::Deref for VerifiedClaims<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// The rejection of [`VerifiedClaims`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// No verified token (a `public` or `optional` route, or no layer):
    /// 401 with a bare `Bearer` challenge, as [`MissingClaims`].
    Missing,
    /// The verified payload does not fit the handler's type: 401 with
    /// `Bearer error="invalid_token"`.
    DoesNotFit,
}

impl std::fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => std::fmt::Display::fmt(&MissingClaims, f),
            Self::DoesNotFit => {
                f.write_str("the token's claims do not fit the handler's claim type")
            }
        }
    }
}

impl std::error::Error for ClaimsRejection {}

/// The challenge of [`ClaimsRejection::DoesNotFit`].
const DOES_NOT_FIT_CHALLENGE: &str =
    r#"Bearer error="invalid_token", error_description="The token lacks claims this API requires""#;

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Missing => MissingClaims.into_response(),
            Self::DoesNotFit => (
                StatusCode::UNAUTHORIZED,
                [
                    (
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(DOES_NOT_FIT_CHALLENGE),
                    ),
                    (header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")),
                ],
                r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The token lacks claims this API requires."}"#,
            )
                .into_response(),
        }
    }
}

impl<S, T> FromRequestParts<S> for VerifiedClaims<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        crate::typed_claims::typed::<T>(&mut parts.extensions)
            .map(VerifiedClaims)
            .map_err(|error| match error {
                crate::typed_claims::TypedError::Missing => ClaimsRejection::Missing,
                crate::typed_claims::TypedError::DoesNotFit => ClaimsRejection::DoesNotFit,
            })
    }
}

/// Stores axum's `OriginalUri` as the crate's [`OriginalPath`], so that
/// [`RequireMfaLayer`](crate::RequireMfaLayer) inside a nested router matches
/// rules on the path the client asked for (and sends it as the browser's
/// `return_to`), not on the path `Router::nest` stripped.
///
/// Add it after (so outside) the MFA layer:
///
/// ```
/// use axum::{Router, routing::get};
/// use tower_mfa::{RequireMfaLayer, Rule};
///
/// # fn main() -> Result<(), tower_mfa::ConfigError> {
/// let mfa = RequireMfaLayer::builder()
///     .issuer("https://login.microsoftonline.com/{tenantid}/v2.0")
///     .audience("api://partner-api")
///     .jwks_url("https://login.microsoftonline.com/common/discovery/v2.0/keys")
///     .rule(Rule::mfa("/api/v1/**"))
///     .build()?;
/// let api = Router::new()
///     .route("/v1/customers", get(|| async { "customers" }))
///     .layer(mfa)
///     .layer(tower_mfa::axum::OriginalPathLayer);
/// let app: Router = Router::new().nest("/api", api);
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// A request that already carries an [`OriginalPath`] keeps it; without
/// `OriginalUri` (outside an axum router) the request's own URI is stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct OriginalPathLayer;

impl<S> Layer<S> for OriginalPathLayer {
    type Service = SetOriginalPath<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SetOriginalPath { inner }
    }
}

/// The service made by [`OriginalPathLayer`].
#[derive(Debug, Clone)]
pub struct SetOriginalPath<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for SetOriginalPath<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if req.extensions().get::<OriginalPath>().is_none() {
            let original = match req.extensions().get::<OriginalUri>() {
                Some(OriginalUri(uri)) => OriginalPath::from_uri(uri),
                None => OriginalPath::from_uri(req.uri()),
            };
            req.extensions_mut().insert(original);
        }
        self.inner.call(req)
    }
}
