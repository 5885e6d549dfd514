//! The one-pass payload parse against the JSON-map parse, and its details.

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::*;
use crate::claims::Claims;
use crate::claims::registered::UNESCAPED;
use crate::token::json::parse_object;

/// JSON text: objects (member names from a small set, so repeats are
/// common, some written with escapes), arrays, strings with and without
/// escapes, numbers, literals.
fn json_text() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "iss",
        "amr",
        "aud",
        "exp",
        "scp",
        "ver",
        "cnf",
        "jkt",
        "x5t#S256",
        "sub",
        "tid",
        "a",
        "b",
        r"\u0061mr",
        r"i\u0073s",
        "authenticationmethodsreferences",
    ]);
    let leaf = prop_oneof![
        prop::sample::select(vec![
            r#""mfa""#,
            r#""pwd""#,
            r#""a\"b""#,
            r#""\u00e9""#,
            r#""""#,
            "1",
            "-2.5",
            "1e3",
            "17000000000",
            "true",
            "null",
            "[]",
            "{}",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((name.clone(), inner), 0..7).prop_map(|members| {
                let members: Vec<String> = members
                    .iter()
                    .map(|(n, v)| format!(r#""{n}":{v}"#))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// The old reading of a payload, from the JSON map: whether a claim the
/// crate reads has the wrong type.
fn wrong_type_in(map: &Map<String, Value>) -> bool {
    let text = |v: &Value| v.is_string();
    let texts = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    map.iter().any(|(name, v)| match name.as_str() {
        "iss" | "sub" | "jti" | "acr" | "tid" | "oid" | "appid" | "azp" | "client_id" | "idtyp"
        | "upn" | "name" => !text(v),
        "exp" | "nbf" | "iat" | "auth_time" => !v.is_number(),
        "amr" | "acrs" | "roles" | "xms_cc" => !texts(v),
        "aud" | "scp" | "scope" => !text(v) && !texts(v),
        "ver" => !text(v) && !v.is_number(),
        _ => false,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// The one-pass parse refuses exactly what the `Value` parse refuses
    /// (duplicates told apart from other faults), and reads the same
    /// claims from what both accept.
    #[test]
    fn one_pass_parse_agrees_with_the_value_parse(
        text in json_text(),
        cut in prop::option::of(0..64usize),
        tail in prop::sample::select(vec!["", " ", "x", "}", ",1"]),
    ) {
        let mut text = text;
        if let Some(cut) = cut {
            text.truncate(text.len().saturating_sub(cut));
        }
        text.push_str(tail);
        let old = parse_object(text.as_bytes());
        let new = Payload::parse(text.clone().into_bytes());
        match (&old, &new) {
            (Ok(map), Ok(payload)) => {
                prop_assert_eq!(payload.wrong_type, wrong_type_in(map), "{}", text);
                let iss = map.get("iss").and_then(Value::as_str);
                prop_assert_eq!(payload.issuer(), iss);
                if !payload.wrong_type {
                    let claims = Claims::new(Payload::parse(text.clone().into_bytes()).unwrap()).unwrap();
                    let amr: Vec<&str> = map.get("amr").and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                    prop_assert_eq!(claims.amr().iter().map(String::as_str).collect::<Vec<_>>(), amr);
                    prop_assert_eq!(claims.subject(), map.get("sub").and_then(Value::as_str));
                    prop_assert_eq!(claims.as_map(), map);
                    let jkt = match map.get("cnf") {
                        None => Ok(None),
                        Some(Value::Object(cnf)) => match cnf.get("jkt") {
                            None => Ok(None),
                            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
                            Some(_) => Err(Reason::ClaimType),
                        },
                        Some(_) => Err(Reason::ClaimType),
                    };
                    prop_assert_eq!(crate::dpop::bound_key(&claims), jkt);
                }
            }
            (Err(true), Err(Reason::DuplicateMember))
            | (Err(false), Err(Reason::MalformedJson)) => {}
            _ => prop_assert!(false, "{text}: value parse {old:?}, one pass {new:?}"),
        }
    }
}

fn parse(json: &str) -> Result<Payload, Reason> {
    Payload::parse(json.as_bytes().to_vec())
}

#[test]
fn strings_are_spans_unless_escaped() {
    let p = parse(r#"{"iss":"https://i.test/","sub":"a\"b","amr":["pwd","mfa"],"x":{"y":[1]}}"#)
        .unwrap();
    assert!(p.registered.iss.is_some_and(|s| s.start != UNESCAPED));
    assert_eq!(p.issuer(), Some("https://i.test/"));
    let sub = p.registered.sub.unwrap();
    assert_eq!((sub.start, sub.end), (UNESCAPED, 0));
    assert_eq!(sub.get(&p.json, &p.unescaped), "a\"b");
    assert_eq!(
        p.registered.amr.as_deref(),
        Some(&["pwd".to_owned(), "mfa".to_owned()][..])
    );
    assert!(!p.wrong_type);
}

#[test]
fn duplicates_anywhere_are_refused() {
    let dup = |json: &str| matches!(parse(json), Err(Reason::DuplicateMember));
    assert!(dup(r#"{"iss":"a","iss":"b"}"#));
    assert!(dup(r#"{"x":1,"x":2}"#));
    assert!(dup(r#"{"amr":[],"\u0061mr":["mfa"]}"#));
    assert!(dup(r#"{"x":{"a":1,"a":2}}"#));
    assert!(dup(r#"{"x":[{"a":1,"a":2}]}"#));
    assert!(dup(r#"{"cnf":{"jkt":"a","jkt":"b"}}"#));
    assert!(dup(r#"{"cnf":{"z":1,"z":1}}"#));
    assert!(dup(r#"[{"a":1,"a":2}]"#));
    // Many members: the hash set takes over from the list.
    let many: Vec<String> = (0..40).map(|i| format!(r#""m{i}":{i}"#)).collect();
    assert!(parse(&format!("{{{}}}", many.join(","))).is_ok());
    assert!(dup(&format!(r#"{{{},"m3":0}}"#, many.join(","))));
}

#[test]
fn not_one_object_is_malformed() {
    for json in [
        "[1]",
        "{",
        "1",
        "\"s\"",
        "{}x",
        "\u{feff}{}",
        "{\"a\":1e999}",
    ] {
        assert!(matches!(parse(json), Err(Reason::MalformedJson)), "{json}");
    }
    assert!(matches!(
        Payload::parse(b"{\"a\":\"\xff\"}".to_vec()),
        Err(Reason::MalformedJson)
    ));
}

#[test]
fn wrong_types_are_flagged_not_fatal() {
    for json in [
        r#"{"exp":"soon"}"#,
        r#"{"amr":"mfa"}"#,
        r#"{"amr":["mfa",1]}"#,
        r#"{"sub":null}"#,
        r#"{"aud":[1]}"#,
        r#"{"ver":true}"#,
        r#"{"scp":{}}"#,
    ] {
        assert!(parse(json).unwrap().wrong_type, "{json}");
    }
    let p = parse(r#"{"iss":5}"#).unwrap();
    assert_eq!((p.iss, p.wrong_type), (IssShape::Other, true));
    let p = parse(r#"{"ver":1,"scp":["a"],"aud":"x","other":null}"#).unwrap();
    assert!(!p.wrong_type);
    assert_eq!(p.iss, IssShape::Absent);
}

#[test]
fn cnf_members() {
    let p = parse(r#"{"cnf":{"jkt":"abc","x5t#S256":5,"other":[1]}}"#).unwrap();
    let Cnf::Object { jkt, x5t_s256 } = &p.registered.cnf else {
        panic!("object")
    };
    assert!(matches!(jkt, Member::Text(s) if s.get(&p.json, &p.unescaped) == "abc"));
    assert!(matches!(x5t_s256, Member::Other));
    assert!(matches!(
        parse(r#"{"cnf":"x"}"#).unwrap().registered.cnf,
        Cnf::NotObject
    ));
    assert!(
        parse(r#"{"authenticationmethodsreferences":"mfa"}"#)
            .unwrap()
            .registered
            .long_amr
    );
}
