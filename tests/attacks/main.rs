//! The hostile-input suite (issue 4): RFC 8725 attacks, malformed requests
//! and JWKS abuse, each answered exactly as the answers table says and none of
//! them ever reaching the inner service.
//!
//! Each family is a table of cases (name, request, exact status and
//! `WWW-Authenticate`) run through one layer over the in-process JWKS
//! server; every row also checks that the inner service was not called.
//! Controls (the same tokens done right) pass, so a table cannot go green by
//! refusing everything. JWKS abuse needs its own issuer per scenario: see
//! `jwks.rs`.

#[path = "../support/dpop.rs"]
mod dpop_client;
#[path = "../support/mint.rs"]
mod mint;
#[path = "../support/harness.rs"]
mod shared;

mod algorithm;
mod claims;
mod dpop;
mod encoding;
mod harness;
mod header;
mod jwks;
mod signature;
mod transport;

use std::collections::HashSet;

use harness::{Attacker, Case, Expect, Fixture, run_table};

async fn run(cases: Vec<Case>) -> (Fixture, usize) {
    let fixture = Fixture::start().await;
    let hostile = run_table(&fixture.layer, cases).await;
    (fixture, hostile)
}

#[tokio::test]
async fn algorithm_attacks() {
    let mut cases = algorithm::cases();
    cases.extend(algorithm::controls());
    let (fixture, hostile) = run(cases).await;
    assert!(hostile >= 40, "{hostile}");
    // No hostile token made the layer fetch keys again.
    assert_eq!(fixture.server.jwks_hits(), 1);
}

#[tokio::test]
async fn signature_attacks() {
    let mut cases = signature::cases();
    cases.extend(algorithm::controls());
    let (fixture, _) = run(cases).await;
    assert_eq!(fixture.server.jwks_hits(), 1);
}

#[tokio::test]
async fn encoding_attacks() {
    let mut cases = encoding::cases();
    cases.extend(transport::controls());
    run(cases).await;
}

#[tokio::test]
async fn header_attacks_and_embedded_keys_are_never_fetched() {
    let attacker = Attacker::start("127.0.0.1").await;
    let mut cases = header::cases(&attacker);
    cases.extend(algorithm::controls());
    let (fixture, _) = run(cases).await;
    // jku / x5u / jwk / x5c pointed at the attacker: it heard nothing.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(attacker.connections(), 0, "the attacker was contacted");
    // Unknown kids trigger at most one refresh inside the cooldown.
    assert!(
        fixture.server.jwks_hits() <= 2,
        "{}",
        fixture.server.jwks_hits()
    );
}

#[tokio::test]
async fn claim_attacks() {
    let mut cases = claims::cases();
    cases.extend(algorithm::controls());
    run(cases).await;
}

#[tokio::test]
async fn amr_attacks_on_an_mfa_route() {
    let mut cases = claims::amr_cases();
    cases.extend(algorithm::controls());
    run(cases).await;
}

#[tokio::test]
async fn transport_attacks() {
    let mut cases = transport::cases();
    cases.extend(transport::controls());
    run(cases).await;
}

/// The tables hold at least 80 distinct hostile cases, with unique names.
#[tokio::test]
async fn tables_hold_at_least_80_distinct_hostile_cases() {
    let attacker = Attacker::start("127.0.0.1").await;
    let families = [
        ("algorithm", algorithm::cases()),
        ("signature", signature::cases()),
        ("encoding", encoding::cases()),
        ("header", header::cases(&attacker)),
        ("claims", claims::cases()),
        ("amr", claims::amr_cases()),
        ("http", transport::cases()),
    ];
    for (family, cases) in &families {
        println!("{family}: {} cases", cases.len());
    }
    let all: Vec<Case> = families.into_iter().flat_map(|(_, cases)| cases).collect();
    let mut names = HashSet::new();
    for case in &all {
        assert!(
            names.insert(case.name.as_str()),
            "duplicate case {}",
            case.name
        );
        assert_ne!(case.expect, Expect::Pass, "{} is a control", case.name);
    }
    let mut requests = HashSet::new();
    for case in &all {
        let key = format!("{} {:?} {}", case.uri, case.headers, case.body);
        assert!(
            requests.insert(key),
            "{} repeats another case's request",
            case.name
        );
    }
    println!("{} hostile cases", all.len());
    assert!(all.len() >= 80, "{}", all.len());
}

/// With `max_lifetime` unbounded, an `exp` past what a `Duration` holds is
/// still a valid token, and must not panic the layer (token cache TTL).
#[tokio::test]
async fn absurd_expiry_under_an_unbounded_lifetime_does_not_panic() {
    use tower_mfa::RequireMfaLayer;
    let k = harness::keys();
    let layer = RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .static_jwks(k.jwks().to_string().as_bytes())
        .expect("jwks")
        .max_lifetime(std::time::Duration::MAX)
        .build()
        .expect("layer");
    for exp in [
        18_446_744_073_709_551_616.0 + mint::now() as f64,
        1.8e19,
        1e300,
    ] {
        let claims = harness::with(harness::mfa_claims(), "exp", serde_json::json!(exp));
        let expect = if exp > 1e20 {
            Expect::InvalidToken
        } else {
            Expect::Pass
        };
        let case = Case::bearer(format!("exp {exp}"), &k.token(&claims), expect);
        // Twice: the second request is answered from the token cache.
        run_table(&layer, vec![case]).await;
        run_table(
            &layer,
            vec![Case::bearer(
                format!("exp {exp} again"),
                &k.token(&claims),
                expect,
            )],
        )
        .await;
    }
}

/// The DPoP family: at least 30 hostile rows, each answered with its exact
/// challenges without reaching the inner service, and passing controls.
#[tokio::test]
async fn dpop_attacks() {
    let clock = dpop_client::clock();
    let layer = dpop_client::layer(&clock);
    let setup = dpop::Setup::new(mint::now());
    let rows = dpop::rows(&setup);
    let hostile = rows.iter().filter(|r| r.challenges.is_some()).count();
    assert!(hostile >= 30, "{hostile}");
    let mut names = HashSet::new();
    let mut failures = Vec::new();
    for row in rows.into_iter().chain(dpop::controls(&setup)) {
        assert!(names.insert(row.name), "duplicate row {}", row.name);
        let proofs: Vec<&str> = row.proofs.iter().map(String::as_str).collect();
        let req = dpop_client::request(
            row.method,
            dpop_client::REQUIRED,
            row.authorization.as_deref(),
            &proofs,
        );
        let got = dpop_client::send(&layer, req).await;
        let ok = match &row.challenges {
            None => got.status == http::StatusCode::OK && got.reached,
            Some(want) => {
                got.status == http::StatusCode::UNAUTHORIZED
                    && !got.reached
                    && got.challenges == *want
            }
        };
        if !ok {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}",
                row.name, row.challenges
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("dpop: {hostile} hostile rows");
}
