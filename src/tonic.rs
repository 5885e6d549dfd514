//! tonic accessors for [`Claims`] and [`Decision`] (feature `tonic`).
//!
//! [`RequireMfaLayer`](crate::RequireMfaLayer) wraps a tonic server like any
//! tower service: its refusals are trailers-only gRPC answers (see
//! [`grpc_error_reason`]), and a request that passes carries the
//! [`Decision`], holding the verified [`Claims`], in its extensions, which tonic
//! hands to the method as `tonic::Request::extensions`.
//! [`RequestClaimsExt`] reads them.
//!
//! ```no_run
//! use tower_mfa::{RequireMfaLayer, Rule};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mfa = RequireMfaLayer::builder()
//!     .issuer("https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/")
//!     .audience("https://api.partnercenter.microsoft.com")
//!     .jwks_url("https://login.microsoftonline.com/common/discovery/keys")
//!     .rule(Rule::public("/grpc.health.v1.Health/*"))
//!     // a whole service; `/partner.v1.Customers/ListCustomers` is one method
//!     .rule(Rule::mfa("/partner.v1.Customers/*"))
//!     .build()?;
//!
//! let (_reporter, health) = tonic_health::server::health_reporter();
//! tonic::transport::Server::builder()
//!     .layer(mfa)
//!     .add_service(health)
//!     // .add_service(CustomersServer::new(MyCustomers))
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! In a method:
//!
//! ```
//! use tonic::{Request, Response, Status};
//! use tower_mfa::tonic::RequestClaimsExt;
//!
//! async fn list_customers(request: Request<()>) -> Result<Response<String>, Status> {
//!     // `Status::unauthenticated` when the request carries no verified token
//!     // (a `public` or `optional` method, or a server without the layer).
//!     let claims = request.require_claims()?;
//!     let mfa = request.decision().and_then(|d| d.mfa());
//!     Ok(Response::new(format!(
//!         "{} (mfa: {mfa:?})",
//!         claims.subject().unwrap_or("?")
//!     )))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let status = list_customers(Request::new(())).await.unwrap_err();
//! assert_eq!(status.code(), tonic::Code::Unauthenticated);
//! # }
//! ```

use ::tonic::metadata::{MetadataMap, MetadataValue};
use ::tonic::{Code, Request, Status};

use crate::challenge::{grpc_error_reason, status_details_bytes};
use crate::claims::Claims;
use crate::error::ErrorKind;
use crate::pipeline::Decision;

/// The message of [`RequestClaimsExt::require_claims`]'s status, as the
/// layer's own answer to a request without a token.
const MISSING_MESSAGE: &str = "a bearer token is required";

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for ::tonic::Request<T> {}
}

/// Reads what [`RequireMfaLayer`](crate::RequireMfaLayer) attached to a
/// `tonic::Request`.
///
/// Implemented for every `tonic::Request<T>` (unary and streaming).
pub trait RequestClaimsExt: sealed::Sealed {
    /// The verified claims; `None` when no token was verified (a `public`
    /// or `optional` method called without one, or no layer in front).
    fn claims(&self) -> Option<&Claims>;

    /// What the layer decided (caller class, MFA proof, rule); present
    /// exactly when [`claims`](Self::claims) is.
    fn decision(&self) -> Option<&Decision>;

    /// The verified claims, or the status the layer itself answers a request
    /// without a token with: `UNAUTHENTICATED`, `www-authenticate: Bearer`
    /// and an `ErrorInfo` with reason `MISSING_TOKEN`.
    ///
    /// # Errors
    /// When the request carries no verified token.
    fn require_claims(&self) -> Result<&Claims, Status>;

    /// The verified claims as the method's own type `C`, deserialized once
    /// per request (later calls with the same type reuse the value kept in
    /// the request's extensions).
    ///
    /// # Errors
    /// `UNAUTHENTICATED` as [`require_claims`](Self::require_claims) when no
    /// token was verified; `UNAUTHENTICATED` with
    /// `www-authenticate: Bearer error="invalid_token"` and `ErrorInfo`
    /// reason `INVALID_TOKEN` when the verified payload does not fit `C`
    /// (serde's message, which may quote claim values, is never sent).
    fn verified_claims<C>(&mut self) -> Result<std::sync::Arc<C>, Status>
    where
        C: serde::de::DeserializeOwned + Send + Sync + 'static;
}

impl<T> RequestClaimsExt for Request<T> {
    fn claims(&self) -> Option<&Claims> {
        self.extensions().get::<Decision>().map(Decision::claims)
    }

    fn decision(&self) -> Option<&Decision> {
        self.extensions().get::<Decision>()
    }

    fn require_claims(&self) -> Result<&Claims, Status> {
        self.claims().ok_or_else(missing_claims)
    }

    fn verified_claims<C>(&mut self) -> Result<std::sync::Arc<C>, Status>
    where
        C: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        crate::typed_claims::typed::<C>(self.extensions_mut()).map_err(|error| match error {
            crate::typed_claims::TypedError::Missing => missing_claims(),
            crate::typed_claims::TypedError::DoesNotFit => claims_do_not_fit(),
        })
    }
}

/// The message of [`RequestClaimsExt::verified_claims`]'s status when the
/// payload does not fit the method's type.
const DOES_NOT_FIT_MESSAGE: &str = "the token lacks claims this API requires";

fn claims_do_not_fit() -> Status {
    let mut metadata = MetadataMap::new();
    metadata.insert(
        "www-authenticate",
        MetadataValue::from_static(
            r#"Bearer error="invalid_token", error_description="The token lacks claims this API requires""#,
        ),
    );
    Status::with_details_and_metadata(
        Code::Unauthenticated,
        DOES_NOT_FIT_MESSAGE,
        status_details_bytes(
            16,
            DOES_NOT_FIT_MESSAGE,
            grpc_error_reason(ErrorKind::InvalidToken),
            None,
        )
        .into(),
        metadata,
    )
}

fn missing_claims() -> Status {
    tracing::debug!(target: "tower_mfa::decision", "a gRPC method asked for claims on a request without a verified token");
    let mut metadata = MetadataMap::new();
    metadata.insert("www-authenticate", MetadataValue::from_static("Bearer"));
    Status::with_details_and_metadata(
        Code::Unauthenticated,
        MISSING_MESSAGE,
        status_details_bytes(
            16,
            MISSING_MESSAGE,
            grpc_error_reason(ErrorKind::MissingToken),
            None,
        )
        .into(),
        metadata,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Partner {
        tid: String,
    }

    fn with_claims(payload: serde_json::Value) -> Request<()> {
        let mut request = Request::new(());
        let serde_json::Value::Object(map) = payload else {
            unreachable!("an object")
        };
        request
            .extensions_mut()
            .insert(Decision::for_claims(Claims::from_payload(map).unwrap()));
        request
    }

    #[test]
    fn verified_claims_reads_the_method_type_once() {
        let mut request = with_claims(serde_json::json!({"tid": "t1", "sub": "s"}));
        let first = request.verified_claims::<Partner>().unwrap();
        let second = request.verified_claims::<Partner>().unwrap();
        assert_eq!(first.tid, "t1");
        assert!(std::sync::Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn verified_claims_that_do_not_fit_are_invalid_token() {
        let mut request = with_claims(serde_json::json!({"sub": "s"}));
        let status = request.verified_claims::<Partner>().unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), DOES_NOT_FIT_MESSAGE);
        assert!(!status.message().contains("missing field"));
        assert_eq!(
            status.metadata().get("www-authenticate").unwrap(),
            r#"Bearer error="invalid_token", error_description="The token lacks claims this API requires""#
        );
        let status = Request::new(()).verified_claims::<Partner>().unwrap_err();
        assert_eq!(status.message(), MISSING_MESSAGE);
    }

    #[test]
    fn without_the_layer_nothing_is_attached() {
        let request = Request::new(());
        assert!(request.claims().is_none());
        assert!(request.decision().is_none());
        let status = request.require_claims().unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), MISSING_MESSAGE);
        assert_eq!(status.metadata().get("www-authenticate").unwrap(), "Bearer");
        assert!(!status.details().is_empty());
    }
}
