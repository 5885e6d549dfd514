//! Exemptions: Microsoft's "technical exception requests".
//!
//! An [`Exemption`] suppresses the MFA check on `mfa` routes for one tenant
//! (`tid`), one user (`oid`) or one application (its client id), until it
//! expires. An application exemption covers that application's app-only
//! tokens only, never users signing in through it, unless it is marked
//! [`delegated`](Exemption::delegated); any exemption can be limited to one
//! tenant ([`in_tenant`](Exemption::in_tenant)). Exemptions are consulted only after the token was fully verified
//! (the last step of the pipeline) and only when the caller lacks MFA proof: they never
//! bypass token verification, the tenant allow/deny lists, or a rule's
//! required scopes and roles. Every use is logged as an audit event at target
//! `tower_mfa::audit` (level WARN), and the exemption's id is in the request's
//! [`Decision`](crate::Decision).
//!
//! The set is shared and reloadable: keep a clone of the [`Exemptions`] given
//! to [`Builder::exemptions`](crate::Builder::exemptions) and call
//! [`Exemptions::replace`] to change it without rebuilding the layer. Reads
//! on the request path are lock-free.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use tower_mfa::{Exemption, Exemptions};
//!
//! let in_90_days = SystemTime::now() + Duration::from_secs(90 * 86_400);
//! let exemptions = Exemptions::new(vec![Exemption::tenant(
//!     "EXC-2025-014",
//!     "df845f1a-7b35-40a2-ba78-6481de91f8ae",
//!     "legacy reporting robot, MFA registration pending",
//!     in_90_days,
//! )]);
//! let layer = tower_mfa::RequireMfaLayer::builder()
//!     .issuer("https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/")
//!     .audience("https://api.partnercenter.microsoft.com")
//!     .jwks_url("https://login.microsoftonline.com/common/discovery/keys")
//!     .rule(tower_mfa::Rule::mfa("/v1/**"))
//!     .exemptions(exemptions.clone())
//!     .build()?;
//! // Later, without a restart: the next request sees the new list.
//! exemptions.replace(Vec::new());
//! # let _ = layer;
//! # Ok::<(), tower_mfa::ConfigError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::claims::Claims;
use crate::policy::caller::{Caller, classify};

/// Whom an exemption covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExemptSubject {
    /// Every user of this tenant (`tid`, compared ASCII case-insensitively as
    /// tenant ids are GUIDs). Guests count by `tid` only: `idp`, `acct` and
    /// other guest markers never matter.
    Tenant(String),
    /// One user (`oid`, compared exactly).
    User(String),
    /// One application: the token's client id (`appid`, else `azp`, else
    /// `client_id`; the first present, compared exactly). Only app-only
    /// tokens of it are covered unless the [`Exemption`] is
    /// [`delegated`](Exemption::delegated).
    App(String),
}

impl ExemptSubject {
    /// A stable lower-case name of the kind: `tenant`, `user` or `app`.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Tenant(_) => "tenant",
            Self::User(_) => "user",
            Self::App(_) => "app",
        }
    }

    /// The tenant id, object id or client id the exemption names.
    #[must_use]
    pub fn value(&self) -> &str {
        match self {
            Self::Tenant(v) | Self::User(v) | Self::App(v) => v,
        }
    }

    /// Whether verified `claims` belong to this subject.
    #[must_use]
    pub fn covers(&self, claims: &Claims) -> bool {
        match self {
            Self::Tenant(tid) => claims
                .tenant_id()
                .is_some_and(|t| !t.is_empty() && t.eq_ignore_ascii_case(tid)),
            Self::User(oid) => claims
                .object_id()
                .is_some_and(|o| !o.is_empty() && o == oid),
            Self::App(app) => claims
                .client_id()
                .is_some_and(|c| !c.is_empty() && c == app),
        }
    }
}

/// One technical exception: who is exempt from the MFA check, why, and
/// until when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exemption {
    /// The exception's identifier (a ticket number), logged on every use.
    pub id: String,
    /// Whom it covers.
    pub subject: ExemptSubject,
    /// Why it was granted, logged on every use.
    pub reason: String,
    /// When it stops applying: from this instant on (by the layer's clock)
    /// it is ignored.
    pub expires: SystemTime,
    /// For an application exemption: whether it also covers users signing
    /// in through that application (delegated tokens). Off by default: then
    /// only the application's app-only tokens are covered. Turning it on
    /// lets every user of every tenant the issuer accepts skip MFA through
    /// that client; limit it with [`tenant`](Self::tenant).
    pub delegated: bool,
    /// When set, the exemption only covers tokens of this tenant (`tid`,
    /// compared ASCII case-insensitively).
    pub tenant: Option<String>,
}

impl Exemption {
    /// An exemption for `subject` until `expires`.
    pub fn new(
        id: impl Into<String>,
        subject: ExemptSubject,
        reason: impl Into<String>,
        expires: SystemTime,
    ) -> Self {
        Self {
            id: id.into(),
            subject,
            reason: reason.into(),
            expires,
            delegated: false,
            tenant: None,
        }
    }

    /// For an application exemption: also covers users signing in through
    /// the application, not only its app-only tokens. This lets every such
    /// user skip MFA; combine it with [`in_tenant`](Self::in_tenant).
    #[must_use]
    pub fn delegated(mut self, yes: bool) -> Self {
        self.delegated = yes;
        self
    }

    /// Limits the exemption to tokens of tenant `tid`.
    #[must_use]
    pub fn in_tenant(mut self, tid: impl Into<String>) -> Self {
        self.tenant = Some(tid.into());
        self
    }

    /// An exemption for every user of tenant `tid`.
    pub fn tenant(
        id: impl Into<String>,
        tid: impl Into<String>,
        reason: impl Into<String>,
        expires: SystemTime,
    ) -> Self {
        Self::new(id, ExemptSubject::Tenant(tid.into()), reason, expires)
    }

    /// An exemption for the user with object id `oid`.
    pub fn user(
        id: impl Into<String>,
        oid: impl Into<String>,
        reason: impl Into<String>,
        expires: SystemTime,
    ) -> Self {
        Self::new(id, ExemptSubject::User(oid.into()), reason, expires)
    }

    /// An exemption for the application with client id `app_id`.
    pub fn app(
        id: impl Into<String>,
        app_id: impl Into<String>,
        reason: impl Into<String>,
        expires: SystemTime,
    ) -> Self {
        Self::new(id, ExemptSubject::App(app_id.into()), reason, expires)
    }

    /// Whether it is still in force at `now` (strictly before `expires`).
    #[must_use]
    pub fn is_active(&self, now: SystemTime) -> bool {
        now < self.expires
    }

    /// Whether it applies to `claims` at `now`: in force, covering them, in
    /// its tenant when limited to one, and (for an application exemption
    /// not marked [`delegated`](Self::delegated)) an app-only token.
    #[must_use]
    pub fn applies(&self, claims: &Claims, now: SystemTime) -> bool {
        self.is_active(now)
            && self.subject.covers(claims)
            && self.tenant.as_deref().is_none_or(|tid| {
                claims
                    .tenant_id()
                    .is_some_and(|t| !t.is_empty() && t.eq_ignore_ascii_case(tid))
            })
            && (self.delegated
                || !matches!(self.subject, ExemptSubject::App(_))
                || classify(claims) == Caller::App)
    }
}

/// A shared, reloadable set of [`Exemption`]s.
///
/// Cloning shares the set: a clone kept by the application and the one given
/// to the [`Builder`](crate::Builder) see the same list, and
/// [`replace`](Self::replace) takes effect on the next request. Reads are
/// lock-free (`arc-swap`).
#[derive(Clone, Default)]
pub struct Exemptions {
    list: Arc<ArcSwap<Vec<Exemption>>>,
}

impl Exemptions {
    /// A set holding `list`.
    #[must_use]
    pub fn new(list: Vec<Exemption>) -> Self {
        Self {
            list: Arc::new(ArcSwap::from_pointee(list)),
        }
    }

    /// Replaces the whole list atomically (reload without restart). Requests
    /// already past their exemption check are not affected.
    pub fn replace(&self, list: Vec<Exemption>) {
        self.list.store(Arc::new(list));
    }

    /// The current list.
    #[must_use]
    pub fn snapshot(&self) -> Arc<Vec<Exemption>> {
        self.list.load_full()
    }

    /// The number of exemptions in the set (expired ones included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.list.load().len()
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.load().is_empty()
    }

    /// The first exemption (in list order) that applies to `claims` at `now`.
    #[must_use]
    pub fn find(&self, claims: &Claims, now: SystemTime) -> Option<Exemption> {
        let list = self.list.load();
        list.iter().find(|e| e.applies(claims, now)).cloned()
    }
}

impl fmt::Debug for Exemptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exemptions")
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn claims(v: serde_json::Value) -> Claims {
        let serde_json::Value::Object(map) = v else {
            panic!("object")
        };
        Claims::from_payload(map).unwrap()
    }

    #[test]
    fn subjects_and_expiry() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let later = t0 + Duration::from_secs(60);
        let c = claims(json!({
            "tid": "DF845F1A-7b35-40a2-ba78-6481de91f8ae",
            "oid": "o1",
            "azp": "app1",
            "idp": "https://sts.windows.net/other/",
        }));
        let tenant = Exemption::tenant("t", "df845f1a-7b35-40a2-ba78-6481de91f8ae", "r", later);
        assert!(tenant.applies(&c, t0));
        assert!(!tenant.applies(&c, later), "expires is exclusive");
        assert!(Exemption::user("u", "o1", "r", later).applies(&c, t0));
        assert!(!Exemption::user("u", "O1", "r", later).applies(&c, t0));
        // `c` is a user's token (no app-only shape): an app exemption
        // covers it only when delegated.
        assert!(!Exemption::app("a", "app1", "r", later).applies(&c, t0));
        assert!(
            Exemption::app("a", "app1", "r", later)
                .delegated(true)
                .applies(&c, t0)
        );
        let app_only = claims(json!({"tid": "t1", "sub": "s", "oid": "s", "azp": "app1"}));
        assert!(Exemption::app("a", "app1", "r", later).applies(&app_only, t0));
        // Limited to a tenant.
        assert!(
            Exemption::app("a", "app1", "r", later)
                .in_tenant("T1")
                .applies(&app_only, t0)
        );
        assert!(
            !Exemption::app("a", "app1", "r", later)
                .in_tenant("t2")
                .applies(&app_only, t0)
        );
        assert!(
            !Exemption::user("u", "o1", "r", later)
                .in_tenant("t2")
                .applies(&c, t0)
        );
        // Guest markers never match a tenant exemption.
        assert!(
            !Exemption::tenant("g", "https://sts.windows.net/other/", "r", later).applies(&c, t0)
        );
        assert!(!Exemption::tenant("g", "other", "r", later).applies(&c, t0));
        // Empty values never match.
        let empty = claims(json!({"tid": "", "oid": ""}));
        assert!(!Exemption::tenant("e", "", "r", later).applies(&empty, t0));
        assert!(!Exemption::user("e", "", "r", later).applies(&empty, t0));
    }

    #[test]
    fn replace_is_shared_by_clones() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        let c = claims(json!({"oid": "o1"}));
        let set = Exemptions::default();
        let kept = set.clone();
        assert!(set.find(&c, t0).is_none());
        kept.replace(vec![Exemption::user(
            "u",
            "o1",
            "r",
            t0 + Duration::from_secs(1),
        )]);
        assert_eq!(set.find(&c, t0).map(|e| e.id), Some("u".to_owned()));
        assert_eq!(set.len(), 1);
    }
}
