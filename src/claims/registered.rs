//! The claims the crate reads, typed: [`Registered`], its string [`Slot`]s
//! (spans of the payload, or unescaped copies), and how one member's
//! [`Shape`] is stored or found to have the wrong type.

use crate::token::json::{Shape, Text};

/// Where a string claim is: bytes `start..end` of the payload when the JSON
/// wrote it without an escape, else the `end`th of the unescaped copies.
/// Eight bytes, no drop: the typed claims stay small to move and free.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub(super) start: u32,
    pub(super) end: u32,
}

/// `Slot::start` of an unescaped copy.
pub(super) const UNESCAPED: u32 = u32::MAX;

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
pub(super) struct Slots<'b> {
    pub(super) base: &'b [u8],
    pub(super) unescaped: Vec<Box<str>>,
}

impl Slots<'_> {
    pub(super) fn slot(&mut self, text: Text<'_>) -> Slot {
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
            self.unescaped.push(text.into_string().into_boxed_str());
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

/// The claims read into [`Registered`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
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
    pub(super) fn of(name: &str) -> Option<Self> {
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

    pub(super) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

fn strings(texts: Vec<Text<'_>>) -> Vec<String> {
    texts.into_iter().map(Text::into_string).collect()
}

impl Registered {
    /// Stores one member; `false` when its JSON type is wrong.
    pub(super) fn set(&mut self, field: Field, shape: Shape<'_>, slots: &mut Slots<'_>) -> bool {
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
                    Shape::Text(t) => Some(Audience::One(t.into_string())),
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
