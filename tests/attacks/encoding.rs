//! Encoding attacks: base64 variants, segment counts, other JOSE
//! serializations, bytes that are not UTF-8 or not a JSON object, parser
//! limits.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use crate::harness::{Case, Expect, keys, mfa_claims, rsa_header};
use crate::mint::b64;

pub fn cases() -> Vec<Case> {
    let k = keys();
    let valid = k.valid();
    let segments: Vec<&str> = valid.split('.').collect();
    let (h, p, s) = (segments[0], segments[1], segments[2]);
    let header = rsa_header().to_string();
    let claims = mfa_claims().to_string();
    let mut cases = Vec::new();

    // Padding: at the end the header grammar allows it (then base64url
    // rejects it); inside the token it is not a b64token at all.
    cases.push(Case::bearer(
        "'==' padding after the signature",
        &format!("{valid}=="),
        Expect::InvalidToken,
    ));
    assert_ne!(header.len() % 3, 0, "the header's base64 needs padding");
    cases.push(Case::bearer(
        "'=' padding on the header segment",
        &format!("{h}=.{p}.{s}"),
        Expect::InvalidRequest,
    ));
    // '+' and '/' (standard alphabet) are b64token characters, not base64url.
    let std_sig = STANDARD
        .encode(URL_SAFE_NO_PAD.decode(s).expect("sig"))
        .trim_end_matches('=')
        .to_owned();
    assert_ne!(std_sig, s, "the signature has '-' or '_' to translate");
    cases.push(Case::bearer(
        "signature in the standard alphabet ('+', '/')",
        &format!("{h}.{p}.{std_sig}"),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "'~' inside the payload segment",
        &format!("{h}.{}~.{s}", &p[..p.len() - 1]),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "'+' inside the header segment",
        &format!("+{h}.{p}.{s}"),
        Expect::InvalidToken,
    ));
    // Whitespace inside a token is a broken header, not a token.
    cases.push(Case::bearer(
        "space inside the token",
        &format!("{h}. {p}.{s}"),
        Expect::InvalidRequest,
    ));
    cases.push(Case::bearer(
        "tab inside the token",
        &format!("{h}.\t{p}.{s}"),
        Expect::InvalidRequest,
    ));
    // Segment counts.
    for (name, token) in [
        ("one segment", h.to_owned()),
        ("two segments, header and signature", format!("{h}.{s}")),
        ("four segments", format!("{valid}.{s}")),
        ("five segments", format!("{h}.{p}.{s}.{s}.{s}")),
        ("empty header segment", format!(".{p}.{s}")),
        ("empty payload segment", format!("{h}..{s}")),
        ("leading dot", format!(".{valid}")),
        ("only dots", "..".to_owned()),
    ] {
        cases.push(Case::bearer(name, &token, Expect::InvalidToken));
    }
    // JWE compact (five segments, a key-management header).
    let jwe_header = b64(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"rsa-1"}"#);
    cases.push(Case::bearer(
        "JWE compact serialization",
        &format!(
            "{jwe_header}.{}.{}.{}.{}",
            b64(&[1; 256]),
            b64(&[2; 12]),
            p,
            b64(&[3; 16])
        ),
        Expect::InvalidToken,
    ));
    // JWS JSON serialization, as is (not a b64token) and base64url-wrapped.
    let json_jws = json!({"payload": p, "protected": h, "signature": s}).to_string();
    cases.push(Case::bearer(
        "JWS JSON serialization in the header",
        &json_jws,
        Expect::InvalidRequest,
    ));
    cases.push(Case::bearer(
        "JWS JSON serialization, base64url-encoded",
        &b64(json_jws.as_bytes()),
        Expect::InvalidToken,
    ));
    let flattened = json!({"payload": p, "signatures": [{"protected": h, "signature": s}]});
    cases.push(Case::bearer(
        "JWS general JSON serialization, base64url-encoded",
        &b64(flattened.to_string().as_bytes()),
        Expect::InvalidToken,
    ));
    // Not UTF-8, BOM, not an object: in the (unsigned-checked) header and in
    // a payload under a genuine signature.
    let signed = |hdr: &[u8], payload: &[u8]| k.rs256_raw(hdr, payload);
    let bad_utf8_header = br#"{"alg":"RS256","kid":"rsa-1","x":""#
        .iter()
        .chain(b"\xff\xfe\"}")
        .copied()
        .collect::<Vec<u8>>();
    cases.push(Case::bearer(
        "header not UTF-8",
        &signed(&bad_utf8_header, claims.as_bytes()),
        Expect::InvalidToken,
    ));
    let mut bad_utf8_payload = claims.as_bytes()[..claims.len() - 1].to_vec();
    bad_utf8_payload.extend(b",\"x\":\"\xc0\xaf\"}");
    cases.push(Case::bearer(
        "payload not UTF-8 (overlong '/'), signed",
        &signed(header.as_bytes(), &bad_utf8_payload),
        Expect::InvalidToken,
    ));
    let lone_surrogate = claims.replacen('{', r#"{"x":"\ud800","#, 1);
    cases.push(Case::bearer(
        "payload with a lone surrogate escape, signed",
        &signed(header.as_bytes(), lone_surrogate.as_bytes()),
        Expect::InvalidToken,
    ));
    let bom = |json: &str| [b"\xef\xbb\xbf".as_slice(), json.as_bytes()].concat();
    cases.push(Case::bearer(
        "BOM before the header JSON",
        &signed(&bom(&header), claims.as_bytes()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "BOM before the payload JSON, signed",
        &signed(header.as_bytes(), &bom(&claims)),
        Expect::InvalidToken,
    ));
    for not_object in ["[]", "\"RS256\"", "null", "1", "true", "", " "] {
        cases.push(Case::bearer(
            format!("header JSON {not_object:?}"),
            &signed(not_object.as_bytes(), claims.as_bytes()),
            Expect::InvalidToken,
        ));
    }
    for not_object in ["[]", "\"sub\"", "null", "0"] {
        cases.push(Case::bearer(
            format!("payload JSON {not_object:?}, signed"),
            &signed(header.as_bytes(), not_object.as_bytes()),
            Expect::InvalidToken,
        ));
    }
    let wrapped = format!("[{claims}]");
    cases.push(Case::bearer(
        "payload: the claims inside an array, signed",
        &signed(header.as_bytes(), wrapped.as_bytes()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "trailing garbage after the header JSON",
        &signed(format!("{header}x").as_bytes(), claims.as_bytes()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "a second object after the payload JSON, signed",
        &signed(header.as_bytes(), format!("{claims}{{}}").as_bytes()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "NUL after the payload JSON, signed",
        &signed(header.as_bytes(), format!("{claims}\0").as_bytes()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "trailing comma in the header JSON",
        &signed(br#"{"alg":"RS256","kid":"rsa-1",}"#, claims.as_bytes()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "single quotes in the header JSON",
        &signed(b"{'alg':'RS256','kid':'rsa-1'}", claims.as_bytes()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "comment in the header JSON",
        &signed(br#"{"alg":"RS256",/*x*/"kid":"rsa-1"}"#, claims.as_bytes()),
        Expect::InvalidToken,
    ));
    // Deep nesting: past the parser's recursion limit, no stack overflow.
    let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    cases.push(Case::bearer(
        "header nested 3000 deep",
        &signed(
            format!(r#"{{"alg":"RS256","kid":"rsa-1","x":{}}}"#, deep(3000)).as_bytes(),
            claims.as_bytes(),
        ),
        Expect::InvalidToken,
    ));
    let deep_claims = claims.replacen('{', &format!(r#"{{"x":{},"#, deep(4000)), 1);
    cases.push(Case::bearer(
        "payload nested 4000 deep, signed",
        &signed(header.as_bytes(), deep_claims.as_bytes()),
        Expect::InvalidToken,
    ));
    let deep_objects = claims.replacen(
        '{',
        &format!(r#"{{"x":{}1{},"#, r#"{"a":"#.repeat(1000), "}".repeat(1000)),
        1,
    );
    cases.push(Case::bearer(
        "payload with objects nested 1000 deep, signed",
        &signed(header.as_bytes(), deep_objects.as_bytes()),
        Expect::InvalidToken,
    ));
    // Numbers beyond every range.
    let exp_as = |raw: &str| {
        let v = mfa_claims();
        let exp = v["exp"].to_string();
        v.to_string()
            .replacen(&format!("\"exp\":{exp}"), &format!("\"exp\":{raw}"), 1)
    };
    for raw in [
        "1e400",
        "-1e400",
        "99999999999999999999999999999999",
        "1.7976931348623157e308",
        "-1.7976931348623157e308",
        "1e-400",
    ] {
        let payload = exp_as(raw);
        assert!(payload.contains(raw));
        cases.push(Case::bearer(
            format!("exp = {raw}, signed"),
            &signed(header.as_bytes(), payload.as_bytes()),
            Expect::InvalidToken,
        ));
    }
    let long_digits = claims.replacen('{', &format!(r#"{{"x":{},"#, "9".repeat(5000)), 1);
    cases.push(Case::bearer(
        "a 5000-digit number in the payload, signed",
        &signed(header.as_bytes(), long_digits.as_bytes()),
        // A large integer is a float to serde_json: out of range fails.
        Expect::InvalidToken,
    ));
    cases
}
