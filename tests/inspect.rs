//! `tower-mfa inspect`: the library report and the real binary.
#![cfg(feature = "cli")]

#[path = "support/mint.rs"]
mod mint;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mint::{AUDIENCE, ISSUER, JwksServer, app_claims, jwks, now, rsa_key, rsa_key2, user_claims};
use serde_json::json;
use tower_mfa::inspect::{self, Error, Options, Signature, Verdict};
use tower_mfa::{AppOnly, Caller, ErrorKind, MfaPolicy, MfaProof, Reason};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tower-mfa"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tower-mfa");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn mfa_token() -> String {
    rsa_key().token(&user_claims(&["pwd", "mfa"]))
}

fn password_token() -> String {
    rsa_key().token(&user_claims(&["pwd"]))
}

#[test]
fn mfa_user_passes() {
    let report = inspect::inspect(&mfa_token(), &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(report.caller.unwrap().0, Caller::User);
    assert_eq!(report.mfa, Some(Ok(MfaProof::Amr)));
    assert_eq!(report.signature, Signature::NotChecked);
    assert!(report.header_checks.iter().all(|c| c.result.is_ok()));
    assert_eq!(
        report.claims.as_ref().unwrap()["amr"],
        json!(["pwd", "mfa"])
    );
    let text = report.to_string();
    assert!(
        text.contains("would pass (signature not checked)"),
        "{text}"
    );
    assert!(text.contains("expires in 59 min"), "{text}");
    assert!(text.contains("proven by amr"), "{text}");

    let token = mfa_token();
    let out = run(&["inspect", &token], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("\"RS256\""), "{text}");
    assert!(text.contains("caller:    user"), "{text}");
    assert!(text.contains("would pass"), "{text}");
    // Never echoes the raw token (nor its signature).
    let signature = token.rsplit('.').next().unwrap();
    assert!(!text.contains(signature));
    assert!(!text.contains(&token));
}

#[test]
fn password_only_requires_mfa() {
    let report = inspect::inspect(&password_token(), &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::NoMfaProof));
    assert_eq!(report.mfa, Some(Err(Reason::NoMfaProof)));
    assert!(
        report
            .verdict
            .answer()
            .starts_with("401 Unauthorized - MFA required")
    );
    assert_eq!(report.verdict.exit_code(), 1);

    let out = run(&["inspect", &password_token()], None);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("401 Unauthorized - MFA required"), "{text}");
    assert!(text.contains("MISSING: no_mfa_proof"), "{text}");
}

#[test]
fn opt_in_proofs() {
    let token = rsa_key().token(&user_claims(&["pwd", "otp"]));
    let report = inspect::inspect(&token, &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::NoMfaProof));
    let mut opts = Options::default();
    opts.mfa = MfaPolicy::default().derive_from_factors(true);
    let report = inspect::inspect(&token, &opts).unwrap();
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(report.mfa, Some(Ok(MfaProof::DerivedFactors)));

    // The same through the binary's flags.
    assert_eq!(run(&["inspect", &token], None).status.code(), Some(1));
    assert_eq!(
        run(&["inspect", "--derive-factors", &token], None)
            .status
            .code(),
        Some(0)
    );
    // `user_claims` carries `acr: "1"`.
    assert_eq!(
        run(&["inspect", "--accept-acr", "1", &password_token()], None)
            .status
            .code(),
        Some(0)
    );
    let mut claims = user_claims(&["pwd"]);
    claims["authenticationmethodsreferences"] = json!(["mfa"]);
    let long = rsa_key().token(&claims);
    assert_eq!(run(&["inspect", &long], None).status.code(), Some(1));
    assert_eq!(
        run(&["inspect", "--read-long-amr-claims", &long], None)
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn app_only_passes() {
    let token = rsa_key().token(&app_claims());
    let report = inspect::inspect(&token, &Options::default()).unwrap();
    let (caller, why) = report.caller.unwrap();
    assert_eq!(caller, Caller::App);
    assert!(why.contains("oid"), "{why}");
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(report.mfa_route, Some(Ok(None)));
    assert!(report.to_string().contains("caller:    app"));

    let mut opts = Options::default();
    opts.app_only = AppOnly::Deny;
    let report = inspect::inspect(&token, &opts).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::AppOnlyDenied));
    assert!(
        report
            .verdict
            .answer()
            .starts_with("403 insufficient_scope")
    );

    assert_eq!(run(&["inspect", &token], None).status.code(), Some(0));
    assert_eq!(
        run(&["inspect", "--app-only", "require-mfa", &token], None)
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn expired_is_invalid() {
    let mut claims = user_claims(&["mfa"]);
    let now = now();
    claims["exp"] = json!(now - 2 * 3600 - 100);
    claims["iat"] = json!(now - 3 * 3600);
    claims["nbf"] = json!(now - 3 * 3600);
    let report = inspect::inspect(&rsa_key().token(&claims), &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::Expired));
    assert_eq!(report.times.as_ref().unwrap().check, Err(Reason::Expired));
    let answer = report.verdict.answer();
    assert!(answer.starts_with("401 invalid_token: "), "{answer}");
    assert!(answer.contains("expired"), "{answer}");
    let text = report.to_string();
    assert!(text.contains("expired 2 h ago"), "{text}");
    // The MFA proof is still shown.
    assert_eq!(report.mfa, Some(Ok(MfaProof::Amr)));
}

#[test]
fn time_sanity() {
    let mut claims = user_claims(&["mfa"]);
    claims["iat"] = json!(now() + 600);
    let report = inspect::inspect(&rsa_key().token(&claims), &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::IssuedInFuture));
    let mut claims = user_claims(&["mfa"]);
    claims["exp"] = json!(now() + 72 * 3600);
    let report = inspect::inspect(&rsa_key().token(&claims), &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::LifetimeTooLong));
    let mut claims = user_claims(&["mfa"]);
    claims.as_object_mut().unwrap().remove("exp");
    let report = inspect::inspect(&rsa_key().token(&claims), &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::MissingExpiry));
    assert!(report.to_string().contains("no exp (required)"));
}

#[test]
fn alg_none_is_invalid() {
    let claims = user_claims(&["mfa"]);
    let b64 = |v: &serde_json::Value| mint::b64(v.to_string().as_bytes());
    // The classic unsigned token: empty signature.
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg":"none","typ":"JWT"})),
        b64(&claims)
    );
    let report = inspect::inspect(&unsigned, &Options::default()).unwrap();
    assert!(matches!(report.verdict, Verdict::Refused(r) if r.kind() == ErrorKind::InvalidToken));
    let alg = &report.header_checks[0];
    assert_eq!(alg.name, "alg");
    assert_eq!(alg.result, Err(Reason::UnsupportedAlgorithm));
    // The claims are still decoded and explained.
    assert_eq!(report.mfa, Some(Ok(MfaProof::Amr)));

    // With a signature segment the header check itself refuses it.
    let header = json!({"alg":"none","kid":"rsa-1"});
    let token = rsa_key().sign_json(&header, &claims);
    let report = inspect::inspect(&token, &Options::default()).unwrap();
    assert_eq!(
        report.verdict,
        Verdict::Refused(Reason::UnsupportedAlgorithm)
    );
    let out = run(&["inspect", &token], None);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("401 invalid_token"), "{text}");
    assert!(text.contains("FAIL alg"), "{text}");
}

#[test]
fn rejected_header_params() {
    let claims = user_claims(&["mfa"]);
    for (name, value) in [
        ("crit", json!(["exp"])),
        ("zip", json!("DEF")),
        ("cty", json!("JWT")),
    ] {
        let mut header = rsa_key().header();
        header[name] = value;
        let report =
            inspect::inspect(&rsa_key().sign_json(&header, &claims), &Options::default()).unwrap();
        assert_eq!(report.verdict, Verdict::Refused(Reason::UnsupportedHeader));
        let check = &report.header_checks[1];
        assert_eq!(check.result, Err(Reason::UnsupportedHeader));
        assert!(check.detail.contains(name), "{}", check.detail);
    }
    let mut header = rsa_key().header();
    header["typ"] = json!("JWT");
    let token = rsa_key().sign_json(&header, &claims);
    let mut opts = Options::default();
    opts.strict_rfc9068 = true;
    let report = inspect::inspect(&token, &opts).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::WrongType));
    // Duplicate members, as the layer refuses them.
    let dup = rsa_key().sign_raw(
        rsa_key().header().to_string().as_bytes(),
        br#"{"amr":["pwd"],"amr":["mfa"]}"#,
    );
    let report = inspect::inspect(&dup, &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::DuplicateMember));
    assert_eq!(report.claims_error, Some(Reason::DuplicateMember));
}

#[test]
fn issuer_and_audience() {
    let mut opts = Options::default();
    opts.issuer = Some(ISSUER.to_owned());
    opts.audiences = vec![AUDIENCE.to_owned()];
    let report = inspect::inspect(&mfa_token(), &opts).unwrap();
    assert_eq!(report.verdict, Verdict::Pass);
    opts.issuer = Some("https://login.microsoftonline.com/{tenantid}/v2.0".to_owned());
    let report = inspect::inspect(&mfa_token(), &opts).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::WrongIssuer));
    let out = run(
        &["inspect", "--audience", "api://other", &mfa_token()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("wrong_audience"));
}

#[test]
fn input_errors() {
    assert_eq!(
        inspect::inspect(" \n", &Options::default()).unwrap_err(),
        Error::EmptyInput
    );
    // Not a token at all: refused as the layer would, not a usage error.
    let report = inspect::inspect("hello", &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::MalformedToken));
    let report = inspect::inspect("a b.c", &Options::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::MalformedBearer));
    assert!(report.verdict.answer().starts_with("400 invalid_request"));

    assert_eq!(run(&["inspect", "-"], Some("\n")).status.code(), Some(2));
    assert_eq!(run(&["inspect"], None).status.code(), Some(2));
    assert_eq!(run(&[], None).status.code(), Some(2));
    assert_eq!(
        run(
            &[
                "inspect",
                "--jwks-file",
                "/nonexistent/jwks.json",
                &mfa_token()
            ],
            None
        )
        .status
        .code(),
        Some(2)
    );
    // https only, unless loopback http is allowed.
    let out = run(
        &["inspect", "--jwks", "http://127.0.0.1:9/jwks", &mfa_token()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stdin_with_bearer_prefix() {
    let out = run(
        &["inspect", "-"],
        Some(&format!("  Bearer {}\r\n", mfa_token())),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("would pass"));
    let out = run(&["inspect", "-"], Some(&format!("{}\n", password_token())));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("MFA required"));
}

#[tokio::test]
async fn jwks_verifies_the_signature() {
    let server = JwksServer::start(jwks(&[rsa_key()])).await;
    let url = server.jwks_url();
    let good = mfa_token();
    let report = inspect::inspect_with_jwks(&good, &Options::default(), &url, true)
        .await
        .unwrap();
    assert_eq!(
        report.signature,
        Signature::Verified {
            kid: "rsa-1".into()
        }
    );
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(report.keys, Some(vec!["rsa-1".to_owned()]));
    assert!(!report.to_string().contains("signature not checked"));

    // A password-only token with `amr` edited to say "mfa": the signature fails.
    let pwd = password_token();
    let forged_payload = good.split('.').nth(1).unwrap();
    let mut parts: Vec<&str> = pwd.split('.').collect();
    parts[1] = forged_payload;
    let tampered = parts.join(".");
    let report = inspect::inspect_with_jwks(&tampered, &Options::default(), &url, true)
        .await
        .unwrap();
    assert_eq!(report.signature, Signature::Failed(Reason::BadSignature));
    assert_eq!(report.verdict, Verdict::Refused(Reason::BadSignature));
    assert!(report.to_string().contains("claims (NOT verified)"));

    // A key the issuer does not publish.
    let other = rsa_key2().token(&user_claims(&["mfa"]));
    let report = inspect::inspect_with_jwks(&other, &Options::default(), &url, true)
        .await
        .unwrap();
    assert_eq!(report.verdict, Verdict::Refused(Reason::UnknownKeyId));

    // Loopback http needs the opt-in.
    assert!(matches!(
        inspect::inspect_with_jwks(&good, &Options::default(), &url, false).await,
        Err(Error::InsecureUrl(_))
    ));
    assert_eq!(server.jwks_hits(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_with_jwks_and_jwks_file() {
    let server = JwksServer::start(jwks(&[rsa_key()])).await;
    let url = server.jwks_url();
    let good = mfa_token();
    let mut parts: Vec<String> = password_token().split('.').map(str::to_owned).collect();
    parts[1] = good.split('.').nth(1).unwrap().to_owned();
    let tampered = parts.join(".");
    let exe = env!("CARGO_BIN_EXE_tower-mfa");
    let status = |args: Vec<String>, stdin: Option<String>| async move {
        let mut child = tokio::process::Command::new(exe)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        if let Some(input) = stdin {
            tokio::io::AsyncWriteExt::write_all(&mut pipe, input.as_bytes())
                .await
                .unwrap();
        }
        drop(pipe);
        let out = child.wait_with_output().await.unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let args = |token: &str| {
        vec![
            "inspect".to_owned(),
            "--jwks".to_owned(),
            url.clone(),
            "--allow-http-loopback".to_owned(),
            "--issuer".to_owned(),
            ISSUER.to_owned(),
            "--audience".to_owned(),
            AUDIENCE.to_owned(),
            token.to_owned(),
        ]
    };
    let (code, text) = status(args(&good), None).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("signature: ok (key \"rsa-1\")"), "{text}");
    let (code, text) = status(args(&tampered), None).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("bad_signature"), "{text}");
    let (code, text) = status(args("-"), Some(format!("Bearer {good}\n"))).await;
    assert_eq!(code, Some(0), "{text}");

    // The same keys from a file.
    let path = std::env::temp_dir().join(format!("tower-mfa-inspect-{}.json", std::process::id()));
    std::fs::write(&path, jwks(&[rsa_key()]).to_string()).unwrap();
    let file = path.to_str().unwrap().to_owned();
    let (code, text) = status(
        vec![
            "inspect".into(),
            "--jwks-file".into(),
            file.clone(),
            good.clone(),
        ],
        None,
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    let (code, _) = status(
        vec!["inspect".into(), "--jwks-file".into(), file, tampered],
        None,
    )
    .await;
    assert_eq!(code, Some(1));
    let _ = std::fs::remove_file(&path);
}
