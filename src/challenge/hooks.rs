//! The two answer hooks: [`RenderRefusal`] renders refusal bodies, and
//! [`IsBrowser`] tells browsers (redirected to the step-up URL) from API
//! clients.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::error::ErrorKind;

/// What a refusal body may depend on: the status and the kind of refusal.
/// Never the token, a claim value or the detailed reason (those go to logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// The kind of refusal.
    pub kind: ErrorKind,
}

/// A rendered refusal body and its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalBody {
    /// The `Content-Type` of `body`.
    pub content_type: HeaderValue,
    /// The body.
    pub body: Bytes,
}

/// Renders the bodies of HTTP refusals (not of gRPC answers, which have
/// none, nor of the browser redirect). The default renders small RFC 9457
/// problem documents (`application/problem+json`). Status and headers stay
/// the layer's. Implemented by closures `Fn(Refusal) -> RefusalBody`.
///
/// ```
/// use tower_mfa::{RefusalBody, Refusal, RequireMfaLayer};
/// use http::HeaderValue;
///
/// let builder = RequireMfaLayer::builder().refusal_renderer(|r: Refusal| RefusalBody {
///     content_type: HeaderValue::from_static("text/plain"),
///     body: format!("refused: {}", r.status.as_u16()).into(),
/// });
/// # let _ = builder;
/// ```
pub trait RenderRefusal: Send + Sync + 'static {
    /// The body of a refusal.
    fn render(&self, refusal: Refusal) -> RefusalBody;
}

impl<F> RenderRefusal for F
where
    F: Fn(Refusal) -> RefusalBody + Send + Sync + 'static,
{
    fn render(&self, refusal: Refusal) -> RefusalBody {
        self(refusal)
    }
}

/// Tells whether a request comes from a browser, which gets the step-up
/// redirect instead of a challenge (when a step-up URL is set). The default:
/// an `Accept` header explicitly lists `text/html` (a missing `Accept` is not
/// a browser). gRPC requests are never browsers, whatever this says.
/// Implemented by closures `Fn(&HeaderMap) -> bool`.
pub trait IsBrowser: Send + Sync + 'static {
    /// Whether the request with these headers comes from a browser.
    fn is_browser(&self, headers: &HeaderMap) -> bool;
}

impl<F> IsBrowser for F
where
    F: Fn(&HeaderMap) -> bool + Send + Sync + 'static,
{
    fn is_browser(&self, headers: &HeaderMap) -> bool {
        self(headers)
    }
}
