//! [`RequireMfa`]: the service made by [`RequireMfaLayer`](super::RequireMfaLayer).

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::ServiceExt;
use tower_service::Service;

use super::future::ResponseFuture;
use crate::body::ResponseBody;
use crate::error::Reason;
use crate::original_path::OriginalPath;
use crate::pipeline::{Extracted, Pipeline, Scheme, Verdict, Verified};

/// The middleware made by [`RequireMfaLayer`](crate::RequireMfaLayer).
#[derive(Clone)]
pub struct RequireMfa<S> {
    inner: S,
    pipeline: Arc<Pipeline>,
}

impl<S> RequireMfa<S> {
    pub(super) fn new(inner: S, pipeline: Arc<Pipeline>) -> Self {
        Self { inner, pipeline }
    }
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
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let pipeline = &*self.pipeline;
        if let Some(metadata) = &pipeline.metadata
            && metadata.is_requested(OriginalPath::path_of(&req))
        {
            // A public document, answered before any rule is selected.
            return ResponseFuture::refused(metadata.answer(req.method()));
        }
        let now = pipeline.clock.now();
        let rule = pipeline.select(
            req.method(),
            OriginalPath::path_of(&req),
            req.uri(),
            req.headers(),
        );
        let found = match pipeline.extract(rule, req.uri(), req.headers()) {
            Extracted::Skip => Err(Verdict::Allow(None)),
            Extracted::Refused(reason) => Err(Verdict::Deny(reason, None)),
            Extracted::Token(token) => Ok((token, Scheme::Bearer)),
            Extracted::Dpop(token) => Ok((token, Scheme::Dpop)),
        };
        let verdict = match found {
            Err(verdict) => verdict,
            Ok((token, scheme)) => match pipeline.verify(token, now) {
                Verified::Claims(claims, issuer) => {
                    pipeline.admit(rule, scheme, token, claims, issuer, &req, now)
                }
                Verified::Refused(reason) => Verdict::Deny(reason, None),
                Verified::Fetch(token) => {
                    // Release the readied service: its capacity is not held
                    // while the key is fetched; a clone is made ready after.
                    release(&mut self.inner);
                    let pipeline = Arc::clone(&self.pipeline);
                    let inner = self.inner.clone();
                    let rule = rule.clone();
                    return ResponseFuture::fetching(Box::pin(async move {
                        let now = pipeline.clock.now();
                        let verdict = match pipeline.verify_fetched(&token).await {
                            Verified::Claims(claims, issuer) => pipeline.admit(
                                &rule,
                                scheme,
                                token.as_bytes(),
                                claims,
                                issuer,
                                &req,
                                now,
                            ),
                            Verified::Refused(reason) => Verdict::Deny(reason, None),
                            Verified::Fetch(_) => Verdict::Deny(Reason::UnknownKeyId, None),
                        };
                        match pipeline.conclude(&rule, verdict, &mut req, now) {
                            None => inner.oneshot(req).await.map(|r| r.map(ResponseBody::inner)),
                            Some(refusal) => Ok(refusal),
                        }
                    }));
                }
            },
        };
        match pipeline.conclude(rule, verdict, &mut req, now) {
            // `poll_ready` readied `self.inner`: called in place, no clone
            // (a clone of a boxed service, as axum's routes are, allocates).
            None => ResponseFuture::inner(self.inner.call(req)),
            Some(refusal) => {
                release(&mut self.inner);
                ResponseFuture::refused(refusal)
            }
        }
    }
}

/// Drops the service `poll_ready` readied (releasing what it reserved, such
/// as a concurrency permit) for a fresh clone, which waits for the next
/// `poll_ready`.
fn release<S: Clone>(inner: &mut S) {
    let fresh = inner.clone();
    drop(std::mem::replace(inner, fresh));
}
