//! The route pattern engine: `/`-separated segments where `*` matches one
//! segment and `**` zero or more (so `/a/**` also covers `/a`).
//!
//! [`Pattern::parse`] turns a pattern into segments once; [`Pattern::matches`]
//! answers common shapes (exact path, subtree) with one string comparison and
//! everything else with a linear-time glob over segments. Route rules
//! ([`Rule`](crate::Rule)) hold a parsed pattern each.

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
pub(crate) struct Pattern {
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
    pub(crate) fn parse(pattern: &str) -> Result<Self, &'static str> {
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
    pub(crate) fn matches(&self, path: &str) -> bool {
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
