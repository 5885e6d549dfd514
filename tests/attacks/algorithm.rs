//! Algorithm attacks (RFC 8725 §2.1, §3.1): `none`, HMAC keyed with the RSA
//! public key, algorithm substitution, algorithms outside the allowlist.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512,
};
use serde_json::json;

use crate::harness::{Case, Expect, Keys, keys, mfa_claims};
use crate::mint::b64;

pub fn cases() -> Vec<Case> {
    let k = keys();
    let claims = mfa_claims().to_string();
    let payload = claims.as_bytes();
    let mut cases = Vec::new();

    // `none`, in every casing, with an empty signature and with a real one.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": "rsa-1", "typ": "JWT"}).to_string();
        let unsigned = format!("{}.{}.", b64(header.as_bytes()), b64(payload));
        cases.push(Case::bearer(
            format!("alg {alg}, empty signature"),
            &unsigned,
            Expect::InvalidToken,
        ));
        cases.push(Case::bearer(
            format!("alg {alg}, RS256 signature"),
            &k.rs256_raw(header.as_bytes(), payload),
            Expect::InvalidToken,
        ));
    }
    let none_no_kid = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(payload));
    cases.push(Case::bearer(
        "alg none, no kid, two dots",
        &none_no_kid,
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "alg none, no kid, no third segment",
        none_no_kid.trim_end_matches('.'),
        Expect::InvalidToken,
    ));

    // HMAC keyed with the issuer's public key in every form an attacker
    // could pick it up in (the classic key-confusion attack).
    let spki = k.rsa.spki_der();
    let pkcs1 = k.rsa.pkcs1_der();
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        (
            "SPKI PEM",
            crate::harness::pem("PUBLIC KEY", &spki).into_bytes(),
        ),
        (
            "PKCS#1 PEM",
            crate::harness::pem("RSA PUBLIC KEY", &pkcs1).into_bytes(),
        ),
        ("SPKI DER", spki.clone()),
        ("PKCS#1 DER", pkcs1.clone()),
        ("JWK JSON", k.rsa.jwk("RS256").to_string().into_bytes()),
        ("n bytes", k.rsa.n()),
    ];
    for (alg, hmac_alg) in [
        ("HS256", hmac::HMAC_SHA256),
        ("HS384", hmac::HMAC_SHA384),
        ("HS512", hmac::HMAC_SHA512),
    ] {
        for (form, secret) in &secrets {
            let header = json!({"alg": alg, "kid": "rsa-1", "typ": "JWT"}).to_string();
            let key = hmac::Key::new(hmac_alg, secret);
            let token = Keys::compact(header.as_bytes(), payload, |m| {
                hmac::sign(&key, m).as_ref().to_vec()
            });
            cases.push(Case::bearer(
                format!("{alg} keyed with the RSA public key as {form}"),
                &token,
                Expect::InvalidToken,
            ));
        }
    }

    // Substitution: a real signature of another algorithm with the same key
    // material, or a header that names another algorithm than the key's.
    let rs = |alg: &str, kid: &str| json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string();
    let by_rsa = |header: &str, enc: &'static dyn aws_lc_rs::signature::RsaEncoding| {
        Keys::compact(header.as_bytes(), payload, |m| k.rsa.sign(enc, m))
    };
    cases.push(Case::bearer(
        "PS256 token for the RS256 key (real PSS signature)",
        &by_rsa(&rs("PS256", "rsa-1"), &RSA_PSS_SHA256),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "RS256 header, PSS signature by the RS256 key",
        &by_rsa(&rs("RS256", "rsa-1"), &RSA_PSS_SHA256),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "RS256 token for the PS256 key (real PKCS#1 signature)",
        &Keys::compact(rs("RS256", "ps-1").as_bytes(), payload, |m| {
            k.ps.sign(&RSA_PKCS1_SHA256, m)
        }),
        Expect::InvalidToken,
    ));
    for (alg, enc) in [
        (
            "RS384",
            &RSA_PKCS1_SHA384 as &'static dyn aws_lc_rs::signature::RsaEncoding,
        ),
        ("RS512", &RSA_PKCS1_SHA512),
        ("PS384", &RSA_PSS_SHA384),
        ("PS512", &RSA_PSS_SHA512),
    ] {
        cases.push(Case::bearer(
            format!("unsupported {alg}, really signed by the RSA key"),
            &by_rsa(&rs(alg, "rsa-1"), enc),
            Expect::InvalidToken,
        ));
    }
    let es_sig = |header: &str| Keys::compact(header.as_bytes(), payload, |m| k.ec256.sign(m));
    for alg in [
        "ES512", "ES256K", "es256", "Ed25519", "eddsa", "RS1", "RSA-OAEP", "dir", "",
    ] {
        cases.push(Case::bearer(
            format!("alg {alg:?} outside the allowlist"),
            &es_sig(&rs(alg, "ec-1")),
            Expect::InvalidToken,
        ));
    }
    cases.push(Case::bearer(
        "alg rs256 (wrong case) on a real RS256 signature",
        &by_rsa(&rs("rs256", "rsa-1"), &RSA_PKCS1_SHA256),
        Expect::InvalidToken,
    ));
    for (name, alg) in [
        ("alg missing", json!(null)),
        ("alg a number", json!(256)),
        ("alg an array", json!(["RS256"])),
        ("alg an object", json!({"name": "RS256"})),
    ] {
        let mut header = json!({"kid": "rsa-1", "typ": "JWT"});
        if !alg.is_null() {
            header["alg"] = alg;
        }
        cases.push(Case::bearer(
            name,
            &k.rs256_raw(header.to_string().as_bytes(), payload),
            Expect::InvalidToken,
        ));
    }
    cases.push(Case::bearer(
        "alg null",
        &k.rs256_raw(br#"{"alg":null,"kid":"rsa-1"}"#, payload),
        Expect::InvalidToken,
    ));

    // Header algorithm and key type disagree.
    cases.push(Case::bearer(
        "ES256 header, RSA kid",
        &es_sig(&rs("ES256", "rsa-1")),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "RS256 header and signature, EC kid",
        &by_rsa(&rs("RS256", "ec-1"), &RSA_PKCS1_SHA256),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES384 header, P-256 kid and signature",
        &es_sig(&rs("ES384", "ec-1")),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES256 header, P-384 kid, P-384 signature",
        &Keys::compact(rs("ES256", "ec-2").as_bytes(), payload, |m| k.ec384.sign(m)),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "EdDSA header, P-256 kid",
        &es_sig(&rs("EdDSA", "ec-1")),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "EdDSA header and signature, RSA kid",
        &Keys::compact(rs("EdDSA", "rsa-1").as_bytes(), payload, |m| {
            k.ed.sign(m).as_ref().to_vec()
        }),
        Expect::InvalidToken,
    ));
    cases
}

/// The same tokens done right pass: the table tests the attack, not the setup.
pub fn controls() -> Vec<Case> {
    let k = keys();
    let claims = mfa_claims().to_string();
    let payload = claims.as_bytes();
    let h = |alg: &str, kid: &str| json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string();
    vec![
        Case::bearer("control RS256", &k.valid(), Expect::Pass),
        Case::bearer(
            "control PS256",
            &Keys::compact(h("PS256", "ps-1").as_bytes(), payload, |m| {
                k.ps.sign(&RSA_PSS_SHA256, m)
            }),
            Expect::Pass,
        ),
        Case::bearer(
            "control ES256",
            &Keys::compact(h("ES256", "ec-1").as_bytes(), payload, |m| k.ec256.sign(m)),
            Expect::Pass,
        ),
        Case::bearer(
            "control ES384",
            &Keys::compact(h("ES384", "ec-2").as_bytes(), payload, |m| k.ec384.sign(m)),
            Expect::Pass,
        ),
        Case::bearer(
            "control EdDSA",
            &Keys::compact(h("EdDSA", "ed-1").as_bytes(), payload, |m| {
                k.ed.sign(m).as_ref().to_vec()
            }),
            Expect::Pass,
        ),
    ]
}
