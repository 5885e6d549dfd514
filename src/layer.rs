//! The tower middleware: [`RequireMfaLayer`], the [`RequireMfa`] service and
//! its [`ResponseFuture`].
//!
//! Readiness: `poll_ready` is always ready. Once a request is verified, a
//! clone of the inner service is driven to readiness and called
//! ([`tower::util::Oneshot`]), so the inner service's capacity is never held
//! while keys are being fetched, and no clone is ever called unready.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use http::{HeaderMap, Request, Response};
use pin_project_lite::pin_project;
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::challenge::Facts;
use crate::claims::Claims;
use crate::config::Builder;
use crate::error::Reason;
use crate::guard::{Begin, Guard};
use crate::policy::route::Rule;

/// A tower layer that verifies bearer tokens and requires MFA on chosen routes.
///
/// Build it with [`RequireMfaLayer::builder`]. Cloning is cheap (an `Arc`);
/// all clones share one key cache.
#[derive(Clone)]
pub struct RequireMfaLayer {
    guard: Arc<Guard>,
}

impl RequireMfaLayer {
    /// Starts a configuration.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_guard(guard: Guard) -> Self {
        Self {
            guard: Arc::new(guard),
        }
    }

    /// Fetches the issuer's keys now, instead of on the first request.
    /// Does nothing for static keys.
    pub async fn warm_up(&self) {
        self.guard.keys.refresh_now().await;
    }

    /// How many key set fetches this layer has started (discovery documents
    /// not counted).
    #[must_use]
    pub fn key_fetches(&self) -> u64 {
        self.guard.keys.fetch_count()
    }

    /// Entries and approximate bytes held by the verified-token cache
    /// (`None` when the cache is off).
    #[must_use]
    pub fn token_cache_stats(&self) -> Option<(u64, u64)> {
        self.guard
            .cache
            .as_ref()
            .map(crate::cache::TokenCache::stats)
    }

    /// The number of usable keys currently cached.
    #[must_use]
    pub fn cached_keys(&self) -> usize {
        self.guard.keys.snapshot().keys.len()
    }
}

impl std::fmt::Debug for RequireMfaLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireMfaLayer")
            .field("rules", &self.guard.rules)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RequireMfaLayer {
    type Service = RequireMfa<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireMfa {
            inner,
            guard: Arc::clone(&self.guard),
        }
    }
}

/// The middleware made by [`RequireMfaLayer`].
#[derive(Clone)]
pub struct RequireMfa<S> {
    inner: S,
    guard: Arc<Guard>,
}

impl<S> std::fmt::Debug for RequireMfa<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireMfa").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireMfa<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, Request<ReqBody>, ResBody>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let guard = &self.guard;
        let now = guard.clock.now();
        let rule = {
            let path = original_path(&req);
            guard.select(req.method(), path, req.uri(), req.headers())
        };
        match guard.begin(rule, req.uri(), req.headers(), now) {
            Begin::Pass(found) => {
                attach(&mut req, found);
                let inner = self.inner.clone();
                ResponseFuture::Inner {
                    future: inner.oneshot(req),
                }
            }
            Begin::Refuse(reason, claims) => ResponseFuture::Ready {
                response: Some(refuse(guard, rule, reason, claims.as_ref(), &req, now)),
            },
            Begin::Fetch(token) => {
                let guard = Arc::clone(&self.guard);
                let inner = self.inner.clone();
                let rule = rule.clone();
                ResponseFuture::Fetching {
                    future: Box::pin(async move {
                        match guard.finish_async(&rule, &token).await {
                            Begin::Pass(found) => {
                                attach(&mut req, found);
                                inner.oneshot(req).await.map(|r| r.map(ResponseBody::inner))
                            }
                            Begin::Refuse(reason, claims) => {
                                let now = guard.clock.now();
                                Ok(refuse(&guard, &rule, reason, claims.as_ref(), &req, now))
                            }
                            Begin::Fetch(_) => {
                                let now = guard.clock.now();
                                Ok(refuse(&guard, &rule, Reason::UnknownKeyId, None, &req, now))
                            }
                        }
                    }),
                }
            }
        }
    }
}

fn attach<B>(req: &mut Request<B>, found: Option<(Claims, crate::Decision)>) {
    if let Some((claims, decision)) = found {
        let extensions = req.extensions_mut();
        extensions.insert(claims);
        extensions.insert(decision);
    }
}

fn refuse<B, R>(
    guard: &Guard,
    rule: &Rule,
    reason: Reason,
    claims: Option<&Claims>,
    req: &Request<R>,
    now: SystemTime,
) -> Response<ResponseBody<B>> {
    guard.log_decision("deny", Some(reason), rule, claims);
    let headers: &HeaderMap = req.headers();
    let mut facts = Facts::of(headers);
    // Capability names are compared ASCII case-insensitively (`CP1`, `Cp1`).
    facts.cp1 = claims.is_some_and(|c| {
        c.client_capabilities()
            .iter()
            .any(|cap| cap.eq_ignore_ascii_case("cp1"))
    });
    let return_to = original_path_and_query(req);
    guard.answers.render(
        reason,
        rule.scope_challenge.as_ref(),
        facts,
        return_to,
        guard.keys.retry_after(now),
    )
}

/// The path the client asked for: under axum's `Router::nest` the URI is
/// stripped, and `OriginalUri` keeps the original.
fn original_path<B>(req: &Request<B>) -> &str {
    #[cfg(feature = "axum")]
    if let Some(original) = req.extensions().get::<axum::extract::OriginalUri>() {
        return original.0.path();
    }
    req.uri().path()
}

fn original_path_and_query<B>(req: &Request<B>) -> &str {
    #[cfg(feature = "axum")]
    if let Some(original) = req.extensions().get::<axum::extract::OriginalUri>() {
        return original.0.path_and_query().map_or("/", |pq| pq.as_str());
    }
    req.uri().path_and_query().map_or("/", |pq| pq.as_str())
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project! {
    /// The future of [`RequireMfa`]: a ready refusal, the inner service's
    /// call, or (only while keys are fetched) a boxed slow path.
    #[project = Projection]
    #[allow(missing_docs)] // pin-project-lite takes no docs on variant fields
    pub enum ResponseFuture<S, Req, B>
    where
        S: Service<Req>,
    {
        /// A refusal, answered without calling the inner service.
        Ready {
            response: Option<Response<ResponseBody<B>>>,
        },
        /// The request passed; the inner service answers.
        Inner {
            #[pin]
            future: Oneshot<S, Req>,
        },
        /// The key had to be fetched first.
        Fetching {
            future: BoxFuture<Result<Response<ResponseBody<B>>, S::Error>>,
        },
    }
}

impl<S, Req, B> Future for ResponseFuture<S, Req, B>
where
    S: Service<Req, Response = Response<B>>,
{
    type Output = Result<Response<ResponseBody<B>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projection::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
            Projection::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|r| r.map(ResponseBody::inner))),
            Projection::Fetching { future } => future.as_mut().poll(cx),
        }
    }
}
