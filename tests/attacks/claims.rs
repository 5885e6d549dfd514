//! Claim attacks under a genuine signature: every missing, mistyped or
//! out-of-range registered claim, other issuers and audiences, duplicate
//! claims; then `amr` shapes and look-alikes on an MFA route.

use serde_json::{Value, json};

use crate::harness::{Case, Expect, keys, mfa_claims, rsa_header, with, without};
use crate::mint::{self, now};

fn signed(claims: &Value) -> String {
    keys().token(claims)
}

pub fn cases() -> Vec<Case> {
    let now = now();
    let base = mfa_claims;
    let mut cases = Vec::new();
    let mut push = |name: &str, claims: Value| {
        cases.push(Case::bearer(name, &signed(&claims), Expect::InvalidToken));
    };

    // exp
    push("exp missing", without(base(), "exp"));
    push(
        "exp a string",
        with(base(), "exp", json!((now + 600).to_string())),
    );
    push("exp null", with(base(), "exp", json!(null)));
    push("exp a boolean", with(base(), "exp", json!(true)));
    push("exp an array", with(base(), "exp", json!([now + 600])));
    push(
        "exp an object",
        with(base(), "exp", json!({"$date": now + 600})),
    );
    push(
        "exp expired beyond the leeway",
        with(base(), "exp", json!(now - 120)),
    );
    push("exp zero", with(base(), "exp", json!(0)));
    push("exp negative", with(base(), "exp", json!(-1)));
    push(
        "exp far future (10 years)",
        with(base(), "exp", json!(now + 10 * 365 * 86_400)),
    );
    push(
        "exp just past the 48 h maximum lifetime",
        with(base(), "exp", json!(now + 48 * 3600 + 120)),
    );
    push("exp u64::MAX", with(base(), "exp", json!(u64::MAX)));
    push("exp i64::MIN", with(base(), "exp", json!(i64::MIN)));
    // nbf
    push("nbf in the future", with(base(), "nbf", json!(now + 3600)));
    push("nbf a string", with(base(), "nbf", json!(now.to_string())));
    push("nbf null", with(base(), "nbf", json!(null)));
    push("nbf 1e300", with(base(), "nbf", json!(1e300)));
    // iat
    push("iat in the future", with(base(), "iat", json!(now + 3600)));
    push("iat a string", with(base(), "iat", json!(now.to_string())));
    push("iat an array", with(base(), "iat", json!([now])));
    // iss
    push("iss missing", without(base(), "iss"));
    push(
        "iss another issuer",
        with(base(), "iss", json!("https://evil.test/")),
    );
    push(
        "iss an array holding ours",
        with(base(), "iss", json!([mint::ISSUER])),
    );
    push(
        "iss ours without the trailing slash",
        with(base(), "iss", json!(mint::ISSUER.trim_end_matches('/'))),
    );
    push(
        "iss ours in upper case",
        with(base(), "iss", json!(mint::ISSUER.to_uppercase())),
    );
    push(
        "iss ours with a trailing space",
        with(base(), "iss", json!(format!("{} ", mint::ISSUER))),
    );
    push(
        "iss another tenant of the same cloud",
        with(
            base(),
            "iss",
            json!("https://sts.windows.net/00000000-0000-0000-0000-000000000000/"),
        ),
    );
    push("iss null", with(base(), "iss", json!(null)));
    push("iss a number", with(base(), "iss", json!(1)));
    // aud
    push("aud missing", without(base(), "aud"));
    push(
        "aud another audience",
        with(base(), "aud", json!("api://other")),
    );
    push(
        "aud another audience in an array",
        with(base(), "aud", json!(["api://other"])),
    );
    push("aud an empty array", with(base(), "aud", json!([])));
    push("aud a number", with(base(), "aud", json!(1)));
    push(
        "aud an array holding ours and a number",
        with(base(), "aud", json!([mint::AUDIENCE, 1])),
    );
    push(
        "aud an array nested",
        with(base(), "aud", json!([[mint::AUDIENCE]])),
    );
    push("aud null", with(base(), "aud", json!(null)));
    push(
        "aud an object",
        with(base(), "aud", json!({"aud": mint::AUDIENCE})),
    );
    push(
        "aud ours as a prefix",
        with(
            base(),
            "aud",
            json!(format!("{}.evil.test", mint::AUDIENCE)),
        ),
    );
    // sub and other typed claims
    push("sub a number", with(base(), "sub", json!(42)));
    push("sub null", with(base(), "sub", json!(null)));
    push("sub an array", with(base(), "sub", json!(["a", "b"])));
    push("tid a number", with(base(), "tid", json!(1)));
    // An array of strings is Okta's form of `scp`; anything else is not.
    push(
        "scp an array holding a number",
        with(base(), "scp", json!(["user_impersonation", 7])),
    );
    push("scp a number", with(base(), "scp", json!(7)));
    push("roles a string", with(base(), "roles", json!("Admin")));
    push("idtyp a number", with(base(), "idtyp", json!(1)));

    // Another issuer's token, really signed by our key (key reuse).
    cases.push(Case::bearer(
        "another issuer's token signed by our key",
        &signed(&with(
            with(base(), "iss", json!("https://login.evil.test/v2.0")),
            "aud",
            json!("api://evil"),
        )),
        Expect::InvalidToken,
    ));

    // Duplicate claims: parsers that keep the first and the last disagree.
    let header = rsa_header().to_string();
    let body = base().to_string();
    let dup = |extra: &str| body.replacen('{', &format!("{{{extra},"), 1);
    for (name, payload) in [
        ("duplicate amr", dup(r#""amr":["pwd"]"#)),
        ("duplicate iss", dup(r#""iss":"https://evil.test/""#)),
        ("duplicate aud", dup(r#""aud":"api://other""#)),
        ("duplicate exp", dup(r#""exp":1"#)),
        (
            "duplicate amr through an escape",
            dup(r#""\u0061mr":["pwd"]"#),
        ),
        ("duplicate untyped claim", dup(r#""x":1,"x":2"#)),
        (
            "duplicate member nested in a claim",
            dup(r#""x":{"a":1,"a":2}"#),
        ),
        (
            "duplicate member inside an array claim",
            dup(r#""x":[{"a":1,"a":2}]"#),
        ),
    ] {
        cases.push(Case::bearer(
            name,
            &keys().rs256_raw(header.as_bytes(), payload.as_bytes()),
            Expect::InvalidToken,
        ));
    }
    cases
}

/// `amr` on an MFA route: a shape other than an array of strings makes the
/// token invalid; anything but an exact `mfa` (or equivalent) is no MFA.
pub fn amr_cases() -> Vec<Case> {
    let base = mfa_claims;
    let mut cases = Vec::new();
    let mut invalid = |name: &str, amr: Value| {
        cases.push(Case::bearer(
            format!("amr {name}"),
            &signed(&with(base(), "amr", amr)),
            Expect::InvalidToken,
        ));
    };
    invalid("a string \"mfa\"", json!("mfa"));
    invalid("a string \"pwd mfa\"", json!("pwd mfa"));
    invalid("nested arrays", json!([["mfa"]]));
    invalid("an object", json!({"0": "mfa"}));
    invalid("an array holding an object", json!([{"mfa": true}]));
    invalid("an array holding null", json!(["mfa", null]));
    invalid("an array holding a number", json!(["mfa", 1]));
    invalid("an array holding true", json!(["mfa", true]));
    invalid("null", json!(null));
    invalid("true", json!(true));

    let mut no_mfa = |name: &str, claims: Value| {
        cases.push(Case::bearer(name, &signed(&claims), Expect::Mfa));
    };
    for (name, amr) in [
        ("MFA", json!(["pwd", "MFA"])),
        ("Mfa", json!(["Mfa"])),
        ("mfa with a trailing space", json!(["pwd", "mfa "])),
        ("mfa with a leading space", json!([" mfa"])),
        ("mfa with a trailing NUL", json!(["mfa\u{0}"])),
        ("mfa with a zero-width space", json!(["m\u{200b}fa"])),
        ("Cyrillic look-alike mfа", json!(["pwd", "mf\u{0430}"])),
        ("Cyrillic look-alike м", json!(["\u{043c}fa"])),
        (
            "fullwidth ｍｆａ",
            json!(["pwd", "\u{ff4d}\u{ff46}\u{ff41}"]),
        ),
        ("mathematical 𝗆𝖿𝖺", json!(["\u{1d5c6}\u{1d5bf}\u{1d5ba}"])),
        ("decomposed look-alike", json!(["m\u{0066}\u{0301}a"])),
        ("nomfa", json!(["pwd", "nomfa"])),
        ("mfa_bypass", json!(["mfa_bypass"])),
        ("wiaormfa", json!(["wiaormfa"])),
        ("pwd,mfa in one element", json!(["pwd,mfa"])),
        ("duplicates pwd pwd", json!(["pwd", "pwd"])),
        ("empty array", json!([])),
        ("empty string", json!([""])),
        ("multipleauthn without its URL", json!(["multipleauthn"])),
        (
            "multipleauthn URL with a trailing space",
            json!(["http://schemas.microsoft.com/claims/multipleauthn "]),
        ),
        (
            "multipleauthn over https",
            json!(["https://schemas.microsoft.com/claims/multipleauthn"]),
        ),
        ("NGCMFA", json!(["NGCMFA"])),
        (
            "two factors without derivation enabled",
            json!(["pwd", "otp"]),
        ),
    ] {
        no_mfa(&format!("amr {name}"), with(base(), "amr", amr));
    }
    let pwd = || with(base(), "amr", json!(["pwd"]));
    no_mfa("amr missing", without(base(), "amr"));
    no_mfa(
        "mfa only in the long claim name (not opt-in)",
        with(pwd(), "authenticationmethodsreferences", json!(["mfa"])),
    );
    no_mfa(
        "mfa only in the long URI claim (not opt-in)",
        with(
            pwd(),
            "http://schemas.microsoft.com/claims/authnmethodsreferences",
            json!("mfa"),
        ),
    );
    no_mfa(
        "mfa only in an AMR claim",
        with(pwd(), "AMR", json!(["mfa"])),
    );
    no_mfa("mfa only in acr", with(pwd(), "acr", json!("mfa")));
    no_mfa("mfa only in acrs", with(pwd(), "acrs", json!(["mfa"])));
    no_mfa(
        "a guest marker",
        with(with(pwd(), "acct", json!(1)), "idp", json!("live.com")),
    );
    no_mfa("idtyp App (not app)", with(pwd(), "idtyp", json!("App")));
    no_mfa("idtyp user", with(pwd(), "idtyp", json!("user")));
    no_mfa(
        "app-looking token that carries amr",
        without(
            with(
                with(pwd(), "sub", base()["oid"].clone()),
                "roles",
                json!(["Admin"]),
            ),
            "scp",
        ),
    );
    no_mfa(
        "Entra v2.0 token without amr",
        with(without(base(), "amr"), "ver", json!("2.0")),
    );
    cases
}
