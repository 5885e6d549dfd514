//! [`AxumLayer`]: [`RequireMfaLayer`] answering with axum's own body type.
//!
//! `Router::layer` turns every response into `Response<axum::body::Body>`.
//! A body of another type (the layer's [`ResponseBody`]) is boxed there, on
//! every request; a body that already is axum's passes through as it is.
//! This layer hands the inner service's body back unchanged on the allowed
//! path and wraps only refusal bodies (no allocation per allowed request).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::layer::{RequireMfa, RequireMfaLayer, ResponseFuture};

/// [`RequireMfaLayer`] for an axum `Router`: the same checks and answers,
/// with responses in `axum::body::Body`, so the allowed path is not boxed
/// again by `Router::layer`. Made by [`RequireMfaLayer::into_axum`].
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
///     .rule(Rule::mfa("/v1/**"))
///     .build()?;
/// let app: Router = Router::new()
///     .route("/v1/customers", get(|| async { "customers" }))
///     .layer(mfa.into_axum());
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AxumLayer(RequireMfaLayer);

impl RequireMfaLayer {
    /// This layer for an axum `Router` (see [`AxumLayer`]): responses in
    /// `axum::body::Body`, one heap allocation less per allowed request.
    #[must_use]
    pub fn into_axum(self) -> AxumLayer {
        AxumLayer(self)
    }
}

impl<S> Layer<S> for AxumLayer {
    type Service = Axum<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Axum(self.0.layer(inner))
    }
}

/// The service made by [`AxumLayer`]: [`RequireMfa`] with axum bodies.
#[derive(Clone)]
pub struct Axum<S>(RequireMfa<S>);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Axum<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = AxumFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        AxumFuture {
            inner: self.0.call(req),
        }
    }
}

pin_project! {
    /// The response future of [`Axum`]: [`ResponseFuture`] with the body
    /// turned into `axum::body::Body` (the inner body as it is when it
    /// already is one).
    pub struct AxumFuture<F, B, E> {
        #[pin]
        inner: ResponseFuture<F, B, E>,
    }
}

impl<F, B, E> Future for AxumFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(|result| {
            result.map(|response| {
                response.map(|body| match body.into_inner() {
                    Ok(body) => Body::new(body),
                    Err(Some(data)) => Body::from(data),
                    Err(None) => Body::empty(),
                })
            })
        })
    }
}

impl std::fmt::Debug for AxumLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxumLayer").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for Axum<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Axum").finish_non_exhaustive()
    }
}

impl<F, B, E> std::fmt::Debug for AxumFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxumFuture").finish_non_exhaustive()
    }
}
