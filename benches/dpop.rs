//! Criterion benchmarks of DPoP next to the bearer path (docs/PERFORMANCE.md):
//!
//! `cargo bench --bench dpop -- --warm-up-time 1 --measurement-time 3`
//!
//! All through the layer with the token cache on and the token cached:
//! - `dpop/bearer_cached`: a plain token as `Bearer`;
//! - `dpop/proof_ES256`, `dpop/proof_EdDSA`: the bound token with the `DPoP`
//!   scheme and a fresh proof (made outside the measurement) by a P-256 or
//!   Ed25519 client key: one more signature, which cannot be cached, plus the
//!   proof's parse, thumbprint, `htu` and replay-cache insert;
//! - `dpop/floor_ES256`, `dpop/floor_EdDSA`: the raw aws-lc-rs verification
//!   of one such proof's signature with a pre-parsed key, in the same run:
//!   the part of the DPoP cost that is cryptography.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair, ParsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{Request, Response};
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_mfa::{DpopConfig, RequireMfaLayer, Rule, Sender};

const ISSUER: &str = "https://idp.example.com/";
const AUDIENCE: &str = "api://bench";
const ORIGIN: &str = "https://api.example.com";
const PATH: &str = "/v1/customers";

type Body = http_body_util::Empty<bytes::Bytes>;

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn jws(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// Signs a message.
type Signer = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// A client key: its public JWK, thumbprint and signer.
struct Client {
    alg: &'static str,
    public: ParsedPublicKey,
    jwk: Value,
    jkt: String,
    sign: Signer,
}

fn es256_client() -> Client {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let p = pair.public_key().as_ref().to_vec();
    let (x, y) = (b64(&p[1..33]), b64(&p[33..65]));
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    Client {
        alg: "ES256",
        public: ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &p).unwrap(),
        jwk: json!({"kty":"EC","crv":"P-256","x":x,"y":y}),
        jkt: b64(digest(&SHA256, canonical.as_bytes()).as_ref()),
        sign: Box::new(move |m| {
            pair.sign(&SystemRandom::new(), m)
                .unwrap()
                .as_ref()
                .to_vec()
        }),
    }
}

fn ed_client() -> Client {
    let pair = Ed25519KeyPair::generate().unwrap();
    let x = b64(pair.public_key().as_ref());
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    Client {
        alg: "EdDSA",
        public: ParsedPublicKey::new(&ED25519, pair.public_key().as_ref()).unwrap(),
        jwk: json!({"kty":"OKP","crv":"Ed25519","x":x}),
        jkt: b64(digest(&SHA256, canonical.as_bytes()).as_ref()),
        sign: Box::new(move |m| pair.sign(m).as_ref().to_vec()),
    }
}

static JTI: AtomicU64 = AtomicU64::new(0);

fn proof(client: &Client, token: &str) -> String {
    let n = JTI.fetch_add(1, Ordering::Relaxed);
    jws(
        &json!({"typ":"dpop+jwt","alg":client.alg,"jwk":client.jwk}),
        &json!({"jti":format!("b{n}"),"htm":"GET","htu":format!("{ORIGIN}{PATH}"),"iat":now(),
            "ath":b64(digest(&SHA256, token.as_bytes()).as_ref())}),
        &client.sign,
    )
}

fn request(scheme: &str, token: &str, proof: Option<String>) -> Request<Body> {
    let mut req = Request::get(PATH).header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        req = req.header("dpop", proof);
    }
    req.body(Body::new()).unwrap()
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

fn dpop(c: &mut Criterion) {
    let issuer = Ed25519KeyPair::generate().unwrap();
    let jwks = json!({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"i","x":b64(issuer.public_key().as_ref())}]});
    let token = |jkt: Option<&str>| {
        let t = now();
        let mut claims =
            json!({"iss":ISSUER,"aud":AUDIENCE,"sub":"u","iat":t,"exp":t+3600,"amr":["pwd","mfa"]});
        if let Some(jkt) = jkt {
            claims["cnf"] = json!({"jkt": jkt});
        }
        jws(
            &json!({"alg":"EdDSA","kid":"i","typ":"JWT"}),
            &claims,
            |m| issuer.sign(m).as_ref().to_vec(),
        )
    };
    let layer = RequireMfaLayer::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .static_jwks(jwks.to_string().as_bytes())
        .unwrap()
        .dpop(
            DpopConfig::new()
                .public_origin(ORIGIN)
                .replay_capacity(50_000_000),
        )
        .rule(Rule::mfa("/v1/**").sender(Sender::DpopAllowed))
        .build()
        .unwrap();
    let inner = tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::new()))
    });
    let svc = tower::Layer::layer(&layer, inner);

    let mut group = c.benchmark_group("dpop");
    let plain = token(None);
    assert!(call(&svc, request("Bearer", &plain, None)));
    group.bench_function("bearer_cached", |b| {
        b.iter_batched(
            || request("Bearer", &plain, None),
            |req| call(&svc, req),
            BatchSize::SmallInput,
        )
    });
    for client in [es256_client(), ed_client()] {
        let bound = token(Some(&client.jkt));
        assert!(call(
            &svc,
            request("DPoP", &bound, Some(proof(&client, &bound)))
        ));
        let sample = proof(&client, &bound);
        let (input, sig) = sample.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        assert!(client.public.verify_sig(input.as_bytes(), &sig).is_ok());
        group.bench_function(format!("floor_{}", client.alg), |b| {
            b.iter(|| client.public.verify_sig(input.as_bytes(), &sig).is_ok())
        });
        group.bench_function(format!("proof_{}", client.alg), |b| {
            b.iter_batched(
                || request("DPoP", &bound, Some(proof(&client, &bound))),
                |req| assert!(call(&svc, req)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, dpop);
criterion_main!(benches);
