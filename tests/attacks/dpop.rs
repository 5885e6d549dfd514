//! The DPoP family: hostile proofs and bindings on a route that requires
//! DPoP, each answered with its exact challenges and none reaching the inner
//! service, with passing controls (RFC 9449 §4.3, §7.1).

use aws_lc_rs::hmac;
use serde_json::{Value, json};

use crate::dpop_client::{
    self as d, BEARER_INVALID_TOKEN, Client, DPOP_BARE, DPOP_INVALID_PROOF, ORIGIN, REQUIRED,
};
use crate::mint::{self, b64};

/// One row: a request on `REQUIRED` and its exact answer.
pub struct Row {
    pub name: &'static str,
    pub method: &'static str,
    pub authorization: Option<String>,
    pub proofs: Vec<String>,
    /// `None`: a control that must pass.
    pub challenges: Option<Vec<&'static str>>,
}

fn refused(
    name: &'static str,
    auth: &str,
    proofs: Vec<String>,
    challenges: Vec<&'static str>,
) -> Row {
    Row {
        name,
        method: "GET",
        authorization: Some(auth.to_owned()),
        proofs,
        challenges: Some(challenges),
    }
}

/// The clients and tokens of a table.
pub struct Setup {
    pub client: Client,
    pub other: Client,
    pub token: String,
    pub now: u64,
}

impl Setup {
    pub fn new(now: u64) -> Self {
        let client = Client::es256();
        let token = d::token(Some(&client.jkt()));
        Self {
            client,
            other: Client::es256(),
            token,
            now,
        }
    }

    fn auth(&self) -> String {
        format!("DPoP {}", self.token)
    }

    fn claims(&self) -> Value {
        d::claims("GET", &format!("{ORIGIN}{REQUIRED}"), &self.token, self.now)
    }

    /// A proof of the client with `edit` applied to its claims.
    fn with_claims(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.claims();
        edit(&mut claims);
        self.client.sign(&self.client.header(), &claims)
    }

    /// A proof of the client with `edit` applied to its header.
    fn with_header(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut header = self.client.header();
        edit(&mut header);
        self.client.sign(&header, &self.claims())
    }

    fn htu(&self, htu: &str) -> String {
        self.with_claims(|c| c["htu"] = json!(htu))
    }

    /// A proof with this header and the usual claims, signed by `sign`.
    fn raw(&self, header: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(self.claims().to_string().as_bytes())
        );
        let sig = sign(input.as_bytes());
        format!("{input}.{}", b64(&sig))
    }
}

/// At least 30 hostile rows.
pub fn rows(s: &Setup) -> Vec<Row> {
    let auth = s.auth();
    let bad = vec![DPOP_INVALID_PROOF];
    let p = |name, proof: String| refused(name, &auth, vec![proof], bad.clone());
    let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, b"the public jwk as an hmac secret");
    let mut rows = vec![
        // Algorithms.
        p("alg none, empty signature", {
            let h = json!({"typ":"dpop+jwt","alg":"none","jwk":s.client.jwk});
            let t = s.raw(&h, |_| Vec::new());
            t.trim_end_matches('.').to_owned() + "."
        }),
        p("alg none, some signature", s.raw(&json!({"typ":"dpop+jwt","alg":"none","jwk":s.client.jwk}), |_| vec![1, 2, 3])),
        p("alg HS256 over the public key", s.raw(&json!({"typ":"dpop+jwt","alg":"HS256","jwk":s.client.jwk}), |m| hmac::sign(&hmac_key, m).as_ref().to_vec())),
        p("alg HS256 with an oct jwk", s.raw(&json!({"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"oct","k":b64(b"the public jwk as an hmac secret")}}), |m| hmac::sign(&hmac_key, m).as_ref().to_vec())),
        p("alg in lower case", s.with_header(|h| h["alg"] = json!("es256"))),
        p("alg not a string", s.with_header(|h| h["alg"] = json!(["ES256"]))),
        p("alg ES384 on a P-256 key", s.with_header(|h| h["alg"] = json!("ES384"))),
        // Keys.
        p("jwk with a private member d", s.with_header(|h| h["jwk"]["d"] = json!(b64(&[7; 32])))),
        p("jwk that is a string", s.with_header(|h| h["jwk"] = json!("not a key"))),
        p("jwk missing", s.with_header(|h| { h.as_object_mut().map(|m| m.remove("jwk")); })),
        p("jwk point not on the curve", s.with_header(|h| h["jwk"]["y"] = json!(b64(&[1; 32])))),
        p("jwk of an unknown type", s.with_header(|h| h["jwk"]["kty"] = json!("XYZ"))),
        p("jwk declaring another alg", s.with_header(|h| h["jwk"]["alg"] = json!("RS256"))),
        p("signed by another key", {
            let claims = s.claims();
            s.other.sign(&s.client.header(), &claims)
        }),
        // Header shape.
        p("typ JWT", s.with_header(|h| h["typ"] = json!("JWT"))),
        p("typ missing", s.with_header(|h| { h.as_object_mut().map(|m| m.remove("typ")); })),
        p("crit header", s.with_header(|h| h["crit"] = json!(["exp"]))),
        p("duplicate header member", {
            let header = format!(r#"{{"typ":"dpop+jwt","typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#, s.client.jwk);
            s.client.key.sign_raw(header.as_bytes(), s.claims().to_string().as_bytes())
        }),
        p("not a JWS", "not.a.proof".to_owned()),
        p("four segments", format!("{}.x", s.with_claims(|_| {}))),
        // Claims.
        p("jti missing", s.with_claims(|c| { c.as_object_mut().map(|m| m.remove("jti")); })),
        p("jti a number", s.with_claims(|c| c["jti"] = json!(12345))),
        p("htm missing", s.with_claims(|c| { c.as_object_mut().map(|m| m.remove("htm")); })),
        p("htm POST on a GET", s.with_claims(|c| c["htm"] = json!("POST"))),
        p("htm in lower case", s.with_claims(|c| c["htm"] = json!("get"))),
        p("htu missing", s.with_claims(|c| { c.as_object_mut().map(|m| m.remove("htu")); })),
        p("htu with a query", s.htu(&format!("{ORIGIN}{REQUIRED}?a=1"))),
        p("htu with a fragment", s.htu(&format!("{ORIGIN}{REQUIRED}#f"))),
        p("htu on another host", s.htu(&format!("https://evil.example.com{REQUIRED}"))),
        p("htu on another port", s.htu(&format!("{ORIGIN}:8443{REQUIRED}"))),
        p("htu with a trailing slash", s.htu(&format!("{ORIGIN}{REQUIRED}/"))),
        p("htu path in upper case", s.htu(&format!("{ORIGIN}{}", REQUIRED.to_uppercase()))),
        p("htu over http", s.htu(&format!("http://api.example.com{REQUIRED}"))),
        p("htu relative", s.htu(REQUIRED)),
        p("iat missing", s.with_claims(|c| { c.as_object_mut().map(|m| m.remove("iat")); })),
        p("iat a string", s.with_claims(|c| c["iat"] = json!(s.now.to_string()))),
        p("iat older than the window", s.with_claims(|c| c["iat"] = json!(s.now - 600))),
        p("iat in the future", s.with_claims(|c| c["iat"] = json!(s.now + 600))),
        p("ath missing", s.with_claims(|c| { c.as_object_mut().map(|m| m.remove("ath")); })),
        p("ath of another token", s.with_claims(|c| c["ath"] = json!(d::ath("another token")))),
        p("ath padded", s.with_claims(|c| c["ath"] = json!(format!("{}=", d::ath(&s.token))))),
        p("ath of the scheme and token", s.with_claims(|c| c["ath"] = json!(d::ath(&format!("DPoP {}", s.token))))),
        p("thumbprint mismatch: another key's proof", {
            let claims = s.claims();
            s.other.sign(&s.other.header(), &claims)
        }),
        p("oversized proof", s.with_claims(|c| c["pad"] = json!("x".repeat(9000)))),
        refused("no DPoP header", &auth, vec![], bad.clone()),
        refused("two DPoP headers", &auth, vec![s.with_claims(|_| {}), s.with_claims(|_| {})], bad.clone()),
        // Bindings.
        refused("bound token sent as Bearer", &format!("Bearer {}", s.token), vec![], vec![BEARER_INVALID_TOKEN, DPOP_BARE]),
        refused("bound token as Bearer with a valid proof", &format!("Bearer {}", s.token), vec![s.with_claims(|_| {})], vec![BEARER_INVALID_TOKEN, DPOP_BARE]),
        {
            let plain = d::token(None);
            let proof = s.client.sign(&s.client.header(), &d::claims("GET", &format!("{ORIGIN}{REQUIRED}"), &plain, s.now));
            refused("unbound token with the DPoP scheme", &format!("DPoP {plain}"), vec![proof], vec![BEARER_INVALID_TOKEN, DPOP_BARE])
        },
        {
            let mut claims = mint::user_claims(&["mfa"]);
            claims["cnf"] = json!({"jkt": s.other.jkt()});
            let token = mint::rsa_key().token(&claims);
            let proof = s.client.sign(&s.client.header(), &d::claims("GET", &format!("{ORIGIN}{REQUIRED}"), &token, s.now));
            refused("token bound to another key", &format!("DPoP {token}"), vec![proof], bad.clone())
        },
    ];
    // Replay: a control, then the very same request again.
    let once = s.with_claims(|_| {});
    rows.push(Row {
        name: "first use of a proof (control)",
        method: "GET",
        authorization: Some(auth.clone()),
        proofs: vec![once.clone()],
        challenges: None,
    });
    rows.push(refused("jti reuse", &auth, vec![once], bad.clone()));
    rows
}

/// Controls that must pass: the proofs done right.
pub fn controls(s: &Setup) -> Vec<Row> {
    let ok = |name, proof: String| Row {
        name,
        method: "GET",
        authorization: Some(s.auth()),
        proofs: vec![proof],
        challenges: None,
    };
    vec![
        ok("control: a correct proof", s.with_claims(|_| {})),
        ok(
            "control: host in upper case",
            s.htu(&format!("https://API.EXAMPLE.COM{REQUIRED}")),
        ),
        ok(
            "control: default port written out",
            s.htu(&format!("https://api.example.com:443{REQUIRED}")),
        ),
        ok(
            "control: typ in upper case",
            s.with_header(|h| h["typ"] = json!("DPOP+JWT")),
        ),
        ok(
            "control: iat within the window",
            s.with_claims(|c| c["iat"] = json!(s.now - 30)),
        ),
        ok(
            "control: fractional iat",
            s.with_claims(|c| c["iat"] = json!(s.now as f64 - 0.5)),
        ),
        ok(
            "control: jwk with a kid",
            s.with_header(|h| h["jwk"]["kid"] = json!("mine")),
        ),
    ]
}
