//! The verified claims of a token, as handlers see them.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::time::from_unix_seconds;

/// The claims of a verified access token, attached to the request extensions
/// by [`RequireMfaLayer`](crate::RequireMfaLayer).
///
/// Cheap to clone (an `Arc` inside). Standard claims are typed; every claim,
/// typed or not, is also available as JSON through [`Claims::get`], and a
/// handler can read its own claim type with [`Claims::deserialize`].
///
/// `Debug` prints only the subject's identifiers, never the whole token.
#[derive(Clone)]
pub struct Claims(Arc<Inner>);

struct Inner {
    registered: Registered,
    raw: Map<String, Value>,
}

/// Audience: a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Scopes: a space-separated string (Entra's `scp`, RFC 9068's `scope`) or
/// an array of strings (Okta's `scp`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scopes {
    Spaced(String),
    List(Vec<String>),
}

/// A token format version: Entra's `"1.0"`/`"2.0"` or Okta's number `1`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Version {
    Text(String),
    /// Only accepted (as Okta's number), never read.
    Number(#[allow(dead_code)] serde_json::Number),
}

impl Version {
    /// The version when it is a string (Entra's form).
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Number(_) => None,
        }
    }
}

/// The claims the crate reads. Deserialization fails on a wrong JSON type.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Registered {
    pub(crate) iss: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) aud: Option<Audience>,
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
    pub(crate) jti: Option<String>,
    pub(crate) amr: Option<Vec<String>>,
    pub(crate) acr: Option<String>,
    pub(crate) acrs: Option<Vec<String>>,
    pub(crate) auth_time: Option<f64>,
    pub(crate) tid: Option<String>,
    pub(crate) oid: Option<String>,
    pub(crate) scp: Option<Scopes>,
    pub(crate) scope: Option<Scopes>,
    pub(crate) roles: Option<Vec<String>>,
    pub(crate) appid: Option<String>,
    pub(crate) azp: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) idtyp: Option<String>,
    pub(crate) upn: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) ver: Option<Version>,
    pub(crate) xms_cc: Option<Vec<String>>,
}

/// Names of the claims in [`Registered`]: `null` is a wrong type for each.
const TYPED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "amr",
    "acr",
    "acrs",
    "auth_time",
    "tid",
    "oid",
    "scp",
    "scope",
    "roles",
    "appid",
    "azp",
    "client_id",
    "idtyp",
    "upn",
    "name",
    "ver",
    "xms_cc",
];

impl Claims {
    /// Types the standard claims of a payload; `None` when one has the wrong type.
    pub(crate) fn from_payload(raw: Map<String, Value>) -> Option<Self> {
        // One pass over the members (a null is rare), not a lookup per name.
        if raw
            .iter()
            .any(|(name, value)| value.is_null() && TYPED.contains(&name.as_str()))
        {
            return None;
        }
        let registered = Registered::deserialize(&raw).ok()?;
        Some(Self(Arc::new(Inner { registered, raw })))
    }

    pub(crate) fn registered(&self) -> &Registered {
        &self.0.registered
    }

    /// `iss`: the issuer.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.0.registered.iss.as_deref()
    }

    /// `sub`: the subject.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.0.registered.sub.as_deref()
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
        self.0.registered.jti.as_deref()
    }

    /// `amr`: the authentication methods references.
    #[must_use]
    pub fn amr(&self) -> &[String] {
        self.0.registered.amr.as_deref().unwrap_or(&[])
    }

    /// `acr`: the authentication context class reference.
    #[must_use]
    pub fn acr(&self) -> Option<&str> {
        self.0.registered.acr.as_deref()
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
        self.0.registered.tid.as_deref()
    }

    /// `oid`: the Entra object id of the caller.
    #[must_use]
    pub fn object_id(&self) -> Option<&str> {
        self.0.registered.oid.as_deref()
    }

    /// Delegated scopes: Entra's `scp`, else OAuth's `scope`, split on
    /// spaces when a string, element by element when an array (Okta's `scp`).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        let r = &self.0.registered;
        let (spaced, list) = match r.scp.as_ref().or(r.scope.as_ref()) {
            Some(Scopes::Spaced(text)) => (text.as_str(), &[][..]),
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
        r.appid
            .as_deref()
            .or(r.azp.as_deref())
            .or(r.client_id.as_deref())
    }

    /// `idtyp`: Entra's token type hint (`app` or `user`).
    #[must_use]
    pub fn idtyp(&self) -> Option<&str> {
        self.0.registered.idtyp.as_deref()
    }

    /// `upn`: the user principal name.
    #[must_use]
    pub fn upn(&self) -> Option<&str> {
        self.0.registered.upn.as_deref()
    }

    /// `name`: the display name.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.0.registered.name.as_deref()
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
        self.0.raw.get(name)
    }

    /// All claims as a JSON object.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0.raw
    }

    /// Reads the claims into a type of the application's own.
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.0.raw)
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
