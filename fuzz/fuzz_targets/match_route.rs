//! Route patterns and rule selection.
//!
//! 1. Parsing and matching one pattern, checked against a plain
//!    backtracking matcher written here from the documented rules.
//!    Input: `pattern \n path`.
//! 2. The same input read as a rule set and a request
//!    (`tower_mfa::__fuzz::RouteCase`: one rule a line, `[METHODS\t]pattern`
//!    or `[METHODS\t]?text` for a predicate, the last line
//!    `[METHOD\t]path`): the compiled route rules the layer uses must pick
//!    the same rule as walking the rules in order (the reference).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[derive(PartialEq)]
enum Seg<'a> {
    Lit(&'a str),
    One,
    Any,
}

/// The segments after the leading `/`, one trailing `/` ignored.
fn segments(rest: &str) -> Vec<&str> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    }
}

fn parse(pattern: &str) -> Option<Vec<Seg<'_>>> {
    let rest = pattern.strip_prefix('/')?;
    let mut out = Vec::new();
    for s in segments(rest) {
        out.push(match s {
            "*" => Seg::One,
            "**" => Seg::Any,
            s if s.contains('*') => return None,
            s => Seg::Lit(s),
        });
    }
    (out.iter().filter(|s| **s == Seg::Any).count() <= 2).then_some(out)
}

fn reference(pattern: &[Seg<'_>], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Seg::Any, rest)) => (0..=path.len()).any(|i| reference(rest, &path[i..])),
        Some((Seg::One, rest)) => {
            path.first().is_some_and(|s| !s.is_empty()) && reference(rest, &path[1..])
        }
        Some((Seg::Lit(lit), rest)) => path.first() == Some(lit) && reference(rest, &path[1..]),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, path) = text.split_once('\n').unwrap_or((text, "/"));
    let got = tower_mfa::__fuzz::match_route(pattern, path);
    let parsed = parse(pattern);
    assert_eq!(got.is_some(), parsed.is_some(), "parse of {pattern:?}");
    if let (Some(got), Some(parsed)) = (got, parsed) {
        let expected = match path.strip_prefix('/') {
            Some(rest) => {
                let segs = segments(rest);
                if segs.len() > 300 {
                    return;
                }
                reference(&parsed, &segs)
            }
            None => false,
        };
        assert_eq!(got, expected, "{pattern:?} on {path:?}");
    }
    let case = tower_mfa::__fuzz::RouteCase::parse(text);
    if let Some(routes) = tower_mfa::__fuzz::Routes::new(case.rules) {
        let headers = http::HeaderMap::new();
        assert_eq!(
            routes.select(&case.method, &case.path, &case.uri, &headers),
            routes.reference(&case.method, &case.path, &case.uri, &headers),
            "{text:?}"
        );
    }
});
