//! The compiled route rules against walking the rules in order: a property
//! test, hand-picked cases and ten thousand rules.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;

use super::*;
use crate::policy::route::Access;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
];

/// Which predicates were called, in order.
type Calls = Arc<Mutex<Vec<usize>>>;

#[derive(Debug, Clone)]
enum Spec {
    Pattern(String),
    Predicate(&'static str),
}

fn build(specs: &[(Spec, Vec<usize>)], calls: &Calls) -> Vec<Rule> {
    specs
        .iter()
        .enumerate()
        .map(|(i, (spec, methods))| {
            let rule = match spec {
                Spec::Pattern(p) => Rule::new(Access::Mfa, p),
                Spec::Predicate(needle) => {
                    let calls = Arc::clone(calls);
                    let needle = *needle;
                    Rule::predicate(Access::Public, "p", move |_, uri, _| {
                        calls.lock().unwrap().push(i);
                        uri.path().contains(needle)
                    })
                }
            };
            methods
                .iter()
                .fold(rule, |r, &m| r.method(METHODS[m].clone()))
        })
        .collect()
}

/// Compiled and reference agree, and call the same predicates in the
/// same order.
fn agree(rules: &[Rule], routes: &Routes, calls: &Calls, method: &Method, path: &str) {
    let uri: Uri = path.parse().unwrap_or_default();
    let headers = HeaderMap::new();
    calls.lock().unwrap().clear();
    let got = routes.select(rules, method, path, &uri, &headers);
    let got_calls = std::mem::take(&mut *calls.lock().unwrap());
    let want = reference(rules, method, path, &uri, &headers);
    let want_calls = std::mem::take(&mut *calls.lock().unwrap());
    assert_eq!(got, want, "{method} {path:?}");
    assert_eq!(
        got_calls, want_calls,
        "predicate calls for {method} {path:?}"
    );
}

fn pattern_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "a", "b", "c", "", ".", "..", "%2F", "%2f", "%61", "a%20b", "A", "é",
        ])
        .prop_map(str::to_owned),
        3 => prop::sample::select(vec!["*", "**"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["a*", "*a"]).prop_map(str::to_owned),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(pattern_segment(), 0..5),
        any::<bool>(),
        prop::sample::select(vec!["/", "/", "/", "/", ""]),
    )
        .prop_map(|(segments, trailing, lead)| {
            let mut p = format!("{lead}{}", segments.join("/"));
            if trailing || p.is_empty() {
                p.push('/');
            }
            p
        })
}

fn rule() -> impl Strategy<Value = (Spec, Vec<usize>)> {
    (
        prop_oneof![
            6 => pattern().prop_map(Spec::Pattern),
            1 => prop::sample::select(vec!["a", "b", "%", "//", "/.", "zz"])
                .prop_map(Spec::Predicate),
        ],
        prop_oneof![
            3 => Just(Vec::new()),
            1 => prop::collection::vec(0..METHODS.len(), 1..3),
        ],
    )
}

fn path_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "a", "b", "c", "", ".", "..", "%2F", "%2f", "%61", "a%20b", "A", "é", "*", "**",
        ])
        .prop_map(str::to_owned),
        1 => "[abc%./*]{0,4}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (
            prop::collection::vec(path_segment(), 0..7),
            prop::sample::select(vec!["/", "/", "/", "", "//"]),
            prop::sample::select(vec!["", "", "/", "//"]),
        )
            .prop_map(|(segments, lead, trail)| format!("{lead}{}{trail}", segments.join("/"))),
        1 => (path_segment(), 100..3000usize, prop::sample::select(vec!["", "/a", "/b/"]))
            .prop_map(|(segment, n, tail)| format!("{}{tail}", format!("/{segment}").repeat(n))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn compiled_routes_agree_with_walking_the_rules(
        specs in prop::collection::vec(rule(), 0..24),
        requests in prop::collection::vec((0..METHODS.len(), path()), 1..12),
    ) {
        let calls = Calls::default();
        let rules = build(&specs, &calls);
        let routes = Routes::new(&rules).unwrap();
        for (method, path) in &requests {
            agree(&rules, &routes, &calls, &METHODS[*method], path);
        }
    }
}

fn check_all(specs: &[(Spec, Vec<usize>)], paths: &[String]) {
    let calls = Calls::default();
    let rules = build(specs, &calls);
    let routes = Routes::new(&rules).unwrap();
    for path in paths {
        for method in &METHODS {
            agree(&rules, &routes, &calls, method, path);
        }
    }
}

fn p(pattern: &str) -> (Spec, Vec<usize>) {
    (Spec::Pattern(pattern.to_owned()), Vec::new())
}

#[test]
fn first_match_in_declaration_order() {
    let calls = Calls::default();
    let rules = build(
        &[
            (Spec::Pattern("/a/*".into()), vec![2]),
            p("/a/**"),
            p("/a/b"),
            (Spec::Predicate("b"), Vec::new()),
            p("/**"),
        ],
        &calls,
    );
    let routes = Routes::new(&rules).unwrap();
    let pick = |method: Method, path: &str| {
        let uri: Uri = path.parse().unwrap();
        routes.select(&rules, &method, path, &uri, &HeaderMap::new())
    };
    assert_eq!(pick(Method::POST, "/a/b"), Some(0));
    assert_eq!(pick(Method::GET, "/a/b"), Some(1));
    assert_eq!(pick(Method::GET, "/a"), Some(1));
    assert_eq!(pick(Method::GET, "/b"), Some(3));
    assert_eq!(pick(Method::GET, "/c"), Some(4));
    // The predicate is not called when an earlier pattern matched.
    calls.lock().unwrap().clear();
    assert_eq!(pick(Method::GET, "/a/c"), Some(1));
    assert!(calls.lock().unwrap().is_empty());
    assert_eq!(pick(Method::GET, "/c"), Some(4));
    assert_eq!(*calls.lock().unwrap(), vec![3]);
    // A path without a leading `/` matches no pattern.
    assert_eq!(pick(Method::GET, "c"), None);
}

#[test]
fn get_covers_head_and_method_rules_fall_through() {
    let rules = vec![
        Rule::new(Access::Mfa, "/x").method(Method::GET),
        Rule::new(Access::Public, "/x").method(Method::POST),
        Rule::new(Access::Authenticated, "/**"),
    ];
    let routes = Routes::new(&rules).unwrap();
    let uri = Uri::from_static("/x");
    let headers = HeaderMap::new();
    let pick = |m: Method| routes.select(&rules, &m, "/x", &uri, &headers);
    assert_eq!(pick(Method::GET), Some(0));
    assert_eq!(pick(Method::HEAD), Some(0));
    assert_eq!(pick(Method::POST), Some(1));
    assert_eq!(pick(Method::DELETE), Some(2));
    let none = Routes::new(&[]).unwrap();
    assert_eq!(none.select(&[], &Method::GET, "/x", &uri, &headers), None);
}

/// Ten thousand mixed rules, every method, paths hitting each kind.
#[test]
fn ten_thousand_rules_agree() {
    let specs: Vec<(Spec, Vec<usize>)> = (0..10_000)
        .map(|i| match i % 6 {
            0 => p(&format!("/api/v{}/items{i}", i % 7)),
            1 => p(&format!("/api/*/items{i}/*")),
            2 => p(&format!("/api/v{}/r{i}/**", i % 7)),
            3 => (Spec::Pattern(format!("/api/v{}/items{i}", i % 7)), vec![2]),
            4 => p(&format!("/**/report{i}")),
            _ => p(&format!("/api/v{}/**/x{i}/**", i % 7)),
        })
        .collect();
    let mut paths: Vec<String> = Vec::new();
    for i in [
        0, 1, 2, 3, 4, 5, 6, 9_995, 9_996, 9_997, 9_998, 9_999, 10_001,
    ] {
        paths.extend([
            format!("/api/v{}/items{i}", i % 7),
            format!("/api/v{}/items{i}/", i % 7),
            format!("/api/q/items{i}/z"),
            format!("/api/q/items{i}//"),
            format!("/api/v{}/r{i}/a/b", i % 7),
            format!("/a/b/report{i}"),
            format!("/api/v{}/k/x{i}/x{i}/y", i % 7),
        ]);
    }
    paths.push("/".into());
    paths.push(String::new());
    check_all(&specs, &paths);
}

/// Rules made of wildcards: many states at once (the set spills to the
/// heap) on long paths, still the same answers.
#[test]
fn wildcard_heavy_rules_agree() {
    let mut specs = Vec::new();
    for a in ["a", "b", "*", "**", ""] {
        for b in ["a", "*", "**", "."] {
            for c in ["b", "*", "**"] {
                specs.push(p(&format!("/{a}/{b}/{c}")));
                specs.push(p(&format!("/**/{a}/{b}/{c}")));
            }
        }
    }
    specs.push((Spec::Predicate("zz"), vec![0]));
    let paths: Vec<String> = [
        "/a/b".repeat(500),
        "/a//b".repeat(300),
        format!("{}/zz", "/a".repeat(1000)),
        "/./..".repeat(100),
        "//".into(),
        "/".into(),
    ]
    .into();
    check_all(&specs, &paths);
}
