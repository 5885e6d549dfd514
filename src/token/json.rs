//! Strict JSON: a `serde_json::Value` parse that rejects duplicate member
//! names at every depth.
//!
//! serde_json (and serde's `flatten`) keep the last of two members with the same
//! name; for a security token that ambiguity is a classic parser-differential
//! attack, so we refuse the token instead.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses a JSON object, rejecting duplicate member names anywhere inside.
///
/// Returns `Err(true)` for a duplicate member, `Err(false)` for any other
/// fault (invalid JSON, not an object).
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, bool> {
    match serde_json::from_slice::<Strict>(bytes) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        Ok(_) => Err(false),
        Err(e) => Err(e.to_string().starts_with(DUPLICATE)),
    }
}

const DUPLICATE: &str = "duplicate member";

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let Strict(value) = access.next_value()?;
            if map.insert(key, value).is_some() {
                return Err(de::Error::custom(DUPLICATE));
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found_at_any_depth() {
        assert!(parse_object(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        assert_eq!(parse_object(br#"{"a":1,"a":1}"#), Err(true));
        assert_eq!(parse_object(br#"{"x":{"a":1,"a":2}}"#), Err(true));
        assert_eq!(parse_object(br#"{"x":[{"a":1,"a":2}]}"#), Err(true));
        // An escaped name is the same name.
        assert_eq!(parse_object(br#"{"amr":[],"\u0061mr":["mfa"]}"#), Err(true));
        assert_eq!(parse_object(br"[1]"), Err(false));
        assert_eq!(parse_object(br"{"), Err(false));
        assert_eq!(parse_object(b"\xef\xbb\xbf{}"), Err(false));
    }
}
