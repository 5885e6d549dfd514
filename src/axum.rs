//! axum extractors for [`Claims`] and [`Decision`] (feature `axum`).
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

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::claims::Claims;
use crate::guard::Decision;

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

/// `Claims` and `Decision` are read from the request extensions the same way.
macro_rules! extractor {
    ($ty:ty) => {
        impl<S: Send + Sync> FromRequestParts<S> for $ty {
            type Rejection = MissingClaims;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Self, Self::Rejection> {
                parts.extensions.get::<Self>().cloned().ok_or(MissingClaims)
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $ty {
            type Rejection = Infallible;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Option<Self>, Self::Rejection> {
                Ok(parts.extensions.get::<Self>().cloned())
            }
        }
    };
}

extractor!(Claims);
extractor!(Decision);
