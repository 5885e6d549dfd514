//! The server side of `scripts/load.sh`: the demo's API route, with or
//! without the layer, for wrk to drive.
//!
//! - `LOAD_MODE=mint LOAD_DIR=dir [LOAD_TOKENS=n]`: makes an RS256 key pair,
//!   writes `jwks.json`, `public.pem`, `token.txt` (one token with MFA) and
//!   `tokens.txt` (n distinct valid tokens, for the cold-token run), then exits.
//! - `LOAD_MODE=bare|noop|layer|layer-nocache LOAD_DIR=dir LOAD_ADDR=host:port`:
//!   serves `GET /v1/customers` (a small JSON body) on a single-threaded
//!   runtime: bare, behind a no-op middleware, or behind `RequireMfaLayer`
//!   (trusting `dir/jwks.json`) with or without the token cache. Each
//!   middleware wraps the whole `Router` (as a guard that rules on full
//!   paths is best placed: see docs/PERFORMANCE.md), not `Router::layer`,
//!   which boxes every route's service again.
//! - `mint` also makes a second RS256 key (`kid` `load2`) for the rotation
//!   run: `jwks1.json` (the first key), `jwks12.json` (both), `jwks2.json`
//!   (the second) and `token2.txt` (a token signed with the second key).
//! - `LOAD_MODE=layer-rotation|layer-outage`: the layer (cache on), with the
//!   server's `/jwks` read from `dir/live-jwks.json` on every fetch (`503`
//!   while that file is missing), so the script can publish, withdraw and
//!   take down keys during a run. `layer-outage` refreshes its keys every
//!   second, so fetches fail during the outage.
//! - With `LOAD_PROOFS=n` (and `LOAD_ORIGIN`, default `http://127.0.0.1:18080`),
//!   `mint` also writes `dpop_token.txt` (a token bound to a P-256 client key)
//!   and `dpop_proofs.txt` (n proofs by that key for `GET /v1/customers`,
//!   each usable once); `LOAD_MODE=layer-dpop` serves behind the layer with a
//!   `dpop_allowed` rule (token cache on, a one-hour proof window so proofs
//!   minted before the run stay valid).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
    RsaPublicKeyComponents,
};
use axum::routing::get;
use axum::{Router, ServiceExt};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use tower::Layer;
use tower::util::MapRequestLayer;
use tower_mfa::{DpopConfig, RequireMfaLayer, Rule, Sender};

const ISSUER: &str = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/";
const AUDIENCE: &str = "https://api.partnercenter.microsoft.com";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::var("LOAD_MODE").unwrap_or_else(|_| "layer".into());
    let dir = std::path::PathBuf::from(
        std::env::var("LOAD_DIR").unwrap_or_else(|_| "target/load".into()),
    );
    if mode == "mint" {
        let count = std::env::var("LOAD_TOKENS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        return mint(&dir, count);
    }
    let addr = std::env::var("LOAD_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(&mode, &dir, &addr))
}

async fn customers() -> axum::Json<serde_json::Value> {
    axum::Json(json!({"customers": [{"id": "contoso"}, {"id": "fabrikam"}]}))
}

async fn serve(
    mode: &str,
    dir: &std::path::Path,
    addr: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // The layer fetches its keys from this same server, as from an issuer;
    // `/stats` (outside the layer) reports how many fetches it made.
    let jwks: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("jwks.json"))?)?;
    let live =
        (mode == "layer-rotation" || mode == "layer-outage").then(|| dir.join("live-jwks.json"));
    let layer = |cache: u64| -> Result<RequireMfaLayer, Box<dyn std::error::Error>> {
        let builder = RequireMfaLayer::builder()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .jwks_url(format!("http://{local}/jwks"))
            .allow_http_loopback(true)
            .token_cache_bytes(cache);
        let builder = if mode == "layer-outage" {
            builder
                .refresh_interval(std::time::Duration::from_secs(1))
                .refresh_cooldown(std::time::Duration::from_secs(1))
        } else {
            builder
        };
        let builder = if mode == "layer-dpop" {
            builder
                .dpop(
                    DpopConfig::new()
                        .public_origin(origin())
                        .window(std::time::Duration::from_secs(3600))
                        .replay_capacity(10_000_000),
                )
                .rule(Rule::mfa("/v1/**").sender(Sender::DpopAllowed))
        } else {
            builder.rule(Rule::mfa("/v1/**"))
        };
        // The key set and the fetch counter are served by this same Router.
        let builder = builder
            .rule(Rule::public("/jwks"))
            .rule(Rule::public("/stats"));
        Ok(builder.build()?)
    };
    let mut fetches: Option<RequireMfaLayer> = None;
    let guard = match mode {
        "bare" | "noop" => None,
        "layer" | "layer-nocache" | "layer-dpop" | "layer-rotation" | "layer-outage" => {
            let cache = if mode != "layer-nocache" {
                tower_mfa::DEFAULT_CACHE_BYTES
            } else {
                0
            };
            let layer = layer(cache)?;
            fetches = Some(layer.clone());
            Some(layer)
        }
        other => return Err(format!("unknown LOAD_MODE {other}").into()),
    };
    let app = Router::new()
        .route("/v1/customers", get(customers))
        .route(
            "/jwks",
            get(move || {
                use axum::response::IntoResponse;
                let answer = match &live {
                    None => axum::Json(jwks.clone()).into_response(),
                    Some(path) => match std::fs::read(path) {
                        Ok(body) => (
                            [(axum::http::header::CONTENT_TYPE, "application/json")],
                            body,
                        )
                            .into_response(),
                        Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    },
                };
                std::future::ready(answer)
            }),
        )
        .route(
            "/stats",
            get(move || {
                let n = fetches.as_ref().map_or(0, RequireMfaLayer::key_fetches);
                std::future::ready(format!("{{\"key_fetches\":{n}}}"))
            }),
        );
    println!("{mode} listening on {local}");
    match (mode, guard) {
        ("noop", _) => {
            let noop = MapRequestLayer::new(|req: axum::extract::Request| req);
            let service = ServiceExt::<axum::extract::Request>::into_make_service(noop.layer(app));
            axum::serve(listener, service).await?;
        }
        // `into_axum()`: responses in axum's own body type, as `serve` wants.
        (_, Some(guard)) => {
            let guarded = guard.into_axum().layer(app);
            let service = ServiceExt::<axum::extract::Request>::into_make_service(guarded);
            axum::serve(listener, service).await?;
        }
        (_, None) => axum::serve(listener, app).await?,
    }
    Ok(())
}

fn mint(dir: &std::path::Path, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| "keygen")?;
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "load", "alg": "RS256", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e)}]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string())?;
    let pair2 = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| "keygen")?;
    let public2 = RsaPublicKeyComponents::<Vec<u8>>::from(pair2.public_key());
    let jwk2 = json!({"kty": "RSA", "kid": "load2", "alg": "RS256", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(&public2.n), "e": URL_SAFE_NO_PAD.encode(&public2.e)});
    std::fs::write(dir.join("jwks1.json"), jwks.to_string())?;
    std::fs::write(
        dir.join("jwks12.json"),
        json!({"keys": [jwks["keys"][0].clone(), jwk2.clone()]}).to_string(),
    )?;
    std::fs::write(dir.join("jwks2.json"), json!({"keys": [jwk2]}).to_string())?;
    let der = pair.public_key().as_der().map_err(|_| "der")?;
    let b64 = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    std::fs::write(
        dir.join("public.pem"),
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        ),
    )?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let token_by =
        |pair: &RsaKeyPair, kid: &str, i: usize| -> Result<String, Box<dyn std::error::Error>> {
            let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
            let claims = json!({
                "aud": AUDIENCE, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + 7200,
                "acr": "1", "amr": ["pwd", "mfa"], "appid": "23ec45a3-5127-4185-9eff-c8887839e6ab",
                "name": "Isaiah Williams", "oid": "4988e250-5aee-482a-9136-6d269cb755c0",
                "scp": "user_impersonation", "sub": format!("user-{i}"),
                "tid": "df845f1a-7b35-40a2-ba78-6481de91f8ae",
                "upn": "Isaiah.Williams@testtestpartner.onmicrosoft.com", "ver": "1.0",
            });
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mut sig = vec![0; pair.public_modulus_len()];
            pair.sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "sign")?;
            Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
        };
    let token = |i: usize| token_by(&pair, "load", i);
    std::fs::write(dir.join("token.txt"), token(0)?)?;
    std::fs::write(dir.join("token2.txt"), token_by(&pair2, "load2", 0)?)?;
    let proofs = std::env::var("LOAD_PROOFS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0usize);
    if proofs > 0 {
        let client =
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| "keygen")?;
        let point = client.public_key().as_ref().to_vec();
        let (x, y) = (
            URL_SAFE_NO_PAD.encode(&point[1..33]),
            URL_SAFE_NO_PAD.encode(&point[33..65]),
        );
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let jkt = URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()));
        let bound = bound_token(&token(0)?, &jkt, &pair)?;
        let ath = URL_SAFE_NO_PAD.encode(digest(&SHA256, bound.as_bytes()));
        let header = URL_SAFE_NO_PAD.encode(
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": x, "y": y}})
                .to_string(),
        );
        let htu = format!("{}/v1/customers", origin());
        let mut out = String::with_capacity(proofs * 700);
        for i in 0..proofs {
            let claims = json!({"jti": format!("load-{i}"), "htm": "GET", "htu": htu, "iat": now, "ath": ath});
            let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
            let sig = client
                .sign(&SystemRandom::new(), input.as_bytes())
                .map_err(|_| "sign")?;
            out.push_str(&format!(
                "{input}.{}\n",
                URL_SAFE_NO_PAD.encode(sig.as_ref())
            ));
        }
        std::fs::write(dir.join("dpop_token.txt"), bound)?;
        std::fs::write(dir.join("dpop_proofs.txt"), out)?;
    }
    let tokens = (1..=count).map(token).collect::<Result<Vec<_>, _>>()?;
    std::fs::write(dir.join("tokens.txt"), tokens.join("\n") + "\n")?;
    println!("wrote keys and {count} tokens to {}", dir.display());
    Ok(())
}

/// The origin DPoP proofs name (`LOAD_ORIGIN`).
fn origin() -> String {
    std::env::var("LOAD_ORIGIN").unwrap_or_else(|_| "http://127.0.0.1:18080".into())
}

/// `token` re-signed with `cnf.jkt` added to its claims.
fn bound_token(
    token: &str,
    jkt: &str,
    pair: &RsaKeyPair,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return Err("token".into());
    };
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    claims["cnf"] = json!({"jkt": jkt});
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "sign")?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}
