//! Counts heap allocations per request through the layer (a counting global
//! allocator), for the bare service, a cached token, and a cold token: first
//! around a plain `tower::service_fn` with fresh `http::Request`s (whose
//! first extension allocates the extension map), then in an axum `Router`:
//! with `Router::layer` (bare, a no-op middleware, the layer), and with the
//! middleware around the whole Router, as `examples/load_target.rs` serves
//! it.
//!
//! `cargo bench --bench allocations` prints one line per case.

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt;
use http::{Request, Response};
use serde_json::json;
use tower::{Layer, Service, ServiceExt};
use tower_mfa::jwks::{KeySet, VerifyingKey};
use tower_mfa::{RequireMfaLayer, Rule};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY-free: delegates to the system allocator and counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

type Body = http_body_util::Empty<bytes::Bytes>;

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn main() {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let issuer = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/";
    let audience = "https://api.partnercenter.microsoft.com";
    let header = json!({"alg":"RS256","kid":"k","typ":"JWT"});
    let claims = json!({"iss": issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + 3600,
        "amr": ["pwd","mfa"], "sub": "s", "oid": "o", "tid": "df845f1a-7b35-40a2-ba78-6481de91f8ae",
        "scp": "user_impersonation", "appid": "a", "name": "Isaiah Williams", "ver": "1.0"});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let token = format!("{input}.{}", b64(&sig));
    let jwk = json!({"kty":"RSA","kid":"k","n":b64(&public.n),"e":b64(&public.e)});

    let layer = |cache_bytes| {
        RequireMfaLayer::builder()
            .issuer(issuer)
            .audience(audience)
            .static_keys(KeySet::from_keys([VerifyingKey::from_jwk(&jwk).unwrap()]))
            .token_cache_bytes(cache_bytes)
            .rule(Rule::mfa("/v1/**"))
            .build()
            .unwrap()
    };
    let inner = tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::new()))
    });
    let header_value = http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    let request = || {
        let mut req = Request::get("/v1/customers").body(Body::new()).unwrap();
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, header_value.clone());
        req
    };

    let count = |name: &str, per: f64| {
        println!("{name:<28} {per:>6.2} allocations per request");
        per
    };
    count("bare service", per_request(&inner, &request));
    let cached = layer(tower_mfa::DEFAULT_CACHE_BYTES).layer(inner);
    count("layer, cached token", per_request(&cached, &request));
    let cold = layer(0).layer(inner);
    count("layer, cold token (no cache)", per_request(&cold, &request));

    // The same in an axum Router: with `Router::layer`, then with the
    // middleware around the whole Router, as examples/load_target.rs serves
    // it (no route is boxed again).
    let router_request = || {
        let mut req = Request::get("/v1/customers")
            .body(axum::body::Body::empty())
            .unwrap();
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, header_value.clone());
        req
    };
    // `with_state(())` as `axum::serve` does: handlers become routes once,
    // not on every request.
    let app = || {
        axum::Router::new()
            .route("/v1/customers", axum::routing::get(|| async { "ok" }))
            .with_state::<()>(())
    };
    let noop = || tower::util::MapRequestLayer::new(|req: axum::extract::Request| req);
    // The price of any one request extension in a Router: axum has put three
    // there already (`OriginalUri`, `MatchedPath`, `UrlParams`), so a fourth
    // grows the map's table besides boxing the value.
    let one_extension = || {
        tower::util::MapRequestLayer::new(|mut req: axum::extract::Request| {
            req.extensions_mut().insert(7u64);
            req
        })
    };
    let in_router =
        |name: &str, router: axum::Router| count(name, per_request(&router, &router_request));
    let bare = in_router("router: bare", app());
    let over = [
        in_router("router: no-op middleware", app().layer(noop())),
        in_router("router: no-op + 1 extension", app().layer(one_extension())),
        in_router(
            "router: layer, cached token",
            app().layer(layer(tower_mfa::DEFAULT_CACHE_BYTES)),
        ),
        in_router(
            "router: into_axum(), cached",
            app().layer(layer(tower_mfa::DEFAULT_CACHE_BYTES).into_axum()),
        ),
    ]
    .map(|per| per - bare);
    println!(
        "router, over bare: no-op {:.2}, no-op + 1 extension {:.2}, layer {:.2}, into_axum() {:.2}",
        over[0], over[1], over[2], over[3]
    );
    let around = [
        count(
            "around router: no-op",
            per_request(&noop().layer(app()), &router_request),
        ),
        count(
            "around router: 1 extension",
            per_request(&one_extension().layer(app()), &router_request),
        ),
        count(
            "around router: layer",
            per_request(
                &layer(tower_mfa::DEFAULT_CACHE_BYTES)
                    .into_axum()
                    .layer(app()),
                &router_request,
            ),
        ),
    ]
    .map(|per| per - bare);
    println!(
        "around the router, over bare: no-op {:.2}, no-op + 1 extension {:.2}, layer {:.2}",
        around[0], around[1], around[2]
    );
}

const N: u64 = 1000;

/// Heap allocations per request through `svc`, over `N` fresh requests made
/// before counting (one call first, so nothing lazy is counted); each must pass.
fn per_request<S, B, R>(svc: &S, request: &dyn Fn() -> Request<B>) -> f64
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    S::Error: std::fmt::Debug,
{
    let passes = |req| {
        svc.clone()
            .oneshot(req)
            .now_or_never()
            .unwrap()
            .unwrap()
            .status()
            .is_success()
    };
    assert!(passes(request()));
    let requests: Vec<_> = (0..N).map(|_| request()).collect();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for req in requests {
        assert!(passes(req));
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    (after - before) as f64 / N as f64
}
