//! Replays every committed fuzz input (fuzz/corpus/<target>/*) through the
//! same `tower_mfa::__fuzz` entry points and checks as the fuzz targets, so
//! CI guards every input the fuzzers found interesting (and every fixed
//! crash, once copied there) without running the fuzzers. Long fuzzing runs
//! are `scripts/fuzz.sh`, outside CI.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response, StatusCode};
use tower::{Layer, ServiceExt};
use tower_mfa::__fuzz;
use tower_mfa::clock::ManualClock;
use tower_mfa::{RequireMfaLayer, Rule};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
}

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir().join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no seeds", dir.display());
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read");
            (path, bytes)
        })
        .collect()
}

/// Runs `check` on every input of `target`, naming the file on a panic.
fn replay(target: &str, check: impl Fn(&[u8])) -> usize {
    let inputs = inputs(target);
    for (path, bytes) in &inputs {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(bytes)));
        if let Err(panic) = result {
            eprintln!("fuzz input {} panicked", path.display());
            std::panic::resume_unwind(panic);
        }
    }
    inputs.len()
}

#[test]
fn every_corpus_directory_has_a_replay() {
    let known = [
        "dpop_proof",
        "match_route",
        "parse_authorization",
        "parse_jwks",
        "parse_token",
        "signed_token",
        "strict_json",
    ];
    for entry in std::fs::read_dir(corpus_dir()).expect("fuzz/corpus") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            known.contains(&name.as_ref()),
            "fuzz/corpus/{name} has no replay in tests/it/fuzz_corpus.rs"
        );
    }
}

/// As fuzz/fuzz_targets/dpop_proof.rs; the valid seeds parse, and every
/// accepted proof is a three-segment `dpop+jwt`.
#[test]
fn dpop_proof_corpus() {
    let mut accepted = 0;
    replay("dpop_proof", |data| {
        if __fuzz::parse_dpop_proof(data).is_ok() {
            assert_eq!(data.iter().filter(|b| **b == b'.').count(), 2);
        }
    });
    for name in ["valid_es256", "valid_ed25519", "valid_eddsa"] {
        let path = corpus_dir().join("dpop_proof").join(name);
        let bytes = std::fs::read(&path).expect("seed");
        assert_eq!(__fuzz::parse_dpop_proof(&bytes), Ok(()), "{name}");
        accepted += 1;
    }
    for name in [
        "alg_none",
        "alg_hs256",
        "private_jwk",
        "jwk_string",
        "typ_jwt",
        "dup_member",
    ] {
        let bytes = std::fs::read(corpus_dir().join("dpop_proof").join(name)).expect("seed");
        assert!(__fuzz::parse_dpop_proof(&bytes).is_err(), "{name}");
    }
    assert_eq!(accepted, 3);
}

#[test]
fn parse_token_corpus() {
    replay("parse_token", |data| {
        if let Ok(token) = std::str::from_utf8(data) {
            let _ = __fuzz::parse_token(token);
        }
    });
}

#[test]
fn parse_authorization_corpus() {
    replay("parse_authorization", |data| {
        if let Ok(Some(token)) = __fuzz::parse_authorization(data) {
            assert!(!token.is_empty());
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b',')
            );
            assert!(data.ends_with(token.as_bytes()));
        }
    });
}

#[test]
fn parse_jwks_corpus() {
    replay("parse_jwks", |data| {
        if let Some(n) = __fuzz::parse_jwks(data) {
            assert!(n <= 256);
        }
    });
}

/// As fuzz/fuzz_targets/match_route.rs: a plain backtracking matcher
/// written from the documented rules is the reference.
mod route_reference {
    #[derive(PartialEq)]
    pub enum Seg<'a> {
        Lit(&'a str),
        One,
        Any,
    }

    pub fn segments(rest: &str) -> Vec<&str> {
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        }
    }

    pub fn parse(pattern: &str) -> Option<Vec<Seg<'_>>> {
        let rest = pattern.strip_prefix('/')?;
        let mut out = Vec::new();
        for s in segments(rest) {
            out.push(match s {
                "*" => Seg::One,
                "**" => Seg::Any,
                s if s.contains('*') => return None,
                s => Seg::Lit(s),
            });
        }
        (out.iter().filter(|s| **s == Seg::Any).count() <= 2).then_some(out)
    }

    pub fn matches(pattern: &[Seg<'_>], path: &[&str]) -> bool {
        match pattern.split_first() {
            None => path.is_empty(),
            Some((Seg::Any, rest)) => (0..=path.len()).any(|i| matches(rest, &path[i..])),
            Some((Seg::One, rest)) => {
                path.first().is_some_and(|s| !s.is_empty()) && matches(rest, &path[1..])
            }
            Some((Seg::Lit(lit), rest)) => path.first() == Some(lit) && matches(rest, &path[1..]),
        }
    }
}

#[test]
fn match_route_corpus() {
    replay("match_route", |data| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let (pattern, path) = text.split_once('\n').unwrap_or((text, "/"));
        let got = __fuzz::match_route(pattern, path);
        let parsed = route_reference::parse(pattern);
        assert_eq!(got.is_some(), parsed.is_some(), "parse of {pattern:?}");
        if let (Some(got), Some(parsed)) = (got, parsed) {
            let expected = path.strip_prefix('/').is_some_and(|rest| {
                route_reference::matches(&parsed, &route_reference::segments(rest))
            });
            assert_eq!(got, expected, "{pattern:?} on {path:?}");
        }
        let case = __fuzz::RouteCase::parse(text);
        let routes = __fuzz::Routes::new(case.rules).expect("a few rules");
        let headers = http::HeaderMap::new();
        assert_eq!(
            routes.select(&case.method, &case.path, &case.uri, &headers),
            routes.reference(&case.method, &case.path, &case.uri, &headers),
            "{text:?}"
        );
    });
}

/// The multi-rule seeds pick the rules they were written for, so the
/// replay above really compares selections, not two `None`s.
#[test]
fn match_route_multi_rule_seeds() {
    for (seed, expected) in [
        ("rules_first_wins", Some(1)),
        ("rules_method_head", Some(0)),
        ("rules_method_fallthrough", Some(2)),
        ("rules_predicate_before", Some(1)),
        ("rules_predicate_after", Some(0)),
        ("rules_none", None),
        ("rules_double_glob", Some(3)),
        ("rules_percent_dots", Some(2)),
    ] {
        let text = std::fs::read_to_string(corpus_dir().join("match_route").join(seed))
            .unwrap_or_else(|e| panic!("{seed}: {e}"));
        let case = __fuzz::RouteCase::parse(&text);
        let routes = __fuzz::Routes::new(case.rules).expect("a few rules");
        let headers = http::HeaderMap::new();
        let got = routes.select(&case.method, &case.path, &case.uri, &headers);
        assert_eq!(got, expected, "{seed}");
        assert_eq!(
            routes.reference(&case.method, &case.path, &case.uri, &headers),
            expected,
            "{seed}"
        );
    }
}

#[test]
fn strict_json_corpus() {
    replay("strict_json", |data| {
        if __fuzz::parse_strict_json(data) {
            let value: serde_json::Value =
                serde_json::from_slice(data).expect("strict JSON is JSON");
            assert!(value.is_object());
        }
    });
}

/// As fuzz/fuzz_targets/signed_token.rs: header and payload signed by the
/// issuer's key, through the whole layer.
#[test]
fn signed_token_corpus() {
    const NOW: u64 = 1_700_000_000;
    const ISSUER: &str = "https://issuer.test/";
    const HEADER: &[u8] = br#"{"alg":"EdDSA","kid":"ed-1","typ":"JWT"}"#;
    let key = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("seed");
    let x = URL_SAFE_NO_PAD.encode(key.public_key().as_ref());
    let jwks = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"ed-1","x":"{x}"}}]}}"#);
    let layer = RequireMfaLayer::builder()
        .issuer(ISSUER)
        .audience("api://fuzz")
        .static_jwks(jwks.as_bytes())
        .expect("jwks")
        .clock(ManualClock::at(UNIX_EPOCH + Duration::from_secs(NOW)))
        .rule(Rule::mfa("/mfa/**"))
        .build()
        .expect("layer");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut passed = 0;
    let total = replay("signed_token", |data| {
        let (header, payload) = match data.iter().position(|b| *b == 0xff) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (HEADER, data),
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = key.sign(input.as_bytes());
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()));
        let request = Request::get("/mfa/customers")
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .expect("request");
        let inner = tower::service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
        let response = runtime
            .block_on(layer.layer(inner).oneshot(request))
            .expect("infallible");
        let status = response.status();
        assert!(!status.is_server_error(), "{status}");
        if status == StatusCode::OK {
            let claims: serde_json::Value =
                serde_json::from_slice(payload).expect("payload is JSON");
            assert_eq!(claims["iss"], ISSUER);
            let exp = claims["exp"].as_f64().expect("numeric exp");
            assert!(exp + 60.0 > NOW as f64);
        }
    });
    // The seeds hold both outcomes: the layer is really exercised.
    for (name, expected) in [
        ("mfa", StatusCode::OK),
        ("no_mfa", StatusCode::UNAUTHORIZED),
    ] {
        let data = std::fs::read(corpus_dir().join("signed_token").join(name)).expect("seed");
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(&data)
        );
        let token = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).as_ref())
        );
        let request = Request::get("/mfa/customers")
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .expect("request");
        let inner = tower::service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
        let status = runtime
            .block_on(layer.layer(inner).oneshot(request))
            .expect("infallible")
            .status();
        assert_eq!(status, expected, "seed {name}");
        passed += 1;
    }
    assert_eq!(passed, 2);
    assert!(total >= 2);
}
