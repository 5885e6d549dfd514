//! DPoP (RFC 9449) through the layer: bound tokens with proofs pass, the
//! sender setting of each rule, downgrades (also from the token cache),
//! report-only, server nonces, gRPC answers, the exact challenges and the
//! `build()` errors.

use std::time::Duration;

use crate::dpop_client::*;
use crate::mint;
use http::StatusCode;
use serde_json::json;
use tower_mfa::{ConfigError, DpopConfig, RequireMfaLayer, Rule, Sender};

fn secs(clock: &tower_mfa::clock::ManualClock) -> u64 {
    use tower_mfa::clock::Clock;
    clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

#[tokio::test]
async fn a_bound_token_with_its_proof_passes_and_the_proof_cannot_be_replayed() {
    let clock = clock();
    let layer = layer(&clock);
    let client = Client::es256();
    let token = token(Some(&client.jkt()));
    let proof = client.proof("GET", REQUIRED, &token, secs(&clock));
    let auth = format!("DPoP {token}");
    let a = send(&layer, request("GET", REQUIRED, Some(&auth), &[&proof])).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert!(a.reached);
    // The same proof again: replayed.
    let a = send(&layer, request("GET", REQUIRED, Some(&auth), &[&proof])).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.challenges, [DPOP_INVALID_PROOF]);
    assert!(!a.reached);
    // A fresh proof for the same token (now in the token cache) passes.
    let proof = client.proof("GET", REQUIRED, &token, secs(&clock));
    let a = send(&layer, request("GET", REQUIRED, Some(&auth), &[&proof])).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    // The scheme is case-insensitive; the layer's clones share one replay cache.
    let proof = client.proof("GET", ALLOWED, &token, secs(&clock));
    let a = send(
        &layer.clone(),
        request("GET", ALLOWED, Some(&format!("dpop {token}")), &[&proof]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
}

#[tokio::test]
async fn every_supported_client_key_type_passes_and_ed25519_is_read_as_eddsa() {
    let clock = clock();
    let layer = layer(&clock);
    for client in [
        Client::es256(),
        Client::new(mint::TestKey::es384("c")),
        Client::new(mint::TestKey::ed25519("c")),
        Client::new(mint::TestKey::ps256("c")),
    ] {
        let token = token(Some(&client.jkt()));
        let proof = client.proof("POST", REQUIRED, &token, secs(&clock));
        let a = send(&layer, dpop_request("POST", REQUIRED, &token, &proof)).await;
        assert_eq!(a.status, StatusCode::OK, "{}: {a:?}", client.key.alg);
    }
    let client = Client::new(mint::TestKey::ed25519("c"));
    let token = token(Some(&client.jkt()));
    let mut header = client.header();
    header["alg"] = json!("Ed25519");
    let htu = format!("{ORIGIN}{REQUIRED}");
    let proof = client.sign(&header, &claims("GET", &htu, &token, secs(&clock)));
    let a = send(&layer, dpop_request("GET", REQUIRED, &token, &proof)).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
}

#[tokio::test]
async fn sender_settings_answer_bearer_and_dpop_requests() {
    let clock = clock();
    let layer = layer(&clock);
    let client = Client::es256();
    let bound = token(Some(&client.jkt()));
    let plain = token(None);
    let now = secs(&clock);

    // Bearer rule (the default): a DPoP scheme is no token, as before.
    let proof = client.proof("GET", BEARER_ONLY, &bound, now);
    let a = send(&layer, dpop_request("GET", BEARER_ONLY, &bound, &proof)).await;
    assert_eq!(
        (a.status, a.challenges.as_slice()),
        (StatusCode::UNAUTHORIZED, &["Bearer".to_owned()][..])
    );
    let a = send(
        &layer,
        request("GET", BEARER_ONLY, Some(&format!("Bearer {plain}")), &[]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);

    // Required: no token at all, or a plain bearer token.
    let a = send(&layer, request("GET", REQUIRED, None, &[])).await;
    assert_eq!(
        (a.status, a.challenges.clone()),
        (StatusCode::UNAUTHORIZED, vec![DPOP_BARE.to_owned()])
    );
    let a = send(
        &layer,
        request("GET", REQUIRED, Some(&format!("Bearer {plain}")), &[]),
    )
    .await;
    assert_eq!(
        (a.status, a.challenges.clone()),
        (StatusCode::UNAUTHORIZED, vec![DPOP_BARE.to_owned()])
    );
    assert!(!a.reached);

    // Allowed: both challenges; a plain bearer token passes.
    let a = send(&layer, request("GET", ALLOWED, None, &[])).await;
    assert_eq!(a.challenges, ["Bearer", DPOP_BARE]);
    let a = send(
        &layer,
        request("GET", ALLOWED, Some(&format!("Bearer {plain}")), &[]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    // A wrong proof where both are accepted: bare Bearer beside the DPoP error.
    let a = send(
        &layer,
        request("GET", ALLOWED, Some(&format!("DPoP {bound}")), &[]),
    )
    .await;
    assert_eq!(a.challenges, ["Bearer", DPOP_INVALID_PROOF]);

    // An unbound token sent with the DPoP scheme.
    let proof = client.proof("GET", REQUIRED, &plain, now);
    let a = send(&layer, dpop_request("GET", REQUIRED, &plain, &proof)).await;
    assert_eq!(a.challenges, [BEARER_INVALID_TOKEN, DPOP_BARE]);
}

#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused_everywhere_also_from_the_cache() {
    let clock = clock();
    let layer = layer(&clock);
    let client = Client::es256();
    let bound = token(Some(&client.jkt()));
    // Into the token cache through a correct DPoP request first.
    let proof = client.proof("GET", REQUIRED, &bound, secs(&clock));
    let a = send(&layer, dpop_request("GET", REQUIRED, &bound, &proof)).await;
    assert_eq!(a.status, StatusCode::OK);
    for path in [REQUIRED, ALLOWED, BEARER_ONLY] {
        let a = send(
            &layer,
            request("GET", path, Some(&format!("Bearer {bound}")), &[]),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(a.challenges[0], BEARER_INVALID_TOKEN, "{path}");
        assert!(!a.reached);
    }
    // A `cnf` of the wrong shape is a malformed token.
    let mut claims = mint::user_claims(&["mfa"]);
    claims["cnf"] = json!({"jkt": 7});
    let odd = mint::rsa_key().token(&claims);
    let a = send(
        &layer,
        request("GET", BEARER_ONLY, Some(&format!("Bearer {odd}")), &[]),
    )
    .await;
    assert_eq!(a.challenges, [BEARER_INVALID_TOKEN]);
}

#[tokio::test]
async fn report_only_lets_a_missing_proof_through_but_never_a_wrong_one() {
    let clock = clock();
    let layer = RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
        .expect("jwks")
        .clock(clock.clone())
        .dpop(DpopConfig::new().public_origin(ORIGIN))
        .rule(Rule::mfa("/**").sender(Sender::DpopRequired).report_only())
        .build()
        .expect("layer");
    let client = Client::es256();
    let bound = token(Some(&client.jkt()));
    let plain = token(None);
    let a = send(
        &layer,
        request("GET", "/x", Some(&format!("Bearer {plain}")), &[]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "missing proof is reported only");
    // Downgrade, wrong proof, replay: refused even in report-only.
    let a = send(
        &layer,
        request("GET", "/x", Some(&format!("Bearer {bound}")), &[]),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let wrong = client.proof("GET", "/y", &bound, secs(&clock));
    let a = send(&layer, dpop_request("GET", "/x", &bound, &wrong)).await;
    assert_eq!(
        (a.status, a.challenges.clone()),
        (
            StatusCode::UNAUTHORIZED,
            vec![DPOP_INVALID_PROOF.to_owned()]
        )
    );
    let good = client.proof("GET", "/x", &bound, secs(&clock));
    let a = send(&layer, dpop_request("GET", "/x", &bound, &good)).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(&layer, dpop_request("GET", "/x", &bound, &good)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "replay");
}

#[tokio::test]
async fn server_nonces_are_asked_for_rotated_and_shared_by_replicas() {
    let clock = clock();
    let secret = b"a shared secret of at least thirty-two bytes".to_vec();
    let config = || {
        DpopConfig::new()
            .public_origin(ORIGIN)
            .nonces(secret.clone(), Duration::from_secs(300))
    };
    let one = builder(config(), &clock).build().expect("layer");
    let two = builder(config(), &clock).build().expect("layer");
    let client = Client::es256();
    let bound = token(Some(&client.jkt()));
    let auth = format!("DPoP {bound}");
    let now = secs(&clock);
    let a = send(
        &one,
        request(
            "GET",
            REQUIRED,
            Some(&auth),
            &[&client.proof("GET", REQUIRED, &bound, now)],
        ),
    )
    .await;
    assert_eq!(
        (a.status, a.challenges.clone()),
        (StatusCode::UNAUTHORIZED, vec![DPOP_USE_NONCE.to_owned()])
    );
    let nonce = a.nonce.expect("DPoP-Nonce");
    let with_nonce = |nonce: &str, iat: u64| {
        let mut c = claims("GET", &format!("{ORIGIN}{REQUIRED}"), &bound, iat);
        c["nonce"] = json!(nonce);
        client.sign(&client.header(), &c)
    };
    // The other replica accepts the nonce the first one issued.
    let a = send(
        &two,
        request("GET", REQUIRED, Some(&auth), &[&with_nonce(&nonce, now)]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    // A forged nonce is refused; after two rotations the old one is too.
    let a = send(
        &two,
        request(
            "GET",
            REQUIRED,
            Some(&auth),
            &[&with_nonce("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", now)],
        ),
    )
    .await;
    assert_eq!(a.challenges, [DPOP_USE_NONCE]);
    clock.advance(Duration::from_secs(600));
    let later = secs(&clock);
    let a = send(
        &one,
        request("GET", REQUIRED, Some(&auth), &[&with_nonce(&nonce, later)]),
    )
    .await;
    assert_eq!(a.challenges, [DPOP_USE_NONCE]);
    assert_ne!(a.nonce.as_deref(), Some(nonce.as_str()));
}

#[tokio::test]
async fn forwarded_headers_are_read_only_when_trusted() {
    let clock = clock();
    let client = Client::es256();
    let bound = token(Some(&client.jkt()));
    let htu = "https://edge.example.org/v1/payments";
    let proof = || client.sign(&client.header(), &claims("GET", htu, &bound, secs(&clock)));
    let forwarded = |proof: &str| {
        let mut req = dpop_request("GET", REQUIRED, &bound, proof);
        req.headers_mut()
            .insert("x-forwarded-proto", "https".parse().expect("value"));
        req.headers_mut().insert(
            "x-forwarded-host",
            "edge.example.org".parse().expect("value"),
        );
        req
    };
    let untrusted = layer(&clock);
    let a = send(&untrusted, forwarded(&proof())).await;
    assert_eq!(a.challenges, [DPOP_INVALID_PROOF]);
    let trusted = builder(DpopConfig::new().trust_forwarded_headers(true), &clock)
        .build()
        .expect("layer");
    let a = send(&trusted, forwarded(&proof())).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    // Trusted forwarding without the headers and without an origin: refused.
    let a = send(&trusted, dpop_request("GET", REQUIRED, &bound, &proof())).await;
    assert_eq!(a.challenges, [DPOP_INVALID_PROOF]);
}

#[tokio::test]
async fn a_full_replay_cache_refuses_new_proofs_instead_of_evicting() {
    let clock = clock();
    let layer = builder(
        DpopConfig::new().public_origin(ORIGIN).replay_capacity(2),
        &clock,
    )
    .build()
    .expect("layer");
    let client = Client::es256();
    let bound = token(Some(&client.jkt()));
    let auth = format!("DPoP {bound}");
    let now = secs(&clock);
    let first = client.proof("GET", REQUIRED, &bound, now);
    for expect in [StatusCode::OK, StatusCode::UNAUTHORIZED] {
        let a = send(&layer, request("GET", REQUIRED, Some(&auth), &[&first])).await;
        assert_eq!(a.status, expect);
    }
    let a = send(
        &layer,
        request(
            "GET",
            REQUIRED,
            Some(&auth),
            &[&client.proof("GET", REQUIRED, &bound, now)],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(
        &layer,
        request(
            "GET",
            REQUIRED,
            Some(&auth),
            &[&client.proof("GET", REQUIRED, &bound, now)],
        ),
    )
    .await;
    assert_eq!(
        (a.status, a.challenges.clone()),
        (
            StatusCode::UNAUTHORIZED,
            vec![DPOP_INVALID_PROOF.to_owned()]
        )
    );
    // The first proof is still remembered (not evicted).
    let a = send(&layer, request("GET", REQUIRED, Some(&auth), &[&first])).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // Once the window passed, entries expire and new proofs pass again
    // (a token valid for an hour, a 60 s window).
    clock.advance(Duration::from_secs(200));
    let a = send(
        &layer,
        request(
            "GET",
            REQUIRED,
            Some(&auth),
            &[&client.proof("GET", REQUIRED, &bound, secs(&clock))],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
}

#[tokio::test]
async fn grpc_answers_carry_the_dpop_challenge() {
    let clock = clock();
    let layer = layer(&clock);
    let mut req = request("POST", REQUIRED, None, &[]);
    req.headers_mut()
        .insert("content-type", "application/grpc".parse().expect("value"));
    let a = send(&layer, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.challenges, [DPOP_BARE]);
    let mut req = request("POST", ALLOWED, None, &[]);
    req.headers_mut()
        .insert("content-type", "application/grpc".parse().expect("value"));
    let a = send(&layer, req).await;
    assert_eq!(a.challenges, [format!("Bearer, {DPOP_BARE}")]);
}

#[test]
fn dpop_rules_need_an_origin_or_trusted_forwarding() {
    let clock = clock();
    let err = |b: tower_mfa::Builder| match b.build() {
        Err(ConfigError::Invalid { setting, .. }) => setting,
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("built"),
    };
    assert_eq!(err(builder(DpopConfig::new(), &clock)), "rules[0].sender");
    let no_dpop = RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
        .expect("jwks")
        .rule(Rule::mfa("/a").sender(Sender::DpopAllowed));
    assert_eq!(err(no_dpop), "rules[0].sender");
    assert_eq!(
        err(builder(
            DpopConfig::new().public_origin("https://api.example.com/v1"),
            &clock
        )),
        "dpop.public_origin"
    );
    assert_eq!(
        err(builder(
            DpopConfig::new()
                .public_origin(ORIGIN)
                .nonces(b"short".to_vec(), Duration::from_secs(60)),
            &clock
        )),
        "dpop.nonce_secret"
    );
    assert_eq!(
        err(builder(
            DpopConfig::new().public_origin(ORIGIN).replay_capacity(0),
            &clock
        )),
        "dpop.replay_capacity"
    );
    assert!(
        builder(DpopConfig::new().trust_forwarded_headers(true), &clock)
            .build()
            .is_ok()
    );
}

#[cfg(feature = "config-file")]
#[tokio::test]
async fn a_dpop_rule_from_toml() {
    let toml = format!(
        r#"
issuer = "{}"
audiences = ["{}"]

[dpop]
public_origin = "{ORIGIN}"
window_seconds = 30
replay_capacity = 1000

[[rules]]
pattern = "{REQUIRED}"
access = "mfa"
sender = "dpop_required"
"#,
        mint::ISSUER,
        mint::AUDIENCE
    );
    let clock = clock();
    let layer = tower_mfa::Builder::from_toml_str(&toml)
        .expect("toml")
        .static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
        .expect("jwks")
        .clock(clock.clone())
        .build()
        .expect("layer");
    let client = Client::es256();
    let bound = token(Some(&client.jkt()));
    let plain = token(None);
    let proof = client.proof("GET", REQUIRED, &bound, secs(&clock));
    let a = send(&layer, dpop_request("GET", REQUIRED, &bound, &proof)).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let a = send(
        &layer,
        request("GET", REQUIRED, Some(&format!("Bearer {plain}")), &[]),
    )
    .await;
    assert_eq!(a.challenges, [DPOP_BARE]);
    // The window is 30 s here.
    let old = client.proof("GET", REQUIRED, &bound, secs(&clock) - 45);
    let a = send(&layer, dpop_request("GET", REQUIRED, &bound, &old)).await;
    assert_eq!(a.challenges, [DPOP_INVALID_PROOF]);

    let bad = |extra: &str| {
        tower_mfa::Builder::from_toml_str(&format!(
            "issuer = \"{}\"\naudiences = [\"a\"]\njwks_url = \"https://idp.example.com/keys\"\n{extra}",
            mint::ISSUER
        ))
        .and_then(tower_mfa::Builder::build)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    };
    assert!(
        bad("[[rules]]\npattern = \"/a\"\naccess = \"mfa\"\nsender = \"dpop\"\n").contains("dpop")
    );
    assert!(
        bad("[[rules]]\npattern = \"/a\"\naccess = \"mfa\"\nsender = \"dpop_allowed\"\n")
            .contains("rules[0].sender")
    );
    assert!(
        bad("[dpop]\nnonce_secret_env = \"TOWER_MFA_TEST_SURELY_UNSET\"\n")
            .contains("dpop.nonce_secret_env")
    );
    assert!(bad("[dpop]\norigin = \"https://a\"\n").contains("origin"));
}

/// `inspect` explains a DPoP-bound token and, given a proof, its checks.
#[cfg(feature = "cli")]
#[test]
fn inspect_explains_the_binding_and_the_proof() {
    use tower_mfa::inspect::{Options, Verdict, inspect};
    let clock = clock();
    let client = Client::es256();
    let bound = token(Some(&client.jkt()));
    let report = inspect(&bound, &Options::default()).expect("report");
    let dpop = report.dpop.clone().expect("bound");
    assert_eq!(dpop.bound_to.as_deref(), Some(client.jkt().as_str()));
    assert!(dpop.proof_checks.is_empty());
    assert!(
        report
            .to_string()
            .contains(&format!("bound to key {}", client.jkt()))
    );
    assert!(
        inspect(&token(None), &Options::default())
            .expect("report")
            .dpop
            .is_none()
    );

    let mut opts = Options::default();
    opts.dpop_proof = Some(client.proof("GET", REQUIRED, &bound, secs(&clock)));
    let report = inspect(&bound, &opts).expect("report");
    let checks = &report.dpop.as_ref().expect("dpop").proof_checks;
    let names: Vec<_> = checks.iter().map(|c| c.name).collect();
    assert_eq!(names, ["proof", "cnf.jkt", "ath", "iat", "jti", "htm/htu"]);
    assert!(checks.iter().all(|c| c.result.is_ok()), "{checks:?}");
    assert_eq!(report.verdict, Verdict::Pass);
    assert!(
        report
            .to_string()
            .contains("https://api.example.com/v1/payments")
    );

    // Another key's proof; a proof for another token; a broken proof.
    let other = Client::es256();
    opts.dpop_proof = Some(other.proof("GET", REQUIRED, &bound, secs(&clock)));
    let report = inspect(&bound, &opts).expect("report");
    assert_eq!(
        report.verdict,
        Verdict::Refused(tower_mfa::Reason::DpopKeyMismatch)
    );
    opts.dpop_proof = Some(client.proof("GET", REQUIRED, "another token", secs(&clock)));
    let report = inspect(&bound, &opts).expect("report");
    assert_eq!(
        report.verdict,
        Verdict::Refused(tower_mfa::Reason::DpopTokenHashMismatch)
    );
    opts.dpop_proof = Some("not.a.proof".into());
    let report = inspect(&bound, &opts).expect("report");
    assert_eq!(
        report.verdict,
        Verdict::Refused(tower_mfa::Reason::DpopMalformedProof)
    );
}
