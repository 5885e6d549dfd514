//! The verified claims of a token, as handlers see them.

mod payload;
mod registered;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub(crate) use payload::{IssShape, Payload};
pub(crate) use registered::{
    Audience, Cnf, LONG_AMR_NAMES, Member, Registered, Scopes, Slot, Version,
};

use crate::time::from_unix_seconds;

/// The claims of a verified access token, attached to the request extensions
/// by [`RequireMfaLayer`](crate::RequireMfaLayer).
///
/// Cheap to clone (an `Arc` inside). Standard claims are typed, read in the
/// one pass that checked the payload; every claim, typed or not, is also
/// available as JSON through [`Claims::get`] (the map is built on first use),
/// and a handler can read its own claim type with [`Claims::deserialize`].
///
/// `Debug` prints only the subject's identifiers, never the whole token.
#[derive(Clone)]
pub struct Claims(Arc<Inner>);

struct Inner {
    /// The payload's JSON text, as signed.
    json: String,
    /// Strings the JSON escaped, unescaped.
    unescaped: Vec<Box<str>>,
    /// The claims the crate reads; their strings are spans of `json`.
    registered: Registered,
    /// Every claim as JSON, built on first use ([`Claims::get`]).
    raw: OnceLock<Map<String, Value>>,
}

impl Claims {
    /// The claims of a payload that parsed strictly; `None` when a claim
    /// the crate reads has the wrong JSON type.
    pub(crate) fn new(payload: Payload) -> Option<Self> {
        (!payload.wrong_type).then(|| {
            Self(Arc::new(Inner {
                json: payload.json,
                unescaped: payload.unescaped,
                registered: payload.registered,
                raw: OnceLock::new(),
            }))
        })
    }

    /// The claims of a JSON map (inspect, tests); `None` when a claim the
    /// crate reads has the wrong type.
    #[cfg(any(test, feature = "cli"))]
    pub(crate) fn from_payload(map: Map<String, Value>) -> Option<Self> {
        let json = serde_json::to_vec(&map).ok()?;
        Self::new(Payload::parse(json).ok()?)
    }

    pub(crate) fn registered(&self) -> &Registered {
        &self.0.registered
    }

    /// A string claim read into `slot`.
    pub(crate) fn text(&self, slot: &Option<Slot>) -> Option<&str> {
        slot.map(|s| self.get_text(s))
    }

    fn get_text(&self, slot: Slot) -> &str {
        slot.get(&self.0.json, &self.0.unescaped)
    }

    /// `ver` when it is a string (Entra's `"1.0"`/`"2.0"`).
    pub(crate) fn version(&self) -> Option<&str> {
        match &self.0.registered.ver {
            Some(Version::Text(slot)) => Some(self.get_text(*slot)),
            _ => None,
        }
    }

    /// A `cnf` member (`jkt`, `x5t#S256`): `Ok(None)` when `cnf` or the
    /// member is absent, [`Reason::ClaimType`](crate::error::Reason) when
    /// `cnf` is not an object or the member not a non-empty string.
    pub(crate) fn confirmation(
        &self,
        member: fn(&Cnf) -> Option<&Member>,
    ) -> Result<Option<&str>, crate::error::Reason> {
        let cnf = &self.0.registered.cnf;
        match (cnf, member(cnf)) {
            (Cnf::Absent, _) | (Cnf::Object { .. }, Some(Member::Absent)) => Ok(None),
            (Cnf::Object { .. }, Some(Member::Text(slot))) => {
                let value = self.get_text(*slot);
                if value.is_empty() {
                    Err(crate::error::Reason::ClaimType)
                } else {
                    Ok(Some(value))
                }
            }
            _ => Err(crate::error::Reason::ClaimType),
        }
    }

    /// `iss`: the issuer.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.text(&self.0.registered.iss)
    }

    /// `sub`: the subject.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.text(&self.0.registered.sub)
    }

    /// `aud`: the audiences (one or many).
    #[must_use]
    pub fn audiences(&self) -> &[String] {
        match &self.0.registered.aud {
            Some(Audience::One(a)) => std::slice::from_ref(a),
            Some(Audience::Many(a)) => a,
            None => &[],
        }
    }

    /// `exp`: expiry (`None` when absent or beyond what `SystemTime` holds).
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.registered.exp.and_then(from_unix_seconds)
    }

    /// `nbf`: not before (`None` when absent or beyond what `SystemTime` holds).
    #[must_use]
    pub fn not_before(&self) -> Option<SystemTime> {
        self.0.registered.nbf.and_then(from_unix_seconds)
    }

    /// `iat`: issued at (`None` when absent or beyond what `SystemTime` holds).
    #[must_use]
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.0.registered.iat.and_then(from_unix_seconds)
    }

    /// `jti`: the token's unique id.
    #[must_use]
    pub fn jti(&self) -> Option<&str> {
        self.text(&self.0.registered.jti)
    }

    /// `amr`: the authentication methods references.
    #[must_use]
    pub fn amr(&self) -> &[String] {
        self.0.registered.amr.as_deref().unwrap_or(&[])
    }

    /// `acr`: the authentication context class reference.
    #[must_use]
    pub fn acr(&self) -> Option<&str> {
        self.text(&self.0.registered.acr)
    }

    /// `acrs`: Entra authentication context ids satisfied.
    #[must_use]
    pub fn acrs(&self) -> &[String] {
        self.0.registered.acrs.as_deref().unwrap_or(&[])
    }

    /// `auth_time`: when the user last authenticated (`None` when absent or
    /// beyond what `SystemTime` holds).
    #[must_use]
    pub fn auth_time(&self) -> Option<SystemTime> {
        self.0.registered.auth_time.and_then(from_unix_seconds)
    }

    /// `tid`: the Entra tenant id.
    #[must_use]
    pub fn tenant_id(&self) -> Option<&str> {
        self.text(&self.0.registered.tid)
    }

    /// `oid`: the Entra object id of the caller.
    #[must_use]
    pub fn object_id(&self) -> Option<&str> {
        self.text(&self.0.registered.oid)
    }

    /// Delegated scopes: Entra's `scp`, else OAuth's `scope`, split on
    /// spaces when a string, element by element when an array (Okta's `scp`).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        let r = &self.0.registered;
        let (spaced, list) = match r.scp.as_ref().or(r.scope.as_ref()) {
            Some(Scopes::Spaced(text)) => (self.get_text(*text), &[][..]),
            Some(Scopes::List(list)) => ("", list.as_slice()),
            None => ("", &[][..]),
        };
        spaced
            .split(' ')
            .chain(list.iter().map(String::as_str))
            .filter(|s| !s.is_empty())
    }

    /// `roles`: application or user roles.
    #[must_use]
    pub fn roles(&self) -> &[String] {
        self.0.registered.roles.as_deref().unwrap_or(&[])
    }

    /// The client (application) id: `appid` (Entra v1), `azp` (v2, OIDC) or
    /// `client_id` (RFC 9068), the first present.
    #[must_use]
    pub fn client_id(&self) -> Option<&str> {
        let r = &self.0.registered;
        self.text(&r.appid)
            .or_else(|| self.text(&r.azp))
            .or_else(|| self.text(&r.client_id))
    }

    /// `idtyp`: Entra's token type hint (`app` or `user`).
    #[must_use]
    pub fn idtyp(&self) -> Option<&str> {
        self.text(&self.0.registered.idtyp)
    }

    /// `upn`: the user principal name.
    #[must_use]
    pub fn upn(&self) -> Option<&str> {
        self.text(&self.0.registered.upn)
    }

    /// `name`: the display name.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.text(&self.0.registered.name)
    }

    /// `xms_cc`: the client capabilities Entra relays (`cp1`: the client can
    /// answer a claims challenge).
    #[must_use]
    pub fn client_capabilities(&self) -> &[String] {
        self.0.registered.xms_cc.as_deref().unwrap_or(&[])
    }

    /// Any claim, typed by the crate or not, as JSON.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().get(name)
    }

    /// All claims as a JSON object.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        self.0.raw.get_or_init(|| {
            // Parsed strictly once already: this cannot fail.
            crate::token::json::parse_object(self.0.json.as_bytes()).unwrap_or_default()
        })
    }

    /// Reads the claims into a type of the application's own.
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0.json)
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("sub", &self.subject())
            .field("tid", &self.tenant_id())
            .field("oid", &self.object_id())
            .field("client_id", &self.client_id())
            .finish_non_exhaustive()
    }
}
