//! Route rules: which access a request needs, by method and path pattern or
//! by a predicate. First match wins; unmatched requests get the default.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, HeaderValue, Method, Uri};

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
pub enum Mode {
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
    Invalid(Arc<str>),
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
            Err(e) => Matcher::Invalid(format!("pattern {pattern:?}: {e}").into()),
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

    pub(crate) fn config_error(&self) -> Option<&str> {
        match &self.matcher {
            Matcher::Invalid(e) => Some(e),
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
            Matcher::Invalid(_) => false,
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
            .finish_non_exhaustive()
    }
}

/// One segment of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Exactly this text.
    Literal(Box<str>),
    /// Any one non-empty segment (`*`).
    One,
    /// Zero or more segments (`**`).
    Any,
}

/// A parsed path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The literal text before the first wildcard: every matching path
    /// starts with it, so most rules are rejected with one comparison.
    prefix: Box<str>,
    shape: Shape,
    segments: Box<[Segment]>,
}

/// Common pattern shapes matched with plain string comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Only literal segments: the path equals the prefix (or it plus `/`).
    Exact,
    /// Literal segments then one trailing `**`: the path is the prefix or
    /// continues it after a `/`.
    Subtree,
    /// Anything else: segment by segment.
    General,
}

/// Most `**` in one pattern (bounds backtracking).
const MAX_ANY: usize = 2;

impl Pattern {
    /// Parses a pattern such as `/dashboard/customers/**`.
    ///
    /// # Errors
    /// When it does not start with `/`, uses `*` inside a segment, or has more
    /// than two `**`.
    pub fn parse(pattern: &str) -> Result<Self, &'static str> {
        let rest = pattern.strip_prefix('/').ok_or("must start with '/'")?;
        let mut segments = Vec::new();
        for seg in split(rest) {
            segments.push(match seg {
                "*" => Segment::One,
                "**" => Segment::Any,
                s if s.contains('*') => return Err("'*' must be a whole segment"),
                s => Segment::Literal(s.into()),
            });
        }
        if segments.iter().filter(|s| **s == Segment::Any).count() > MAX_ANY {
            return Err("at most two '**' per pattern");
        }
        let literals: Vec<&str> = segments
            .iter()
            .map_while(|s| match s {
                Segment::Literal(l) => Some(&**l),
                _ => None,
            })
            .collect();
        // An empty literal (`//`) has no text in the prefix: only the
        // segment matcher gets it right (a fuzz target found `//**` matching
        // every path through the `Subtree` shortcut).
        let shape = if literals.iter().any(|l| l.is_empty()) {
            Shape::General
        } else if literals.len() == segments.len() {
            Shape::Exact
        } else if literals.len() + 1 == segments.len() && segments.last() == Some(&Segment::Any) {
            Shape::Subtree
        } else {
            Shape::General
        };
        Ok(Self {
            prefix: format!("/{}", literals.join("/")).into(),
            shape,
            segments: segments.into(),
        })
    }

    /// The pattern's segments.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether `path` (without query) matches. A trailing `/` is ignored.
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        let Some(after) = path.strip_prefix(&*self.prefix) else {
            return false;
        };
        match self.shape {
            Shape::Exact => return after.is_empty() || after == "/",
            Shape::Subtree => {
                return after.is_empty() || after.starts_with('/') || self.prefix.len() == 1;
            }
            Shape::General => {}
        }
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        match_segments(&self.segments, split(rest))
    }
}

/// The segments of a path after its leading `/`, ignoring one trailing `/`.
pub(crate) fn split(rest: &str) -> std::str::Split<'_, char> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut it = rest.split('/');
    if rest.is_empty() {
        // `/` has no segments.
        let _ = it.next();
    }
    it
}

/// Glob matching over segments, `**` as the star: greedy, and on a mismatch
/// the most recent `**` takes one more segment. O(pattern × path) in the
/// worst case (plain backtracking over two `**` is quadratic in the path,
/// which a client controls: seconds of CPU for one 64 KB path).
fn match_segments(pattern: &[Segment], path: std::str::Split<'_, char>) -> bool {
    let mut p = 0;
    let mut path = path;
    // The pattern index after the last `**`, and where its match ends.
    let mut star: Option<(usize, std::str::Split<'_, char>)> = None;
    loop {
        let mut ahead = path.clone();
        let seg = ahead.next();
        match (pattern.get(p), seg) {
            (Some(Segment::Any), _) => {
                p += 1;
                star = Some((p, path.clone()));
                continue;
            }
            (Some(Segment::One), Some(seg)) if !seg.is_empty() => {
                p += 1;
                path = ahead;
                continue;
            }
            (Some(Segment::Literal(lit)), Some(seg)) if seg == &**lit => {
                p += 1;
                path = ahead;
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        match &mut star {
            Some((after_star, star_end)) => {
                if star_end.next().is_none() {
                    return false;
                }
                p = *after_star;
                path = star_end.clone();
            }
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        Pattern::parse(p).unwrap().matches(path)
    }

    #[test]
    fn patterns() {
        assert!(m("/dashboard/customers/**", "/dashboard/customers"));
        assert!(m("/dashboard/customers/**", "/dashboard/customers/"));
        assert!(m(
            "/dashboard/customers/**",
            "/dashboard/customers/42/orders"
        ));
        assert!(!m("/dashboard/customers/**", "/dashboard/customersX"));
        assert!(!m("/dashboard/customers/**", "/dashboard"));
        assert!(m("/v1/customers/*", "/v1/customers/42"));
        assert!(!m("/v1/customers/*", "/v1/customers"));
        assert!(!m("/v1/customers/*", "/v1/customers//"));
        assert!(!m("/v1/customers/*", "/v1/customers/42/x"));
        assert!(m("/", "/"));
        assert!(!m("/", "/a"));
        assert!(m("/**", "/"));
        assert!(m("/**", "/a/b"));
        assert!(m("/a/**/z", "/a/z"));
        assert!(m("/a/**/z", "/a/b/c/z"));
        assert!(!m("/a/**/z", "/a/b/c"));
        assert!(m(
            "/partner.v1.Customers/*",
            "/partner.v1.Customers/ListCustomers"
        ));
        assert!(!m("/healthz", "healthz"));
        assert!(Pattern::parse("/a*").is_err());
        assert!(Pattern::parse("a").is_err());
        assert!(Pattern::parse("/**/**/**").is_err());
    }

    /// The plain backtracking matcher, as a reference.
    fn reference(pattern: &[Segment], mut path: std::str::Split<'_, char>) -> bool {
        let Some((first, rest)) = pattern.split_first() else {
            return path.next().is_none();
        };
        match first {
            Segment::Any => loop {
                if reference(rest, path.clone()) {
                    return true;
                }
                if path.next().is_none() {
                    return false;
                }
            },
            Segment::One => match path.next() {
                Some(seg) if !seg.is_empty() => reference(rest, path),
                _ => false,
            },
            Segment::Literal(lit) => match path.next() {
                Some(seg) if seg == &**lit => reference(rest, path),
                _ => false,
            },
        }
    }

    /// Every pattern of up to 4 segments against every path of up to 5
    /// segments over a small alphabet: same answers as the reference.
    #[test]
    fn greedy_matcher_agrees_with_backtracking() {
        fn all(parts: &[&str], max: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut layer = vec![String::new()];
            for _ in 0..max {
                let next: Vec<String> = layer
                    .iter()
                    .flat_map(|prefix| parts.iter().map(move |p| format!("{prefix}/{p}")))
                    .collect();
                out.extend(next.iter().cloned());
                layer = next;
            }
            out
        }
        let patterns = all(&["a", "b", "", "*", "**"], 4);
        let paths = all(&["a", "b", ""], 5);
        let mut checked = 0;
        for pattern in &patterns {
            let pattern = if pattern.is_empty() { "/" } else { pattern };
            let Ok(parsed) = Pattern::parse(pattern) else {
                continue;
            };
            for path in &paths {
                let path = if path.is_empty() { "/" } else { path };
                for path in [path.to_owned(), format!("{path}/")] {
                    let rest = path.strip_prefix('/').unwrap_or(&path);
                    assert_eq!(
                        parsed.matches(&path),
                        reference(&parsed.segments, split(rest)),
                        "{pattern} {path}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    #[test]
    fn two_globs_on_a_long_path_stay_linear() {
        let path = "/x".repeat(32_000);
        let started = std::time::Instant::now();
        assert!(!m("/**/x/**/y", &path));
        assert!(m("/**/x/**", &path));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
