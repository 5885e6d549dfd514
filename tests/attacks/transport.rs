//! HTTP-level attacks: missing or foreign credentials, broken `Bearer`
//! grammar, duplicates, tokens in places that are never read, size.

use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use http::{HeaderName, HeaderValue};

use crate::harness::{Case, Expect, keys};

fn hv(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("header value")
}

pub fn cases() -> Vec<Case> {
    let token = keys().valid();
    let mut cases = Vec::new();

    cases.push(Case::with_headers(
        "no Authorization header",
        vec![],
        Expect::Missing,
    ));
    for (name, value) in [
        ("Basic scheme", "Basic dXNlcjpwYXNzd29yZA==".to_owned()),
        (
            "Digest scheme",
            "Digest username=\"u\", nonce=\"n\"".to_owned(),
        ),
        ("DPoP scheme with a valid token", format!("DPoP {token}")),
        ("Token scheme with a valid token", format!("Token {token}")),
        ("Bearerx scheme", format!("Bearerx {token}")),
        ("JWT scheme", format!("JWT {token}")),
        ("bare token without a scheme", token.clone()),
        ("Bearer: with a colon", format!("Bearer: {token}")),
    ] {
        cases.push(Case::authorization(name, value.as_bytes(), Expect::Missing));
    }
    for (name, value) in [
        ("empty Bearer", "Bearer".to_owned()),
        ("Bearer and a space", "Bearer ".to_owned()),
        ("Bearer and spaces", "Bearer    ".to_owned()),
        ("tab after Bearer", format!("Bearer\t{token}")),
        ("space and tab after Bearer", format!("Bearer \t{token}")),
        ("trailing space", format!("Bearer {token} ")),
        ("trailing tab", format!("Bearer {token}\t")),
        ("two tokens", format!("Bearer {token} {token}")),
        (
            "comma list of credentials",
            format!("Bearer {token}, Basic dXNlcjpw"),
        ),
        ("quoted token", format!("Bearer \"{token}\"")),
        (
            "token=\"...\" parameter form",
            format!("Bearer token=\"{token}\""),
        ),
        ("only '=' as token", "Bearer ===".to_owned()),
        ("'=' inside the token", format!("Bearer {token}=x")),
    ] {
        cases.push(Case::authorization(
            name,
            value.as_bytes(),
            Expect::InvalidRequest,
        ));
    }
    // Bytes outside ASCII (http::HeaderValue cannot carry CR, LF, NUL or DEL:
    // those never reach a tower service; tests/fuzz_corpus.rs and the
    // parse_authorization fuzz target cover them at the parser).
    cases.push(Case::authorization(
        "non-ASCII byte inside the token",
        &[b"Bearer ".as_slice(), token.as_bytes(), b"\xff"].concat(),
        Expect::InvalidRequest,
    ));
    cases.push(Case::authorization(
        "UTF-8 token",
        "Bearer jeton-é.x.y".as_bytes(),
        Expect::InvalidRequest,
    ));
    cases.push(Case::authorization(
        "Latin-1 no-break space after Bearer",
        &[b"Bearer\xa0".as_slice(), token.as_bytes()].concat(),
        Expect::Missing,
    ));
    // Duplicated credentials.
    let valid = hv(&format!("Bearer {token}"));
    cases.push(Case::with_headers(
        "two Authorization headers, both valid",
        vec![
            (AUTHORIZATION, valid.clone()),
            (AUTHORIZATION, valid.clone()),
        ],
        Expect::InvalidRequest,
    ));
    cases.push(Case::with_headers(
        "two Authorization headers, valid then Basic",
        vec![
            (AUTHORIZATION, valid.clone()),
            (AUTHORIZATION, hv("Basic dTpw")),
        ],
        Expect::InvalidRequest,
    ));
    cases.push(Case::with_headers(
        "two Authorization headers, empty then valid",
        vec![(AUTHORIZATION, hv("")), (AUTHORIZATION, valid.clone())],
        Expect::InvalidRequest,
    ));
    // Token places that are never read by default.
    cases.push(
        Case::with_headers("token in ?access_token=", vec![], Expect::Missing)
            .uri(format!("/v1/customers?access_token={token}")),
    );
    cases.push(Case::with_headers(
        "token in an access_token cookie",
        vec![(COOKIE, hv(&format!("access_token={token}")))],
        Expect::Missing,
    ));
    cases.push(
        Case::with_headers(
            "token in a form body",
            vec![(CONTENT_TYPE, hv("application/x-www-form-urlencoded"))],
            Expect::Missing,
        )
        .post(format!("access_token={token}")),
    );
    cases.push(Case::with_headers(
        "token in Proxy-Authorization",
        vec![(http::header::PROXY_AUTHORIZATION, valid.clone())],
        Expect::Missing,
    ));
    cases.push(Case::with_headers(
        "token in X-Authorization",
        vec![(HeaderName::from_static("x-authorization"), valid)],
        Expect::Missing,
    ));
    // Size: over the 16 KiB cap before any parsing.
    let oversized = format!("{token}{}", "A".repeat(17 * 1024));
    cases.push(Case::bearer(
        "token over 16 KiB",
        &oversized,
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "1 MiB of base64url",
        &"A".repeat(1024 * 1024),
        Expect::InvalidToken,
    ));
    cases
}

/// Control: the same token in the header, any scheme casing, passes.
pub fn controls() -> Vec<Case> {
    let token = keys().valid();
    vec![
        Case::bearer("control Bearer", &token, Expect::Pass),
        Case::authorization(
            "control bearer lower case, two spaces",
            format!("bearer  {token}").as_bytes(),
            Expect::Pass,
        ),
        Case::authorization(
            "control BEARER",
            format!("BEARER {token}").as_bytes(),
            Expect::Pass,
        ),
    ]
}
