//! The token payload read once: strict (no duplicate member at any depth),
//! the claims the layer reads typed, their strings kept as spans of the
//! payload rather than copies. Every other member is checked and skipped;
//! the whole JSON map is built only if a handler asks for it.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::registered::{Cnf, Field, LONG_AMR_NAMES, Member, Registered, Slots};
use crate::error::Reason;
use crate::token::json::{DUPLICATE, Name, Seen, Shape, ShapeOf, Skip, not_an_object, read_strict};

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
        let mut slots = Slots {
            base: &json,
            unescaped: Vec::new(),
        };
        let read = read_strict(&json, Top { slots: &mut slots });
        let unescaped = slots.unescaped;
        let (registered, iss, wrong_type) = read?;
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
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        not_an_object(seq)
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
mod tests;
