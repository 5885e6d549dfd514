//! The JWS header read in one strict pass: the members the checks need
//! (`alg`, `typ`, `kid`) and whether a parameter we do not implement is
//! present, with no duplicate member at any depth.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::json::{Name, Seen, Shape, ShapeOf, Skip, not_an_object, read_strict};
use super::jws::REJECTED_HEADER_PARAMS;
use crate::error::Reason;

/// The header members the checks read, from one strict pass.
pub(super) struct HeaderFields<'de> {
    pub(super) alg: Option<Shape<'de>>,
    pub(super) typ: Option<Shape<'de>>,
    pub(super) kid: Option<Shape<'de>>,
    /// A member of [`REJECTED_HEADER_PARAMS`] is present.
    pub(super) rejected: bool,
}

pub(super) fn read_header(json: &[u8]) -> Result<HeaderFields<'_>, Reason> {
    read_strict(json, HeaderSeed)
}

struct HeaderSeed;

impl<'de> DeserializeSeed<'de> for HeaderSeed {
    type Value = HeaderFields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed {
    type Value = HeaderFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        not_an_object(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut fields = HeaderFields {
            alg: None,
            typ: None,
            kid: None,
            rejected: false,
        };
        let mut seen = Seen::default();
        while let Some(name) = access.next_key_seed(Name)? {
            let slot = match name.as_str() {
                "alg" => Some(&mut fields.alg),
                "typ" => Some(&mut fields.typ),
                "kid" => Some(&mut fields.kid),
                other => {
                    fields.rejected |= REJECTED_HEADER_PARAMS.contains(&other);
                    None
                }
            };
            match slot {
                Some(slot) => *slot = Some(access.next_value_seed(ShapeOf)?),
                None => access.next_value_seed(Skip)?,
            }
            seen.insert(name)?;
        }
        Ok(fields)
    }
}

/// A member's string value (`None`: absent or not a string).
pub(super) fn text<'a>(shape: Option<&'a Shape<'_>>) -> Option<&'a str> {
    match shape {
        Some(Shape::Text(t)) => Some(t.as_str()),
        _ => None,
    }
}
