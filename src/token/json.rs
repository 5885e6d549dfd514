//! Strict JSON: parses that reject duplicate member names at every depth.
//!
//! serde_json (and serde's `flatten`) keep the last of two members with the same
//! name; for a security token that ambiguity is a classic parser-differential
//! attack, so we refuse the token instead.
//!
//! Two forms: [`parse_object`] builds a `serde_json::Value` map (inspect, and
//! the first time a handler asks `Claims` for one); the seeds below
//! walk a document once without building values, keeping only what the
//! caller asks for (the token header and the claims the layer reads), with
//! strings borrowed from the input when they hold no escape.

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::Reason;

/// Parses a JSON object, rejecting duplicate member names anywhere inside.
///
/// Returns `Err(true)` for a duplicate member, `Err(false)` for any other
/// fault (invalid JSON, not an object).
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, bool> {
    match serde_json::from_slice::<Strict>(bytes) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        Ok(_) => Err(false),
        Err(e) => Err(is_duplicate(&e)),
    }
}

pub(crate) const DUPLICATE: &str = "duplicate member";

/// Whether a parse failed on a duplicate member (else: any other fault).
fn is_duplicate(e: &serde_json::Error) -> bool {
    e.to_string().starts_with(DUPLICATE)
}

/// Reads one whole document (nothing but whitespace after it) with `seed`,
/// refusing what [`parse_object`] refuses: [`Reason::DuplicateMember`] for a
/// repeated member name anywhere, [`Reason::MalformedJson`] for any other
/// fault.
pub(crate) fn read_strict<'de, S: DeserializeSeed<'de>>(
    bytes: &'de [u8],
    seed: S,
) -> Result<S::Value, Reason> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    seed.deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value))
        .map_err(|e| {
            if is_duplicate(&e) {
                Reason::DuplicateMember
            } else {
                Reason::MalformedJson
            }
        })
}

/// A document that is an array where an object must be: refused, after its
/// items are checked for duplicates as the `serde_json::Value` parse would.
pub(crate) fn not_an_object<'de, A: SeqAccess<'de>, T>(mut seq: A) -> Result<T, A::Error> {
    while seq.next_element_seed(Skip)?.is_some() {}
    Err(de::Error::custom("not an object"))
}

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

/// A JSON string: borrowed from the input when it holds no escape.
#[derive(Debug)]
pub(crate) enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Text<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s,
        }
    }

    /// The string as an owned `String` (copied only when borrowed).
    pub(crate) fn into_string(self) -> String {
        match self {
            Self::Borrowed(s) => s.to_owned(),
            Self::Owned(s) => s,
        }
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text<'_> {}

impl Hash for Text<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text::Owned(v))
    }
}

/// A member name.
pub(crate) struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Text<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Text<'de>, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

/// The member names met in one object, to refuse a second of any.
/// An inline list while small (no allocation for the usual handful), a hash
/// set (SipHash: a hostile document cannot make it quadratic) once an
/// object has many members.
pub(crate) struct Seen<'de> {
    few: [Option<Text<'de>>; FEW],
    len: usize,
    many: HashSet<Text<'de>>,
}

/// Members kept in the list before switching to the set.
const FEW: usize = 16;

impl Default for Seen<'_> {
    fn default() -> Self {
        Self {
            few: [const { None }; FEW],
            len: 0,
            many: HashSet::new(),
        }
    }
}

impl<'de> Seen<'de> {
    /// Records `name`; an error when it was met before.
    pub(crate) fn insert<E: de::Error>(&mut self, name: Text<'de>) -> Result<(), E> {
        let new = if self.len < FEW {
            if self.few[..self.len].iter().flatten().any(|n| *n == name) {
                false
            } else {
                self.few[self.len] = Some(name);
                self.len += 1;
                true
            }
        } else {
            if self.many.is_empty() {
                self.many
                    .extend(self.few.iter_mut().filter_map(Option::take));
            }
            self.many.insert(name)
        };
        if new {
            Ok(())
        } else {
            Err(E::custom(DUPLICATE))
        }
    }
}

/// Any JSON value, checked (no duplicate member at any depth) and dropped.
pub(crate) struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        finite(v).map(drop)
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen = Seen::default();
        while let Some(name) = access.next_key_seed(Name)? {
            access.next_value_seed(Skip)?;
            seen.insert(name)?;
        }
        Ok(())
    }
}

/// The numbers [`parse_object`] accepts (a `Value` cannot hold the rest).
fn finite<E: de::Error>(v: f64) -> Result<f64, E> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(E::custom("number out of range"))
    }
}

/// What one member's value is, as far as a typed check needs.
#[derive(Debug)]
pub(crate) enum Shape<'de> {
    Text(Text<'de>),
    Number(f64),
    /// An array whose items are all strings.
    Texts(Vec<Text<'de>>),
    /// Anything else (null, a boolean, an object, an array holding a
    /// non-string): checked, not kept.
    Other,
}

/// One value read into its [`Shape`].
pub(crate) struct ShapeOf;

impl<'de> DeserializeSeed<'de> for ShapeOf {
    type Value = Shape<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape<'de>, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E>(self, v: i64) -> Result<Shape<'de>, E> {
        Ok(Shape::Number(v as f64))
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E>(self, v: u64) -> Result<Shape<'de>, E> {
        Ok(Shape::Number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Shape<'de>, E> {
        finite(v).map(Shape::Number)
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Shape<'de>, E> {
        Ok(Shape::Text(Text::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Shape<'de>, E> {
        Ok(Shape::Text(Text::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Shape<'de>, E> {
        Ok(Shape::Text(Text::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape<'de>, A::Error> {
        let mut texts = Vec::new();
        let mut all_text = true;
        while let Some(item) = seq.next_element_seed(ShapeOf)? {
            match item {
                Shape::Text(text) if all_text => texts.push(text),
                _ => all_text = false,
            }
        }
        Ok(if all_text {
            Shape::Texts(texts)
        } else {
            Shape::Other
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Shape<'de>, A::Error> {
        SkipVisitor.visit_map(access).map(|()| Shape::Other)
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
