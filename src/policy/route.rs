//! Route rules: which access a request needs, by method and path pattern or
//! by a predicate. First match wins; unmatched requests get the default.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, HeaderValue, Method, Uri};

use super::pattern::Pattern;
use crate::dpop::Sender;

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Nothing: no token is read.
    Public,
    /// A token is verified when one is sent (a bad one is still refused);
    /// requests without one pass without claims.
    Optional,
    /// A valid token.
    Authenticated,
    /// A valid token with proof of multi-factor authentication (app-only
    /// tokens per the configured [`AppOnly`](crate::AppOnly) policy).
    Mfa,
}

impl Access {
    /// A stable lower-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Optional => "optional",
            Self::Authenticated => "authenticated",
            Self::Mfa => "mfa",
        }
    }
}

/// Whether a rule's refusals are enforced or only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Mode {
    /// Refuse requests that fail the rule.
    #[default]
    Enforce,
    /// Decide and log, but let the request through (MFA and scope refusals
    /// only: an invalid token is always refused).
    ReportOnly,
}

type Predicate = dyn Fn(&Method, &Uri, &HeaderMap) -> bool + Send + Sync;

#[derive(Clone)]
enum Matcher {
    Pattern(Pattern),
    Predicate(Arc<Predicate>),
    Invalid {
        pattern: Arc<str>,
        problem: &'static str,
    },
}

/// One route rule.
///
/// ```
/// use http::Method;
/// use tower_mfa::Rule;
///
/// let rules = [
///     Rule::public("/healthz"),
///     Rule::mfa("/dashboard/customers/**"),
///     Rule::mfa("/v1/customers/*").method(Method::DELETE).require_role("Admin"),
///     Rule::authenticated("/dashboard"),
/// ];
/// # let _ = rules;
/// ```
#[derive(Clone)]
pub struct Rule {
    pub(crate) name: Arc<str>,
    matcher: Matcher,
    methods: Option<Vec<Method>>,
    pub(crate) access: Access,
    pub(crate) scopes: Vec<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) mode: Mode,
    pub(crate) enforce_from: Option<SystemTime>,
    pub(crate) sender: Sender,
    /// The [`Requirement`](crate::Requirement) the rule names, if any.
    pub(crate) requirement: Option<Arc<str>>,
    /// Index of the rule's requirement in the layer's list (0: the
    /// default), resolved by `build()` so requests look up no name.
    pub(crate) requirement_index: usize,
    /// Pre-rendered `WWW-Authenticate` for a missing scope (roles have
    /// their own answer).
    pub(crate) scope_challenge: Option<HeaderValue>,
}

impl Rule {
    /// A rule for `pattern`: `/`-separated segments where `*` matches one
    /// segment and `**` zero or more, so `/a/**` also covers `/a`.
    #[must_use]
    pub fn new(access: Access, pattern: &str) -> Self {
        let matcher = match Pattern::parse(pattern) {
            Ok(p) => Matcher::Pattern(p),
            Err(problem) => Matcher::Invalid {
                pattern: pattern.into(),
                problem,
            },
        };
        Self {
            name: pattern.into(),
            matcher,
            methods: None,
            access,
            scopes: Vec::new(),
            roles: Vec::new(),
            mode: Mode::Enforce,
            enforce_from: None,
            sender: Sender::Bearer,
            requirement: None,
            requirement_index: 0,
            scope_challenge: None,
        }
    }

    /// A rule decided by a function of the request's method, URI and headers.
    #[must_use]
    pub fn predicate<F>(access: Access, name: &str, f: F) -> Self
    where
        F: Fn(&Method, &Uri, &HeaderMap) -> bool + Send + Sync + 'static,
    {
        let mut rule = Self::new(access, "/");
        rule.name = name.into();
        rule.matcher = Matcher::Predicate(Arc::new(f));
        rule
    }

    /// [`Access::Public`] for `pattern`.
    #[must_use]
    pub fn public(pattern: &str) -> Self {
        Self::new(Access::Public, pattern)
    }

    /// [`Access::Optional`] for `pattern`.
    #[must_use]
    pub fn optional(pattern: &str) -> Self {
        Self::new(Access::Optional, pattern)
    }

    /// [`Access::Authenticated`] for `pattern`.
    #[must_use]
    pub fn authenticated(pattern: &str) -> Self {
        Self::new(Access::Authenticated, pattern)
    }

    /// [`Access::Mfa`] for `pattern`.
    #[must_use]
    pub fn mfa(pattern: &str) -> Self {
        Self::new(Access::Mfa, pattern)
    }

    /// Restricts the rule to `method` (a `GET` rule also covers `HEAD`).
    /// Call again to add more methods.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.methods.get_or_insert_with(Vec::new).push(method);
        self
    }

    /// Requires a delegated scope (`scp` or `scope`); all required scopes must be present.
    #[must_use]
    pub fn require_scope(mut self, scope: &str) -> Self {
        self.scopes.push(scope.to_owned());
        self
    }

    /// Requires a role (`roles`); all required roles must be present.
    #[must_use]
    pub fn require_role(mut self, role: &str) -> Self {
        self.roles.push(role.to_owned());
        self
    }

    /// Logs refusals for missing MFA or scope, but lets the request through.
    #[must_use]
    pub fn report_only(mut self) -> Self {
        self.mode = Mode::ReportOnly;
        self
    }

    /// Reports only until `instant`, then enforces (as Microsoft announced
    /// dates before enforcing).
    #[must_use]
    pub fn enforce_from(mut self, instant: SystemTime) -> Self {
        self.enforce_from = Some(instant);
        self
    }

    /// Which schemes the rule accepts tokens with (default
    /// [`Sender::Bearer`]); DPoP needs [`Builder::dpop`](crate::Builder::dpop).
    #[must_use]
    pub fn sender(mut self, sender: Sender) -> Self {
        self.sender = sender;
        self
    }

    /// Answers this `mfa` rule with the [`Requirement`](crate::Requirement)
    /// registered under `name` by
    /// [`Builder::requirement`](crate::Builder::requirement) instead of the
    /// layer's default one. A name no requirement has, or a requirement on
    /// a rule whose access is not `mfa`, fails `build()`.
    #[must_use]
    pub fn requirement(mut self, name: &str) -> Self {
        self.requirement = Some(name.into());
        self
    }

    /// Names the rule in logs (defaults to its pattern).
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// The rule's name, as logged.
    #[must_use]
    pub fn rule_name(&self) -> &str {
        &self.name
    }

    /// The access the rule requires.
    #[must_use]
    pub fn access(&self) -> Access {
        self.access
    }

    /// The pattern and what is wrong with it, when it does not parse.
    pub(crate) fn config_error(&self) -> Option<(&str, &'static str)> {
        match &self.matcher {
            Matcher::Invalid { pattern, problem } => Some((pattern, problem)),
            _ => None,
        }
    }

    /// Whether refusals are relaxed to reports at `now`.
    pub(crate) fn reports_only(&self, now: SystemTime) -> bool {
        self.mode == Mode::ReportOnly || self.enforce_from.is_some_and(|from| now < from)
    }

    /// The rule's path pattern, unless it is a predicate or invalid.
    pub(crate) fn pattern(&self) -> Option<&Pattern> {
        match &self.matcher {
            Matcher::Pattern(p) => Some(p),
            _ => None,
        }
    }

    /// Whether the rule is decided by a predicate.
    pub(crate) fn is_predicate(&self) -> bool {
        matches!(self.matcher, Matcher::Predicate(_))
    }

    /// Whether the rule's method filter lets `method` through.
    pub(crate) fn allows_method(&self, method: &Method) -> bool {
        self.methods.as_ref().is_none_or(|methods| {
            methods
                .iter()
                .any(|m| m == method || (*m == Method::GET && method == Method::HEAD))
        })
    }

    /// Whether the rule applies to a request.
    pub fn matches(&self, method: &Method, path: &str, uri: &Uri, headers: &HeaderMap) -> bool {
        if !self.allows_method(method) {
            return false;
        }
        match &self.matcher {
            Matcher::Pattern(p) => p.matches(path),
            Matcher::Predicate(f) => f(method, uri, headers),
            Matcher::Invalid { .. } => false,
        }
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("access", &self.access)
            .field("methods", &self.methods)
            .field("mode", &self.mode)
            .field("sender", &self.sender)
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}
