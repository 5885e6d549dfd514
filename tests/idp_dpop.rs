//! DPoP proven with a client library nobody here wrote and a real provider, over HTTP and gRPC.
//!
//! The test provider (tests/idp/server.mjs, oidc-provider with `features.dPoP`) issues
//! DPoP-bound JWT access tokens (`cnf.jkt`). `tests/idp/dpop_client.mjs` uses openid-client
//! (pinned in tests/idp/package-lock.json, on oauth4webapi) to obtain them with client
//! credentials and with authorization code + PKCE, and calls an axum server guarded by the layer
//! with proofs the library makes; this test asserts on the script's JSON report (status codes
//! and exact `WWW-Authenticate` values).
//!
//! The gRPC half uses the same bound tokens: the script exports the private key each token is
//! bound to (the library generated it), and a tonic client written here mints proofs with it for
//! a tonic service behind the layer (`htm` POST, `htu` the origin plus `/package.Service/Method`).
//!
//! `fetch` joins several `WWW-Authenticate` fields with `", "`: the HTTP expectations below are
//! the layer's fields joined the same way (the gRPC answer is one value joined alike).
//!
//! Without Node the test skips loudly; under `CI=true` it fails (see tests/support/idp.rs).

#[path = "support/idp.rs"]
mod idp;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower_mfa::{Claims, DpopConfig, RequireMfaLayer, Rule, Sender};

use idp::{API_AUDIENCE, APP_CLIENT_ID, TestIdp, USER, decode_jwt};

/// The DPoP-required MFA routes of the test servers.
const RULE: &str = "/v1/customers/**";
const ROUTE: &str = "/v1/customers/1";
const OTHER_ROUTE: &str = "/v1/customers/2";
/// The gRPC method and another one of the same service.
const CHECK: &str = "/grpc.health.v1.Health/Check";
const WATCH: &str = "/grpc.health.v1.Health/Watch";

/// The layer's challenges, exactly.
const DPOP_BARE: &str = "DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\"";
const DPOP_INVALID_PROOF: &str = "DPoP error=\"invalid_dpop_proof\", error_description=\"The DPoP proof is invalid\", algs=\"RS256 PS256 ES256 ES384 EdDSA\"";
const DPOP_USE_NONCE: &str = "DPoP error=\"use_dpop_nonce\", error_description=\"A server nonce is required in the DPoP proof\", algs=\"RS256 PS256 ES256 ES384 EdDSA\"";
const BEARER_INVALID_TOKEN: &str =
    "Bearer error=\"invalid_token\", error_description=\"The access token is invalid\"";
/// Partner Center's answer to a missing MFA, then the DPoP one.
const MFA_REQUIRED: &str =
    "Bearer error=\"invalid_token\", DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\"";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn layer(idp: &TestIdp, origin: &str, rule: &str, nonces: bool) -> RequireMfaLayer {
    let mut dpop = DpopConfig::new().public_origin(origin);
    if nonces {
        dpop = dpop.nonces([0x5a; 32], Duration::from_secs(300));
    }
    RequireMfaLayer::builder()
        .issuer(idp.issuer())
        .discover_from_issuer()
        .allow_http_loopback(true)
        .audience(API_AUDIENCE)
        .dpop(dpop)
        .rule(Rule::mfa(rule).sender(Sender::DpopRequired))
        .build()
        .expect("layer builds")
}

async fn who(claims: Claims) -> Json<Value> {
    Json(json!({"subject": claims.subject(), "client_id": claims.client_id()}))
}

/// An axum server on loopback behind a layer whose public origin is its own address.
async fn http_server(idp: &TestIdp, nonces: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route("/v1/customers/{id}", get(who))
        .layer(layer(idp, &origin, RULE, nonces));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    origin
}

/// `grpc.health.v1.Health` behind a layer whose DPoP rule covers the service.
async fn grpc_server(idp: &TestIdp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let (_reporter, health) = tonic_health::server::health_reporter();
    let server = Server::builder()
        .layer(layer(idp, &origin, "/grpc.health.v1.Health/*", false))
        .add_service(health)
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(async move { server.await.expect("serve") });
    origin
}

/// One case of the script's report.
fn case<'a>(report: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .try_fold(report, |v, k| v.get(k))
        .unwrap_or_else(|| panic!("no {path} in the client's report: {report}"))
}

fn assert_answer(report: &Value, path: &str, status: u64, challenge: Option<&str>) {
    let c = case(report, path);
    assert_eq!(c["status"].as_u64(), Some(status), "{path}: {c}");
    assert_eq!(c["www_authenticate"].as_str(), challenge, "{path}: {c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_client_with_bound_tokens_over_http_and_grpc() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let origin = http_server(&idp, false).await;
    let nonce_origin = http_server(&idp, true).await;
    let input = json!({
        "issuer": idp.issuer(),
        "url": format!("{origin}{ROUTE}"),
        "other_url": format!("{origin}{OTHER_ROUTE}"),
        "nonce_url": format!("{nonce_origin}{ROUTE}"),
    });
    let report = idp
        .run_script(
            "dpop_client.mjs",
            &[input.to_string()],
            Duration::from_secs(60),
        )
        .await;

    // The provider bound each token to the key the library holds.
    for grant in ["client_credentials", "authorization_code"] {
        let g = case(&report, grant);
        assert_eq!(g["token_type"], "dpop", "{grant}");
        let (header, claims) = decode_jwt(g["access_token"].as_str().expect("token"));
        assert_eq!(header["typ"], "at+jwt", "{grant}");
        assert_eq!(claims["cnf"]["jkt"], g["dpop_jkt"], "{grant}: {claims}");
        assert_eq!(claims["aud"], API_AUDIENCE, "{grant}");
    }
    let (_, app) = decode_jwt(
        case(&report, "client_credentials.access_token")
            .as_str()
            .expect("token"),
    );
    assert_eq!(app["client_id"], APP_CLIENT_ID);
    assert!(app.get("amr").is_none(), "app-only: {app}");
    let (_, user) = decode_jwt(
        case(&report, "authorization_code.access_token")
            .as_str()
            .expect("token"),
    );
    assert_eq!(user["sub"], USER);
    assert_eq!(user["amr"], json!(["pwd", "mfa"]));

    for grant in ["client_credentials", "authorization_code"] {
        let at = |name: &str| format!("{grant}.{name}");
        // The library's own request, then the same proof twice.
        assert_answer(&report, &at("valid"), 200, None);
        assert_eq!(
            case(&report, &at("valid.attempts"))
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        assert_answer(&report, &at("replay_first"), 200, None);
        assert_answer(&report, &at("replay"), 401, Some(DPOP_INVALID_PROOF));
        assert_answer(&report, &at("other_method"), 401, Some(DPOP_INVALID_PROOF));
        assert_answer(&report, &at("other_url"), 401, Some(DPOP_INVALID_PROOF));
        assert_answer(&report, &at("other_key"), 401, Some(DPOP_INVALID_PROOF));
        assert_answer(&report, &at("no_proof"), 401, Some(DPOP_INVALID_PROOF));
        assert_answer(
            &report,
            &at("bearer"),
            401,
            Some(&format!("{BEARER_INVALID_TOKEN}, {DPOP_BARE}")),
        );
        assert_answer(&report, &at("stale_iat"), 401, Some(DPOP_INVALID_PROOF));
        assert_answer(&report, &at("missing_ath"), 401, Some(DPOP_INVALID_PROOF));
        assert_answer(&report, &at("valid_again"), 200, None);

        // Each hostile proof is wrong in exactly the way its case says.
        let claims = |name: &str| case(&report, &at(&format!("{name}.proof_claims"))).clone();
        let good = claims("replay");
        assert_eq!(good["htm"], "GET");
        assert_eq!(good["htu"], input["url"]);
        assert!(good["ath"].is_string() && good["jti"].is_string(), "{good}");
        assert_eq!(claims("other_method")["htm"], "POST");
        assert_eq!(claims("other_url")["htu"], input["other_url"]);
        assert_eq!(claims("other_key")["htu"], input["url"]);
        let jwk = |name: &str| case(&report, &at(&format!("{name}.proof_jwk"))).clone();
        assert!(jwk("replay")["x"].is_string(), "{}", jwk("replay"));
        assert_ne!(jwk("other_key"), jwk("replay"));
        assert_eq!(jwk("stale_iat"), jwk("replay"));
        assert_eq!(jwk("missing_ath"), jwk("replay"));
        let stale = claims("stale_iat");
        let age = good["iat"].as_i64().unwrap_or(0) - stale["iat"].as_i64().unwrap_or(0);
        assert!((3500..=3700).contains(&age), "stale by {age}s: {stale}");
        let no_ath = claims("missing_ath");
        assert!(
            no_ath.get("ath").is_none() && no_ath["htu"] == input["url"],
            "{no_ath}"
        );
        assert_eq!(claims("no_proof"), Value::Null);
    }
    let served: Value = serde_json::from_str(
        case(&report, "authorization_code.valid.body")
            .as_str()
            .expect("body"),
    )
    .expect("JSON body");
    assert_eq!(served["subject"], USER);

    // Binding is not authentication: a password-only user with a valid proof gets the MFA answer.
    assert_answer(&report, "mfa_less", 401, Some(MFA_REQUIRED));
    let (_, pwd) = decode_jwt(
        case(&report, "mfa_less.access_token")
            .as_str()
            .expect("token"),
    );
    assert_eq!(pwd["amr"], json!(["pwd"]));
    assert!(pwd["cnf"]["jkt"].is_string(), "{pwd}");

    // Nonces: use_dpop_nonce with a DPoP-Nonce, the library retries with it and passes; the
    // handle keeps the nonce for the next call.
    let attempts = case(&report, "nonce.attempts")
        .as_array()
        .expect("attempts");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["status"], 401);
    assert_eq!(attempts[0]["www_authenticate"], DPOP_USE_NONCE);
    assert_eq!(attempts[0]["proof_nonce"], Value::Null);
    let nonce = attempts[0]["dpop_nonce"].as_str().expect("DPoP-Nonce");
    assert_eq!(attempts[1]["status"], 200);
    assert_eq!(attempts[1]["proof_nonce"], nonce);
    assert_answer(&report, "nonce", 200, None);
    let again = case(&report, "nonce_again.attempts")
        .as_array()
        .expect("attempts");
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["status"], 200);

    grpc(&idp, &report).await;
}

// --- gRPC ------------------------------------------------------------------------------------

/// A bound token and the client key it is bound to (exported by the script).
struct Bound {
    token: String,
    key: EcdsaKeyPair,
    jwk: Value,
}

impl Bound {
    fn from_report(report: &Value, which: &str) -> Self {
        let entry = case(report, &format!("grpc.{which}"));
        let token = entry["access_token"].as_str().expect("token").to_owned();
        let private = &entry["jwk"];
        assert_eq!(private["kty"], "EC");
        assert_eq!(private["crv"], "P-256");
        let part = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(private[name].as_str().expect("JWK member"))
                .expect("base64url")
        };
        let mut point = vec![0x04];
        point.extend(part("x"));
        point.extend(part("y"));
        let key = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &part("d"),
            &point,
        )
        .expect("the exported P-256 key");
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": private["x"], "y": private["y"]});
        let bound = Self { token, key, jwk };
        // RFC 7638 by hand: the token is bound to exactly this key.
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            private["x"].as_str().expect("x"),
            private["y"].as_str().expect("y")
        );
        let (_, claims) = decode_jwt(&bound.token);
        assert_eq!(
            claims["cnf"]["jkt"],
            b64(digest(&SHA256, canonical.as_bytes()).as_ref())
        );
        bound
    }

    /// A proof with this key; `edit` changes the claims before signing.
    fn proof(&self, htm: &str, htu: &str, edit: impl FnOnce(&mut Value)) -> String {
        proof_with(&self.key, &self.jwk, &self.token, htm, htu, edit)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn proof_with(
    key: &EcdsaKeyPair,
    jwk: &Value,
    token: &str,
    htm: &str,
    htu: &str,
    edit: impl FnOnce(&mut Value),
) -> String {
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).expect("randomness");
    let mut claims = json!({
        "jti": b64(&jti), "htm": htm, "htu": htu, "iat": now(),
        "ath": b64(digest(&SHA256, token.as_bytes()).as_ref()),
    });
    edit(&mut claims);
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .expect("sign");
    format!("{input}.{}", b64(signature.as_ref()))
}

/// The client's interceptor: `authorization: DPoP <token>` and a fresh proof for every call.
fn dpop_interceptor(
    bound: &Bound,
    htu: String,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + '_ {
    move |mut request: Request<()>| {
        let proof = bound.proof("POST", &htu, |_| {});
        let metadata = request.metadata_mut();
        metadata.insert(
            "authorization",
            format!("DPoP {}", bound.token).parse().expect("metadata"),
        );
        metadata.insert("dpop", proof.parse().expect("metadata"));
        Ok(request)
    }
}

/// A `Check` with exactly these `authorization` and `dpop` values.
async fn check(origin: &str, authorization: &str, proof: Option<&str>) -> Result<(), Status> {
    let channel = tonic::transport::Endpoint::from_shared(origin.to_owned())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut client = HealthClient::new(channel);
    let mut request = Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().expect("metadata"));
    if let Some(proof) = proof {
        request
            .metadata_mut()
            .insert("dpop", proof.parse().expect("metadata"));
    }
    client.check(request).await.map(|_| ())
}

fn assert_refused(what: &str, answer: Result<(), Status>, challenge: &str) {
    let status = answer.expect_err(what);
    assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
    assert_eq!(
        status
            .metadata()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some(challenge),
        "{what}: {status:?}"
    );
}

async fn grpc(idp: &TestIdp, report: &Value) {
    let origin = grpc_server(idp).await;
    let htu = format!("{origin}{CHECK}");
    let user = Bound::from_report(report, "mfa");
    let dpop = format!("DPoP {}", user.token);

    // The interceptor's fresh proofs pass, call after call.
    let channel = tonic::transport::Endpoint::from_shared(origin.clone())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut client = HealthClient::with_interceptor(channel, dpop_interceptor(&user, htu.clone()));
    for _ in 0..2 {
        client
            .check(HealthCheckRequest::default())
            .await
            .expect("a fresh proof passes");
    }

    let once = user.proof("POST", &htu, |_| {});
    check(&origin, &dpop, Some(&once))
        .await
        .expect("first use of a proof");
    assert_refused(
        "replayed proof",
        check(&origin, &dpop, Some(&once)).await,
        DPOP_INVALID_PROOF,
    );
    assert_refused(
        "proof for GET",
        check(&origin, &dpop, Some(&user.proof("GET", &htu, |_| {}))).await,
        DPOP_INVALID_PROOF,
    );
    assert_refused(
        "proof for another method URL",
        check(
            &origin,
            &dpop,
            Some(&user.proof("POST", &format!("{origin}{WATCH}"), |_| {})),
        )
        .await,
        DPOP_INVALID_PROOF,
    );
    let stranger = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key");
    let point = stranger.public_key().as_ref();
    let stranger_jwk =
        json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
    assert_refused(
        "proof signed by another key",
        check(
            &origin,
            &dpop,
            Some(&proof_with(
                &stranger,
                &stranger_jwk,
                &user.token,
                "POST",
                &htu,
                |_| {},
            )),
        )
        .await,
        DPOP_INVALID_PROOF,
    );
    assert_refused(
        "the token without a proof",
        check(&origin, &dpop, None).await,
        DPOP_INVALID_PROOF,
    );
    assert_refused(
        "the bound token as Bearer",
        check(&origin, &format!("Bearer {}", user.token), None).await,
        &format!("{BEARER_INVALID_TOKEN}, {DPOP_BARE}"),
    );
    assert_refused(
        "a stale iat",
        check(
            &origin,
            &dpop,
            Some(&user.proof("POST", &htu, |c| c["iat"] = json!(now() - 3600))),
        )
        .await,
        DPOP_INVALID_PROOF,
    );
    assert_refused(
        "no ath",
        check(
            &origin,
            &dpop,
            Some(&user.proof("POST", &htu, |c| {
                if let Some(claims) = c.as_object_mut() {
                    claims.remove("ath");
                }
            })),
        )
        .await,
        DPOP_INVALID_PROOF,
    );

    // A password-only user with a valid proof: the MFA answer.
    let pwd = Bound::from_report(report, "pwd");
    assert_refused(
        "valid proof, no MFA",
        check(
            &origin,
            &format!("DPoP {}", pwd.token),
            Some(&pwd.proof("POST", &htu, |_| {})),
        )
        .await,
        MFA_REQUIRED,
    );
}
