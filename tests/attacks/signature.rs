//! Signature attacks: stripped, truncated, flipped, resized, by another key,
//! degenerate ECDSA values, DER instead of JOSE form, non-canonical encodings.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::harness::{Case, Expect, Keys, keys, mfa_claims, with};
use crate::mint::b64;

/// The order of P-256.
const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
/// The order of P-384.
const P384_N: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";
/// The order L of the Ed25519 group, little-endian.
const ED25519_L_LE: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `token` with its signature segment replaced by `sig` bytes.
fn resigned(token: &str, sig: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').expect("three segments");
    format!("{input}.{}", b64(sig))
}

fn signature(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(token.rsplit_once('.').expect("sig").1)
        .expect("b64")
}

pub fn cases() -> Vec<Case> {
    let k = keys();
    let valid = k.valid();
    let sig = signature(&valid);
    let (input, sig_b64) = valid.rsplit_once('.').expect("segments");
    let mut cases = Vec::new();

    cases.push(Case::bearer(
        "signature stripped, trailing dot kept",
        &format!("{input}."),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "signature stripped with its dot",
        input,
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "signature truncated by one byte",
        &resigned(&valid, &sig[..sig.len() - 1]),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "signature truncated to half",
        &resigned(&valid, &sig[..sig.len() / 2]),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "signature base64 cut by one character",
        &format!("{input}.{}", &sig_b64[..sig_b64.len() - 1]),
        Expect::InvalidToken,
    ));
    for (name, index, bit) in [
        ("last bit flipped", sig.len() - 1, 0x01),
        ("first bit flipped", 0, 0x80),
        ("middle byte flipped", sig.len() / 2, 0xff),
    ] {
        let mut flipped = sig.clone();
        flipped[index] ^= bit;
        cases.push(Case::bearer(
            format!("signature {name}"),
            &resigned(&valid, &flipped),
            Expect::InvalidToken,
        ));
    }
    let mut longer = sig.clone();
    longer.push(0);
    cases.push(Case::bearer(
        "signature with an extra byte",
        &resigned(&valid, &longer),
        Expect::InvalidToken,
    ));
    let mut prefixed = vec![0];
    prefixed.extend(&sig);
    cases.push(Case::bearer(
        "signature with a leading zero byte",
        &resigned(&valid, &prefixed),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "RSA signature all zero",
        &resigned(&valid, &[0; 256]),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "RSA signature equal to the modulus",
        &resigned(&valid, &k.rsa.n()),
        Expect::InvalidToken,
    ));
    let mut one = vec![0; 256];
    one[255] = 1;
    cases.push(Case::bearer(
        "RSA signature equal to 1",
        &resigned(&valid, &one),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "signed by the attacker's key under our kid",
        &Keys::compact(
            crate::harness::rsa_header().to_string().as_bytes(),
            mfa_claims().to_string().as_bytes(),
            |m| k.attacker.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, m),
        ),
        Expect::InvalidToken,
    ));
    // A genuine signature over a password-only payload, with an MFA payload
    // swapped in.
    let pwd_token = k.token(&with(mfa_claims(), "amr", json!(["pwd"])));
    let (pwd_header, rest) = pwd_token.split_once('.').expect("segments");
    let (_, pwd_sig) = rest.split_once('.').expect("segments");
    let mfa_payload = b64(mfa_claims().to_string().as_bytes());
    cases.push(Case::bearer(
        "payload swapped under a genuine signature",
        &format!("{pwd_header}.{mfa_payload}.{pwd_sig}"),
        Expect::InvalidToken,
    ));
    // The signature of one token on another token's header.
    let es_header = json!({"alg":"RS256","kid":"rsa-1"}).to_string();
    cases.push(Case::bearer(
        "header swapped under a genuine signature",
        &format!(
            "{}.{}",
            b64(es_header.as_bytes()),
            valid.split_once('.').expect("segments").1
        ),
        Expect::InvalidToken,
    ));

    // ECDSA: degenerate values and the wrong encoding.
    let es = |alg: &str, kid: &str| json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string();
    let claims = mfa_claims().to_string();
    let es256 = Keys::compact(es("ES256", "ec-1").as_bytes(), claims.as_bytes(), |m| {
        k.ec256.sign(m)
    });
    let es384 = Keys::compact(es("ES384", "ec-2").as_bytes(), claims.as_bytes(), |m| {
        k.ec384.sign(m)
    });
    let n256 = hex(P256_N);
    let n384 = hex(P384_N);
    let good256 = signature(&es256);
    cases.push(Case::bearer(
        "ES256 r = s = 0",
        &resigned(&es256, &[0; 64]),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES256 r = s = n",
        &resigned(&es256, &[n256.clone(), n256.clone()].concat()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES256 r = n, genuine s",
        &resigned(&es256, &[n256.clone(), good256[32..].to_vec()].concat()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES256 genuine r, s = n",
        &resigned(&es256, &[good256[..32].to_vec(), n256.clone()].concat()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES256 genuine r, s = 0",
        &resigned(&es256, &[good256[..32].to_vec(), vec![0; 32]].concat()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES256 all ones",
        &resigned(&es256, &[0xff; 64]),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES384 r = s = 0",
        &resigned(&es384, &[0; 96]),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES384 r = s = n",
        &resigned(&es384, &[n384.clone(), n384].concat()),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES256 signature DER-encoded instead of r||s",
        &Keys::compact(es("ES256", "ec-1").as_bytes(), claims.as_bytes(), |m| {
            k.ec256.sign_der(m)
        }),
        Expect::InvalidToken,
    ));
    cases.push(Case::bearer(
        "ES256 signature as r||s padded to 66 bytes",
        &resigned(
            &es256,
            &[
                vec![0],
                good256[..32].to_vec(),
                vec![0],
                good256[32..].to_vec(),
            ]
            .concat(),
        ),
        Expect::InvalidToken,
    ));

    // Ed25519: zero signature and the non-canonical S + L.
    let ed = Keys::compact(es("EdDSA", "ed-1").as_bytes(), claims.as_bytes(), |m| {
        k.ed.sign(m).as_ref().to_vec()
    });
    let good_ed = signature(&ed);
    cases.push(Case::bearer(
        "EdDSA signature all zero",
        &resigned(&ed, &[0; 64]),
        Expect::InvalidToken,
    ));
    let mut malleated = good_ed.clone();
    let mut carry = 0u16;
    for (i, l) in ED25519_L_LE.iter().enumerate() {
        let sum = u16::from(malleated[32 + i]) + u16::from(*l) + carry;
        malleated[32 + i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + L fits in 32 bytes");
    cases.push(Case::bearer(
        "EdDSA non-canonical S + L (malleability)",
        &resigned(&ed, &malleated),
        Expect::InvalidToken,
    ));

    // Non-canonical base64url: same bytes, other text (the unused low bits
    // of the last character set).
    let last = sig_b64.as_bytes()[sig_b64.len() - 1];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.iter().position(|c| *c == last).expect("b64url");
    // 256 bytes = 85 groups + 1 byte: the last character carries 2 bits.
    let sibling = alphabet[(index & !0x0f) | ((index + 1) & 0x0f)] as char;
    let non_canonical = format!("{input}.{}{sibling}", &sig_b64[..sig_b64.len() - 1]);
    assert_ne!(non_canonical, valid);
    cases.push(Case::bearer(
        "signature with non-canonical trailing bits",
        &non_canonical,
        Expect::InvalidToken,
    ));
    cases
}
