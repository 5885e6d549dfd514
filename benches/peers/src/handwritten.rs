//! The hand-written peer measured by scripts/load.sh: the same axum (0.8)
//! route as examples/load_target.rs, guarded by a verify-every-request
//! middleware written by hand the way a careful application would: the
//! RS256 key parsed once (aws-lc-rs, as tower-mfa), then per request split,
//! base64-decode, JSON-parse header and payload into typed structs, check
//! `alg` and `kid`, verify the signature, and check the same claims as the
//! layer (`iss`, `aud`, `exp`/`nbf`/`iat` with 60 s leeway, `amr` holds
//! `mfa`), then attach the claims to the request. No cache.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use axum08::body::Body;
use axum08::http::{header, Request, Response, StatusCode};
use axum08::routing::get;
use axum08::{Json, Router, ServiceExt as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::future::Either;
use serde::Deserialize;
use serde_json::json;
use tower::{Layer, Service};

const ISSUER: &str = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/";
const AUDIENCE: &str = "https://api.partnercenter.microsoft.com";
const LEEWAY: f64 = 60.0;

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims the handler may read (attached to the request).
#[derive(Clone, Deserialize)]
#[allow(dead_code)]
struct Claims {
    iss: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    sub: Option<String>,
    tid: Option<String>,
    oid: Option<String>,
    scp: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
}

impl Clone for Audience {
    fn clone(&self) -> Self {
        match self {
            Self::One(a) => Self::One(a.clone()),
            Self::Many(a) => Self::Many(a.clone()),
        }
    }
}

struct Verifier {
    kid: String,
    key: ParsedPublicKey,
}

impl Verifier {
    fn check(&self, token: &str) -> Option<Claims> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        if header.alg != "RS256" || header.kid.as_deref() != Some(self.kid.as_str()) {
            return None;
        }
        let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
        let input = &token[..h.len() + 1 + p.len()];
        self.key.verify_sig(input.as_bytes(), &sig).ok()?;
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        let audience_ok = match &claims.aud {
            Some(Audience::One(a)) => a == AUDIENCE,
            Some(Audience::Many(a)) => a.iter().any(|a| a == AUDIENCE),
            None => false,
        };
        let ok = claims.iss.as_deref() == Some(ISSUER)
            && audience_ok
            && claims.exp.is_some_and(|exp| now < exp + LEEWAY)
            && claims.nbf.is_none_or(|nbf| nbf <= now + LEEWAY)
            && claims.iat.is_none_or(|iat| iat <= now + LEEWAY)
            && claims.amr.iter().any(|m| m == "mfa");
        ok.then_some(claims)
    }
}

#[derive(Clone)]
struct Guard<S> {
    inner: S,
    verifier: Arc<Verifier>,
}

#[derive(Clone)]
struct GuardLayer(Arc<Verifier>);

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            verifier: Arc::clone(&self.0),
        }
    }
}

impl<S> Service<Request<Body>> for Guard<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response<Body>, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let claims = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| self.verifier.check(token));
        match claims {
            Some(claims) => {
                req.extensions_mut().insert(claims);
                Either::Right(self.inner.call(req))
            }
            None => {
                let mut refusal = Response::new(Body::empty());
                *refusal.status_mut() = StatusCode::UNAUTHORIZED;
                refusal.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                Either::Left(ready(Ok(refusal)))
            }
        }
    }
}

async fn customers() -> Json<serde_json::Value> {
    Json(json!({"customers": [{"id": "contoso"}, {"id": "fabrikam"}]}))
}

fn verifier(dir: &str) -> Verifier {
    let jwks: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/jwks.json")).unwrap()).unwrap();
    let jwk = &jwks["keys"][0];
    let field = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let (n, e) = (field("n"), field("e"));
    let public = RsaPublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    };
    Verifier {
        kid: jwk["kid"].as_str().unwrap().to_owned(),
        key: public
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .unwrap(),
    }
}

fn main() {
    let dir = std::env::var("LOAD_DIR").unwrap_or_else(|_| "target/load".into());
    let addr = std::env::var("LOAD_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let guard = GuardLayer(Arc::new(verifier(&dir)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Around the whole Router, as examples/load_target.rs places
        // RequireMfaLayer.
        let app = guard.layer(Router::new().route("/v1/customers", get(customers)));
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        println!(
            "hand-written listening on {}",
            listener.local_addr().unwrap()
        );
        axum08::serve(listener, app.into_make_service())
            .await
            .unwrap();
    });
}
