//! Criterion benchmarks of the verification path.
//!
//! `cargo bench --bench verify` (see docs/PERFORMANCE.md). Groups:
//! - `cold/<alg>`: a request through the layer with the token cache off, next
//!   to `floor/<alg>`: the raw cost of the same token written by hand here
//!   (base64 + JSON parse of header and payload + aws-lc-rs verify with a
//!   pre-parsed key);
//! - `cached/<alg>`: the same request with the token cache on;
//! - `layer/bare` vs `layer/mfa_cached`: a whole request through
//!   `tower::ServiceExt::oneshot`, without and with the layer;
//! - `rules/50`: route-rule matching with 50 rules, last one matching.

use std::convert::Infallible;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
    RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{Method, Request, Response, Uri};
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_mfa::jwks::{KeySet, VerifyingKey};
use tower_mfa::{RequireMfaLayer, Rule};

const ISSUER: &str = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/";
const AUDIENCE: &str = "https://api.partnercenter.microsoft.com";

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

struct Fixture {
    alg: &'static str,
    token: String,
    jwk: Value,
    /// The public key as aws-lc-rs parses it (SPKI for RSA is built from n/e).
    floor_key: ParsedPublicKey,
}

fn claims() -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "aud": AUDIENCE, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + 3600,
        "acr": "1", "amr": ["pwd", "mfa"], "appid": "23ec45a3-5127-4185-9eff-c8887839e6ab",
        "appidacr": "0", "family_name": "Williams", "given_name": "Isaiah", "ipaddr": "127.0.0.1",
        "name": "Isaiah Williams", "oid": "4988e250-5aee-482a-9136-6d269cb755c0",
        "scp": "user_impersonation", "tenant_region_scope": "NA",
        "tid": "df845f1a-7b35-40a2-ba78-6481de91f8ae",
        "unique_name": "Isaiah.Williams@testtestpartner.onmicrosoft.com",
        "upn": "Isaiah.Williams@testtestpartner.onmicrosoft.com", "ver": "1.0",
        "sub": "f5d9d2c8-4d54-4ab1-b0a4-6f9a6a1c0e11"
    })
}

fn sign(alg: &str, kid: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn rsa_fixture() -> Fixture {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let token = sign("RS256", "rsa", |m| {
        let mut s = vec![0; pair.public_modulus_len()];
        pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), m, &mut s)
            .unwrap();
        s
    });
    let jwk = json!({"kty":"RSA","kid":"rsa","alg":"RS256","n":b64(&public.n),"e":b64(&public.e)});
    let floor_key =
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref()).unwrap();
    Fixture {
        alg: "RS256",
        token,
        jwk,
        floor_key,
    }
}

fn ec_fixture() -> Fixture {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let token = sign("ES256", "ec", |m| {
        pair.sign(&SystemRandom::new(), m)
            .unwrap()
            .as_ref()
            .to_vec()
    });
    let jwk =
        json!({"kty":"EC","kid":"ec","crv":"P-256","x":b64(&point[1..33]),"y":b64(&point[33..])});
    let floor_key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).unwrap();
    Fixture {
        alg: "ES256",
        token,
        jwk,
        floor_key,
    }
}

fn ed_fixture() -> Fixture {
    let pair = Ed25519KeyPair::generate().unwrap();
    let token = sign("EdDSA", "ed", |m| pair.sign(m).as_ref().to_vec());
    let x = pair.public_key().as_ref().to_vec();
    let jwk = json!({"kty":"OKP","kid":"ed","crv":"Ed25519","x":b64(&x)});
    let floor_key = ParsedPublicKey::new(&ED25519, &x).unwrap();
    Fixture {
        alg: "EdDSA",
        token,
        jwk,
        floor_key,
    }
}

/// The hand-written floor: split, base64-decode and JSON-parse header and
/// payload, verify the signature with a pre-parsed key.
fn floor(fixture: &Fixture) -> bool {
    let mut parts = fixture.token.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(s).unwrap();
    let input = &fixture.token[..h.len() + 1 + p.len()];
    header.get("kid").is_some()
        && payload.get("exp").is_some()
        && fixture.floor_key.verify_sig(input.as_bytes(), &sig).is_ok()
}

type Body = http_body_util::Empty<bytes::Bytes>;

fn inner()
-> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::new()))
    })
}

fn layer(fixture: &Fixture, cache_bytes: u64) -> RequireMfaLayer {
    let keys = KeySet::from_keys([VerifyingKey::from_jwk(&fixture.jwk).unwrap()]);
    RequireMfaLayer::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .static_keys(keys)
        .token_cache_bytes(cache_bytes)
        .rule(Rule::public("/healthz"))
        .rule(Rule::mfa("/v1/**"))
        .build()
        .unwrap()
}

fn request(token: &str) -> Request<Body> {
    Request::get("/v1/customers")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::new())
        .unwrap()
}

fn call<S>(svc: &S, req: Request<Body>) -> bool
where
    S: Service<
            Request<Body>,
            Response = Response<tower_mfa::ResponseBody<Body>>,
            Error = Infallible,
        > + Clone,
{
    let response = svc.clone().oneshot(req).now_or_never().unwrap().unwrap();
    response.status().is_success()
}

fn verification(c: &mut Criterion) {
    let fixtures = [rsa_fixture(), ec_fixture(), ed_fixture()];
    let mut group = c.benchmark_group("verify");
    for f in &fixtures {
        assert!(floor(f));
        group.bench_with_input(BenchmarkId::new("floor", f.alg), f, |b, f| {
            b.iter(|| floor(f))
        });
        let cold = tower::Layer::layer(&layer(f, 0), inner());
        assert!(call(&cold, request(&f.token)));
        group.bench_with_input(BenchmarkId::new("cold", f.alg), f, |b, f| {
            b.iter_batched(
                || request(&f.token),
                |req| call(&cold, req),
                criterion::BatchSize::SmallInput,
            )
        });
        let cached = tower::Layer::layer(&layer(f, tower_mfa::DEFAULT_CACHE_BYTES), inner());
        assert!(call(&cached, request(&f.token)));
        group.bench_with_input(BenchmarkId::new("cached", f.alg), f, |b, f| {
            b.iter_batched(
                || request(&f.token),
                |req| call(&cached, req),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();

    let f = &fixtures[0];
    let mut group = c.benchmark_group("layer");
    let bare = inner();
    group.bench_function("bare", |b| {
        b.iter_batched(
            || request(&f.token),
            |req| {
                bare.clone()
                    .oneshot(req)
                    .now_or_never()
                    .unwrap()
                    .unwrap()
                    .status()
                    .is_success()
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let guarded = tower::Layer::layer(&layer(f, tower_mfa::DEFAULT_CACHE_BYTES), inner());
    group.bench_function("mfa_cached", |b| {
        b.iter_batched(
            || request(&f.token),
            |req| call(&guarded, req),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A key set of 100 keys costs no more per request than one of 2.
fn key_sets(c: &mut Criterion) {
    let f = ec_fixture();
    let mut group = c.benchmark_group("keyset");
    for n in [2usize, 100] {
        let mut keys = vec![VerifyingKey::from_jwk(&f.jwk).unwrap()];
        for i in 1..n {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
            let point = pair.public_key().as_ref().to_vec();
            let jwk = json!({"kty":"EC","kid":format!("other-{i}"),"crv":"P-256","x":b64(&point[1..33]),"y":b64(&point[33..])});
            keys.push(VerifyingKey::from_jwk(&jwk).unwrap());
        }
        let layer = RequireMfaLayer::builder()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .static_keys(KeySet::from_keys(keys))
            .token_cache_bytes(0)
            .rule(Rule::mfa("/v1/**"))
            .build()
            .unwrap();
        let svc = tower::Layer::layer(&layer, inner());
        assert!(call(&svc, request(&f.token)));
        group.bench_function(BenchmarkId::new("cold_ES256_keys", n), |b| {
            b.iter_batched(
                || request(&f.token),
                |req| call(&svc, req),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn rules(c: &mut Criterion) {
    let mut group = c.benchmark_group("rules");
    for n in [2usize, 50, 100] {
        let rules: Vec<Rule> = (0..n)
            .map(|i| {
                if i + 1 == n {
                    Rule::mfa("/v1/customers/**")
                } else {
                    Rule::authenticated(&format!("/api/v{i}/items/*/details/**"))
                }
            })
            .collect();
        let uri: Uri = "/v1/customers/42/orders".parse().unwrap();
        let headers = http::HeaderMap::new();
        group.bench_with_input(BenchmarkId::new("last_of", n), &rules, |b, rules| {
            b.iter(|| {
                rules
                    .iter()
                    .position(|r| r.matches(&Method::GET, uri.path(), &uri, &headers))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, verification, key_sets, rules);
criterion_main!(benches);
