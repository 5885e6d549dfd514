//! Header attacks: keys and key URLs embedded in the token, hostile `kid`
//! values, `crit`, `zip`, `cty`, JWE parameters, duplicate members, `typ`.

use serde_json::{Value, json};

use crate::harness::{Attacker, Case, Expect, Keys, keys, mfa_claims};
use crate::mint::b64;

/// RS256 by the attacker's key.
fn by_attacker(header: &Value) -> String {
    Keys::compact(
        header.to_string().as_bytes(),
        mfa_claims().to_string().as_bytes(),
        |m| {
            keys()
                .attacker
                .sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, m)
        },
    )
}

/// RS256 by the issuer's `rsa-1` key with this header.
fn by_issuer(header: &Value) -> String {
    keys().rs256(header, &mfa_claims())
}

/// `{"alg":"RS256","kid":"rsa-1","typ":"JWT"}` plus `name: value`.
fn plus(name: &str, value: Value) -> Value {
    let mut h = json!({"alg":"RS256","kid":"rsa-1","typ":"JWT"});
    h[name] = value;
    h
}

pub fn cases(attacker: &Attacker) -> Vec<Case> {
    let k = keys();
    let mut cases = Vec::new();
    let attacker_jwk = k.attacker.jwk("RS256");
    let jwks_url = attacker.url("/jwks");
    let fake_cert = b64(&[0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01]);

    // Embedded keys and key URLs: never fetched, never trusted.
    for kid in ["rsa-1", "attacker-1"] {
        let jwk = json!({"alg":"RS256","kid":kid,"typ":"JWT","jwk":attacker_jwk});
        cases.push(Case::bearer(
            format!("embedded jwk, kid {kid}, signed by the attacker"),
            &by_attacker(&jwk),
            Expect::InvalidToken,
        ));
        let jku = json!({"alg":"RS256","kid":kid,"typ":"JWT","jku":jwks_url});
        cases.push(Case::bearer(
            format!("jku to the attacker, kid {kid}"),
            &by_attacker(&jku),
            Expect::InvalidToken,
        ));
        let x5u = json!({"alg":"RS256","kid":kid,"typ":"JWT","x5u":attacker.url("/cert.pem")});
        cases.push(Case::bearer(
            format!("x5u to the attacker, kid {kid}"),
            &by_attacker(&x5u),
            Expect::InvalidToken,
        ));
    }
    cases.push(Case::bearer(
        "x5c chain of the attacker, kid rsa-1",
        &by_attacker(&plus("x5c", json!([fake_cert]))),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "jwk, jku, x5u and x5c at once, no kid",
        &by_attacker(&json!({
            "alg":"RS256","jwk":attacker_jwk,"jku":jwks_url,
            "x5u":attacker.url("/x5u"),"x5c":[fake_cert]
        })),
        Expect::InvalidToken,
    ));

    // Hostile `kid` values: an opaque lookup key, never a path, a query or a
    // header line.
    for (name, kid) in [
        ("path traversal", json!("../../../../../../etc/passwd")),
        ("path traversal to /dev/null", json!("/dev/null")),
        ("SQL injection", json!("x' UNION SELECT 'secret' -- ")),
        ("SQL tautology", json!("' OR '1'='1")),
        ("CRLF header injection", json!("rsa-1\r\nX-Injected: 1")),
        ("NUL byte", json!("rsa-1\u{0}")),
        ("trailing space", json!("rsa-1 ")),
        ("other case", json!("RSA-1")),
        ("Cyrillic look-alike", json!("rsа-1")),
        ("format string", json!("%s%s%s%n")),
        ("URL", json!("https://attacker.test/jwks")),
        ("10 KB", json!("k".repeat(10 * 1024))),
        ("a number", json!(1)),
        ("null", json!(null)),
        ("an array", json!(["rsa-1"])),
        ("an object", json!({"kid":"rsa-1"})),
        ("a boolean", json!(true)),
        ("empty", json!("")),
    ] {
        cases.push(Case::bearer(
            format!("kid {name}"),
            &by_issuer(&plus("kid", kid)),
            Expect::InvalidToken,
        ));
    }
    cases.push(Case::bearer(
        "kid 100 KB (beyond the size cap)",
        &by_issuer(&plus("kid", json!("k".repeat(100 * 1024)))),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "kid missing",
        &by_issuer(&json!({"alg":"RS256","typ":"JWT"})),
        Expect::InvalidToken,
    ));

    // `crit` in every form, even listing parameters we know.
    for (name, crit) in [
        ("listing exp", json!(["exp"])),
        ("empty list", json!([])),
        ("listing kid", json!(["kid"])),
        ("a string", json!("b64")),
        ("null", json!(null)),
        ("an object", json!({})),
    ] {
        cases.push(Case::bearer(
            format!("crit {name}"),
            &by_issuer(&plus("crit", crit)),
            Expect::InvalidToken,
        ));
    }
    let mut b64_false = plus("crit", json!(["b64"]));
    b64_false["b64"] = json!(false);
    cases.push(Case::bearer(
        "crit b64 with b64 false (RFC 7797)",
        &by_issuer(&b64_false),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "b64 false without crit",
        &by_issuer(&plus("b64", json!(false))),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "zip DEF",
        &by_issuer(&plus("zip", json!("DEF"))),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "cty JWT (nested token)",
        &by_issuer(&plus("cty", json!("JWT"))),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "cty application/json",
        &by_issuer(&plus("cty", json!("application/json"))),
        Expect::InvalidToken,
    ));
    for (name, value) in [
        ("enc", json!("A256GCM")),
        ("epk", json!({"kty":"EC","crv":"P-256","x":"AA","y":"AA"})),
        ("apu", json!("QWxpY2U")),
        ("apv", json!("Qm9i")),
        ("iv", json!("AAAAAAAAAAAAAAAA")),
        ("tag", json!("AAAAAAAAAAAAAAAAAAAAAA")),
        ("p2s", json!("c2FsdA")),
        ("p2c", json!(4096)),
    ] {
        cases.push(Case::bearer(
            format!("JWE parameter {name}"),
            &by_issuer(&plus(name, value)),
            Expect::InvalidToken,
        ));
    }

    // Duplicate members: the first and the last would disagree.
    let claims = mfa_claims().to_string();
    for (name, header) in [
        (
            "duplicate alg (RS256 then none)",
            r#"{"alg":"RS256","kid":"rsa-1","alg":"none"}"#,
        ),
        (
            "duplicate alg (none then RS256)",
            r#"{"alg":"none","kid":"rsa-1","alg":"RS256"}"#,
        ),
        (
            "duplicate kid",
            r#"{"alg":"RS256","kid":"attacker-1","kid":"rsa-1"}"#,
        ),
        (
            "duplicate alg through an escape",
            r#"{"alg":"RS256","kid":"rsa-1","\u0061lg":"none"}"#,
        ),
        (
            "duplicate crit hidden behind an escape",
            r#"{"alg":"RS256","kid":"rsa-1","x":{"a":1,"\u0061":2}}"#,
        ),
        (
            "duplicate identical members",
            r#"{"alg":"RS256","kid":"rsa-1","typ":"JWT","typ":"JWT"}"#,
        ),
    ] {
        cases.push(Case::bearer(
            name,
            &k.rs256_raw(header.as_bytes(), claims.as_bytes()),
            Expect::InvalidToken,
        ));
    }

    // `typ` values that are not an access token's.
    for typ in [
        json!("JWE"),
        json!("id_token+jwt"),
        json!("logout+jwt"),
        json!("JOSE+JSON"),
        json!(""),
        json!(1),
        json!(null),
        json!(["JWT"]),
    ] {
        cases.push(Case::bearer(
            format!("typ {typ}"),
            &by_issuer(&plus("typ", typ)),
            Expect::InvalidToken,
        ));
    }
    cases
}
