//! The token payload read once: strict (no duplicate member at any depth),
//! the claims the layer reads typed, their strings kept as spans of the
//! payload rather than copies. Every other member is checked and skipped;
//! the whole JSON map is built only if a handler asks for it.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::Reason;
use crate::token::json::{DUPLICATE, Name, Seen, Shape, ShapeOf, Skip, Text, is_duplicate};

/// Where a string claim is: bytes `start..end` of the payload when the JSON
/// wrote it without an escape, else the `end`th of the unescaped copies.
/// Eight bytes, no drop: the typed claims stay small to move and free.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    start: u32,
    end: u32,
}

/// `Slot::start` of an unescaped copy.
const UNESCAPED: u32 = u32::MAX;

impl Slot {
    /// The string, read from `json` (the payload the slot was made from) or
    /// its unescaped copies.
    pub(crate) fn get<'a>(self, json: &'a str, unescaped: &'a [Box<str>]) -> &'a str {
        if self.start == UNESCAPED {
            unescaped.get(self.end as usize).map_or("", |s| s)
        } else {
            json.get(self.start as usize..self.end as usize)
                .unwrap_or("")
        }
    }
}

/// Makes [`Slot`]s for the strings of one payload.
struct Slots<'b> {
    base: &'b [u8],
    unescaped: Vec<Box<str>>,
}

impl Slots<'_> {
    fn slot(&mut self, text: Text<'_>) -> Slot {
        let span = match &text {
            Text::Borrowed(s) => {
                let start = (s.as_ptr() as usize).wrapping_sub(self.base.as_ptr() as usize);
                let end = start.wrapping_add(s.len());
                match (u32::try_from(start), u32::try_from(end)) {
                    (Ok(start), Ok(end))
                        if start != UNESCAPED
                            && start <= end
                            && end as usize <= self.base.len() =>
                    {
                        Some(Slot { start, end })
                    }
                    _ => None,
                }
            }
            Text::Owned(_) => None,
        };
        span.unwrap_or_else(|| {
            let index = u32::try_from(self.unescaped.len()).unwrap_or(u32::MAX);
            self.unescaped.push(into_string(text).into_boxed_str());
            Slot {
                start: UNESCAPED,
                end: index,
            }
        })
    }
}

/// Audience: a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Scopes: a space-separated string (Entra's `scp`, RFC 9068's `scope`) or
/// an array of strings (Okta's `scp`).
#[derive(Debug, Clone)]
pub(crate) enum Scopes {
    Spaced(Slot),
    List(Vec<String>),
}

/// A token format version: Entra's `"1.0"`/`"2.0"` or Okta's number `1`
/// (accepted, never read).
#[derive(Debug, Clone)]
pub(crate) enum Version {
    Text(Slot),
    Number,
}

/// One member of `cnf` (RFC 7800) the layer reads.
#[derive(Debug, Clone, Default)]
pub(crate) enum Member {
    #[default]
    Absent,
    Text(Slot),
    /// Present, not a string.
    Other,
}

/// The confirmation claim: `jkt` (DPoP) and `x5t#S256` (mTLS).
#[derive(Debug, Clone, Default)]
pub(crate) enum Cnf {
    #[default]
    Absent,
    /// Present, not an object.
    NotObject,
    Object {
        jkt: Member,
        x5t_s256: Member,
    },
}

/// The claims the crate reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registered {
    pub(crate) iss: Option<Slot>,
    pub(crate) sub: Option<Slot>,
    pub(crate) aud: Option<Audience>,
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
    pub(crate) jti: Option<Slot>,
    pub(crate) amr: Option<Vec<String>>,
    pub(crate) acr: Option<Slot>,
    pub(crate) acrs: Option<Vec<String>>,
    pub(crate) auth_time: Option<f64>,
    pub(crate) tid: Option<Slot>,
    pub(crate) oid: Option<Slot>,
    pub(crate) scp: Option<Scopes>,
    pub(crate) scope: Option<Scopes>,
    pub(crate) roles: Option<Vec<String>>,
    pub(crate) appid: Option<Slot>,
    pub(crate) azp: Option<Slot>,
    pub(crate) client_id: Option<Slot>,
    pub(crate) idtyp: Option<Slot>,
    pub(crate) upn: Option<Slot>,
    pub(crate) name: Option<Slot>,
    pub(crate) ver: Option<Version>,
    pub(crate) xms_cc: Option<Vec<String>>,
    pub(crate) cnf: Cnf,
    /// Whether a long-form `amr` claim (see `policy::mfa`) is present.
    pub(crate) long_amr: bool,
}

/// Long claim names some federation setups use for `amr` (opt-in: an admin
/// can map arbitrary values into claims of these names); read from the JSON
/// map, and only when the payload has one.
pub(crate) const LONG_AMR_NAMES: &[&str] = &[
    "authenticationmethodsreferences",
    "http://schemas.microsoft.com/claims/authnmethodsreferences",
];

/// How the payload's `iss` looked (the token is routed by it before the
/// signature check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IssShape {
    Absent,
    Text,
    Other,
}

/// A payload that parsed strictly; its content is trusted only once the
/// signature verified.
#[derive(Debug)]
pub(crate) struct Payload {
    pub(crate) json: String,
    /// Strings the JSON escaped, unescaped (their [`Slot`]s point here).
    pub(crate) unescaped: Vec<Box<str>>,
    pub(crate) registered: Registered,
    pub(crate) iss: IssShape,
    /// A claim the crate reads has the wrong JSON type (`null` included).
    pub(crate) wrong_type: bool,
}

impl Payload {
    /// Parses decoded payload bytes: [`Reason::DuplicateMember`] for a
    /// repeated member name anywhere, [`Reason::MalformedJson`] for anything
    /// else that is not one JSON object.
    pub(crate) fn parse(json: Vec<u8>) -> Result<Self, Reason> {
        let mut de = serde_json::Deserializer::from_slice(&json);
        let mut slots = Slots {
            base: &json,
            unescaped: Vec::new(),
        };
        let read = Top { slots: &mut slots }
            .deserialize(&mut de)
            .and_then(|read| de.end().map(|()| read));
        let unescaped = slots.unescaped;
        let (registered, iss, wrong_type) = read.map_err(|e| {
            if is_duplicate(&e) {
                Reason::DuplicateMember
            } else {
                Reason::MalformedJson
            }
        })?;
        // The parse read every byte: strings as UTF-8, the rest ASCII.
        let json = String::from_utf8(json).map_err(|_| Reason::MalformedJson)?;
        Ok(Self {
            json,
            unescaped,
            registered,
            iss,
            wrong_type,
        })
    }

    /// The issuer, for routing (not yet trusted).
    pub(crate) fn issuer(&self) -> Option<&str> {
        self.registered
            .iss
            .map(|s| s.get(&self.json, &self.unescaped))
    }
}

/// The claims read into [`Registered`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Jti,
    Amr,
    Acr,
    Acrs,
    AuthTime,
    Tid,
    Oid,
    Scp,
    Scope,
    Roles,
    Appid,
    Azp,
    ClientId,
    Idtyp,
    Upn,
    Name,
    Ver,
    XmsCc,
    Cnf,
}

impl Field {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "iss" => Self::Iss,
            "sub" => Self::Sub,
            "aud" => Self::Aud,
            "exp" => Self::Exp,
            "nbf" => Self::Nbf,
            "iat" => Self::Iat,
            "jti" => Self::Jti,
            "amr" => Self::Amr,
            "acr" => Self::Acr,
            "acrs" => Self::Acrs,
            "auth_time" => Self::AuthTime,
            "tid" => Self::Tid,
            "oid" => Self::Oid,
            "scp" => Self::Scp,
            "scope" => Self::Scope,
            "roles" => Self::Roles,
            "appid" => Self::Appid,
            "azp" => Self::Azp,
            "client_id" => Self::ClientId,
            "idtyp" => Self::Idtyp,
            "upn" => Self::Upn,
            "name" => Self::Name,
            "ver" => Self::Ver,
            "xms_cc" => Self::XmsCc,
            "cnf" => Self::Cnf,
            _ => return None,
        })
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

fn strings(texts: Vec<Text<'_>>) -> Vec<String> {
    texts
        .into_iter()
        .map(|t| match t {
            Text::Borrowed(s) => s.to_owned(),
            Text::Owned(s) => s,
        })
        .collect()
}

fn into_string(text: Text<'_>) -> String {
    match text {
        Text::Borrowed(s) => s.to_owned(),
        Text::Owned(s) => s,
    }
}

impl Registered {
    /// Stores one member; `false` when its JSON type is wrong.
    fn set(&mut self, field: Field, shape: Shape<'_>, slots: &mut Slots<'_>) -> bool {
        let mut text = |shape: Shape<'_>| match shape {
            Shape::Text(t) => Some(slots.slot(t)),
            _ => None,
        };
        let number = |shape: Shape<'_>| match shape {
            Shape::Number(n) => Some(n),
            _ => None,
        };
        let list = |shape: Shape<'_>| match shape {
            Shape::Texts(t) => Some(strings(t)),
            _ => None,
        };
        let scopes = |shape: Shape<'_>, slots: &mut Slots<'_>| match shape {
            Shape::Text(t) => Some(Scopes::Spaced(slots.slot(t))),
            Shape::Texts(t) => Some(Scopes::List(strings(t))),
            _ => None,
        };
        let slot = match field {
            Field::Iss => &mut self.iss,
            Field::Sub => &mut self.sub,
            Field::Jti => &mut self.jti,
            Field::Acr => &mut self.acr,
            Field::Tid => &mut self.tid,
            Field::Oid => &mut self.oid,
            Field::Appid => &mut self.appid,
            Field::Azp => &mut self.azp,
            Field::ClientId => &mut self.client_id,
            Field::Idtyp => &mut self.idtyp,
            Field::Upn => &mut self.upn,
            Field::Name => &mut self.name,
            Field::Exp => return put(&mut self.exp, number(shape)),
            Field::Nbf => return put(&mut self.nbf, number(shape)),
            Field::Iat => return put(&mut self.iat, number(shape)),
            Field::AuthTime => return put(&mut self.auth_time, number(shape)),
            Field::Amr => return put(&mut self.amr, list(shape)),
            Field::Acrs => return put(&mut self.acrs, list(shape)),
            Field::Roles => return put(&mut self.roles, list(shape)),
            Field::XmsCc => return put(&mut self.xms_cc, list(shape)),
            Field::Scp => return put(&mut self.scp, scopes(shape, slots)),
            Field::Scope => return put(&mut self.scope, scopes(shape, slots)),
            Field::Aud => {
                let aud = match shape {
                    Shape::Text(t) => Some(Audience::One(into_string(t))),
                    Shape::Texts(t) => Some(Audience::Many(strings(t))),
                    _ => None,
                };
                return put(&mut self.aud, aud);
            }
            Field::Ver => {
                let ver = match shape {
                    Shape::Text(t) => Some(Version::Text(slots.slot(t))),
                    Shape::Number(_) => Some(Version::Number),
                    _ => None,
                };
                return put(&mut self.ver, ver);
            }
            // Read by its own seed.
            Field::Cnf => return false,
        };
        put(slot, text(shape))
    }
}

fn put<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    let typed = value.is_some();
    *slot = value;
    typed
}

/// The top-level object.
struct Top<'s, 'b> {
    slots: &'s mut Slots<'b>,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = (Registered, IssShape, bool);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = (Registered, IssShape, bool);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    /// Not an object; still checked for duplicates inside, as the
    /// `serde_json::Value` parse would.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Err(de::Error::custom("not an object"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut r = Registered::default();
        let mut iss = IssShape::Absent;
        let mut wrong_type = false;
        let mut known = 0u32;
        let mut others = Seen::default();
        while let Some(name) = access.next_key_seed(Name)? {
            // Each value is read before its name is checked for a repeat,
            // as the `serde_json::Value` parse does (the same first fault).
            let Some(field) = Field::of(name.as_str()) else {
                r.long_amr |= LONG_AMR_NAMES.contains(&name.as_str());
                access.next_value_seed(Skip)?;
                others.insert(name)?;
                continue;
            };
            let repeated = known & field.bit() != 0;
            known |= field.bit();
            if field == Field::Cnf {
                let cnf = access.next_value_seed(CnfSeed {
                    slots: &mut *self.slots,
                })?;
                if repeated {
                    return Err(de::Error::custom(DUPLICATE));
                }
                r.cnf = cnf;
                continue;
            }
            let shape = access.next_value_seed(ShapeOf)?;
            if repeated {
                return Err(de::Error::custom(DUPLICATE));
            }
            let is_text = matches!(shape, Shape::Text(_));
            if field == Field::Iss {
                iss = if is_text {
                    IssShape::Text
                } else {
                    IssShape::Other
                };
            }
            if !r.set(field, shape, self.slots) {
                wrong_type = true;
            }
        }
        Ok((r, iss, wrong_type))
    }
}

/// `cnf`: its `jkt` and `x5t#S256`, every member checked.
struct CnfSeed<'s, 'b> {
    slots: &'s mut Slots<'b>,
}

impl<'de> DeserializeSeed<'de> for CnfSeed<'_, '_> {
    type Value = Cnf;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cnf, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CnfSeed<'_, '_> {
    type Value = Cnf;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Cnf, E> {
        Ok(Cnf::NotObject)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Cnf, E> {
        Ok(Cnf::NotObject)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Cnf, E> {
        Ok(Cnf::NotObject)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Cnf, E> {
        Ok(Cnf::NotObject)
    }

    fn visit_str<E>(self, _: &str) -> Result<Cnf, E> {
        Ok(Cnf::NotObject)
    }

    fn visit_unit<E>(self) -> Result<Cnf, E> {
        Ok(Cnf::NotObject)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cnf, A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(Cnf::NotObject)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Cnf, A::Error> {
        let mut seen = Seen::default();
        let (mut jkt, mut x5t_s256) = (Member::Absent, Member::Absent);
        while let Some(name) = access.next_key_seed(Name)? {
            let slot = match name.as_str() {
                "jkt" => Some(&mut jkt),
                "x5t#S256" => Some(&mut x5t_s256),
                _ => None,
            };
            match slot {
                Some(slot) => {
                    *slot = match access.next_value_seed(ShapeOf)? {
                        Shape::Text(t) => Member::Text(self.slots.slot(t)),
                        _ => Member::Other,
                    };
                }
                None => access.next_value_seed(Skip)?,
            }
            seen.insert(name)?;
        }
        Ok(Cnf::Object { jkt, x5t_s256 })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;
    use crate::claims::Claims;
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
            "iss" | "sub" | "jti" | "acr" | "tid" | "oid" | "appid" | "azp" | "client_id"
            | "idtyp" | "upn" | "name" => !text(v),
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
        let p =
            parse(r#"{"iss":"https://i.test/","sub":"a\"b","amr":["pwd","mfa"],"x":{"y":[1]}}"#)
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
}
