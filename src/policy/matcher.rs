//! Route rules compiled into a segment trie, so that choosing the rule for a
//! request costs about the same for ten rules as for ten thousand.
//!
//! Same answers as walking the rules in order ([`reference`]): the first
//! rule in declaration order whose method filter and pattern (or predicate)
//! accept the request wins. The trie holds every pattern rule; a path walks
//! it as a set of states (an NFA over segments, deduplicated at each step),
//! so the work is bounded by path segments x trie states whatever mix of `*`
//! and `**` the rules use. Each end state lists the rules ending there in
//! index order; the smallest index whose method filter accepts is the best
//! pattern rule. Predicate rules are then called in order, only those before
//! that index: exactly the predicates that walking the rules would call.

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use http::{HeaderMap, Method, Uri};

use super::route::{Rule, Segment, split};

/// No such node.
const NONE: u32 = u32::MAX;

/// States held on the stack before spilling to the heap: enough for every
/// rule set without dozens of overlapping wildcards.
const INLINE: usize = 32;

/// The compiled route rules of one layer.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    nodes: Box<[Node]>,
    /// Every literal edge, in one open-addressing table keyed by parent node
    /// and text (at most half full, so a probe ends soon): one lookup per
    /// state and segment, whatever the number of siblings. Its layout is
    /// fixed at `build()` with a random seed; a path only chooses where to
    /// start probing.
    edges: Box<[Edge]>,
    /// `64 - log2(edges.len())`: the table index is the top bits of a hash.
    shift: u32,
    hasher: foldhash::fast::RandomState,
    /// The text of every literal edge.
    text: Box<str>,
    /// Rule indices ending at a node, each node's contiguous and ascending.
    terminals: Box<[u32]>,
    /// Indices of predicate rules, ascending.
    predicates: Box<[u32]>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Has literal children.
    literals: bool,
    /// The `*` child.
    one: u32,
    /// The `**` child.
    any: u32,
    terminals: u32,
    terminal_count: u32,
    /// Reached through `**`: stays on any further segment.
    absorbs: bool,
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    /// The parent node, [`NONE`] for an empty slot.
    parent: u32,
    text: u32,
    len: u32,
    child: u32,
}

const EMPTY: Edge = Edge {
    parent: NONE,
    text: 0,
    len: 0,
    child: 0,
};

/// The table slot where the search for `parent`'s child with text hashed to
/// `hash` starts.
fn slot(hash: u64, parent: u32, shift: u32) -> usize {
    let key = (hash ^ u64::from(parent)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The top `64 - shift` bits: below the table's length (a power of two
    // that fits a u32).
    (key >> shift) as usize
}

/// A node while the trie is built.
#[derive(Default)]
struct Draft {
    literals: BTreeMap<Box<str>, usize>,
    one: Option<usize>,
    any: Option<usize>,
    absorbs: bool,
    terminals: Vec<u32>,
}

/// The rule sets too large for 32-bit indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

fn index(n: usize) -> Result<u32, TooLarge> {
    u32::try_from(n).ok().filter(|&n| n != NONE).ok_or(TooLarge)
}

impl Routes {
    /// Compiles `rules` (indices into the same slice are returned by
    /// [`Routes::select`]). Invalid rules match nothing, as in [`Rule::matches`].
    pub(crate) fn new(rules: &[Rule]) -> Result<Self, TooLarge> {
        let mut drafts = vec![Draft::default()];
        let mut predicates = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let i = index(i)?;
            if rule.is_predicate() {
                predicates.push(i);
                continue;
            }
            let Some(pattern) = rule.pattern() else {
                continue;
            };
            let mut at = 0;
            for segment in pattern.segments() {
                let next = drafts.len();
                let (child, absorbs) = match segment {
                    Segment::Literal(text) => (
                        *drafts[at].literals.entry(text.clone()).or_insert(next),
                        false,
                    ),
                    Segment::One => (*drafts[at].one.get_or_insert(next), false),
                    Segment::Any => (*drafts[at].any.get_or_insert(next), true),
                };
                if child == next {
                    drafts.push(Draft {
                        absorbs,
                        ..Draft::default()
                    });
                }
                at = child;
            }
            drafts[at].terminals.push(i);
        }
        let literals: usize = drafts.iter().map(|d| d.literals.len()).sum();
        let size = literals
            .checked_mul(2)
            .and_then(usize::checked_next_power_of_two)
            .ok_or(TooLarge)?
            .max(2);
        index(size)?;
        let shift = 64 - size.trailing_zeros();
        let hasher = foldhash::fast::RandomState::default();
        let mut edges = vec![EMPTY; size];
        let mut nodes = Vec::with_capacity(drafts.len());
        let mut text = String::new();
        let mut terminals = Vec::new();
        for (at, draft) in drafts.into_iter().enumerate() {
            let parent = index(at)?;
            let node = Node {
                literals: !draft.literals.is_empty(),
                one: draft.one.map_or(Ok(NONE), index)?,
                any: draft.any.map_or(Ok(NONE), index)?,
                terminals: index(terminals.len())?,
                terminal_count: index(draft.terminals.len())?,
                absorbs: draft.absorbs,
            };
            for (literal, child) in draft.literals {
                let mut i = slot(hasher.hash_one(&*literal), parent, shift);
                while edges[i].parent != NONE {
                    i = (i + 1) & (size - 1);
                }
                edges[i] = Edge {
                    parent,
                    text: index(text.len())?,
                    len: index(literal.len())?,
                    child: index(child)?,
                };
                text.push_str(&literal);
            }
            index(text.len())?;
            terminals.extend(draft.terminals);
            nodes.push(node);
        }
        Ok(Self {
            nodes: nodes.into(),
            edges: edges.into(),
            shift,
            hasher,
            text: text.into(),
            terminals: terminals.into(),
            predicates: predicates.into(),
        })
    }

    /// The index of the first rule of `rules` (the slice compiled) that
    /// applies to the request, as [`reference`] would find it.
    pub(crate) fn select(
        &self,
        rules: &[Rule],
        method: &Method,
        path: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Option<usize> {
        let best = self.first_pattern(rules, method, path);
        let bound = best.unwrap_or(NONE);
        self.predicates
            .iter()
            .take_while(|&&p| p < bound)
            .map(|&p| p as usize)
            .find(|&p| {
                rules
                    .get(p)
                    .is_some_and(|r| r.matches(method, path, uri, headers))
            })
            .or(best.map(|b| b as usize))
    }

    /// The smallest index of a pattern rule matching `method` and `path`.
    fn first_pattern(&self, rules: &[Rule], method: &Method, path: &str) -> Option<u32> {
        if self.nodes.is_empty() {
            return None;
        }
        let rest = path.strip_prefix('/')?;
        let mut current = States::new();
        let mut next = States::new();
        current.push(0);
        self.close(&mut current);
        for segment in split(rest) {
            next.clear();
            let hash = self.hasher.hash_one(segment);
            for &state in current.as_slice() {
                let node = self.nodes[state as usize];
                if node.absorbs {
                    next.push(state);
                }
                if node.literals
                    && let Some(child) = self.literal(state, hash, segment)
                {
                    next.push(child);
                }
                if node.one != NONE && !segment.is_empty() {
                    next.push(node.one);
                }
            }
            if next.is_empty() {
                return None;
            }
            self.close(&mut next);
            next.sort_dedup();
            std::mem::swap(&mut current, &mut next);
        }
        let mut best = NONE;
        for &state in current.as_slice() {
            let node = self.nodes[state as usize];
            let start = node.terminals as usize;
            let end = start + node.terminal_count as usize;
            let accepted = self.terminals[start..end]
                .iter()
                .take_while(|&&t| t < best)
                .find(|&&t| {
                    rules
                        .get(t as usize)
                        .is_some_and(|r| r.allows_method(method))
                });
            if let Some(&t) = accepted {
                best = t;
            }
        }
        (best != NONE).then_some(best)
    }

    /// Adds the `**` children of every state (a `**` matches zero segments).
    fn close(&self, states: &mut States) {
        let mut i = 0;
        while let Some(state) = states.get(i) {
            let any = self.nodes[state as usize].any;
            if any != NONE {
                states.push(any);
            }
            i += 1;
        }
    }

    /// The child of `parent` for the literal `segment` (hashed to `hash`).
    fn literal(&self, parent: u32, hash: u64, segment: &str) -> Option<u32> {
        let mask = self.edges.len() - 1;
        let mut i = slot(hash, parent, self.shift);
        // The table is at least half empty: the probe meets an empty slot.
        loop {
            let edge = self.edges[i];
            if edge.parent == NONE {
                return None;
            }
            if edge.parent == parent
                && edge.len as usize == segment.len()
                && self.text.as_bytes()[edge.text as usize..][..segment.len()]
                    == *segment.as_bytes()
            {
                return Some(edge.child);
            }
            i = (i + 1) & mask;
        }
    }
}

/// A set of trie states: on the stack up to [`INLINE`], then on the heap.
struct States {
    inline: [u32; INLINE],
    len: usize,
    heap: Vec<u32>,
}

impl States {
    fn new() -> Self {
        Self {
            inline: [0; INLINE],
            len: 0,
            heap: Vec::new(),
        }
    }

    fn spilled(&self) -> bool {
        !self.heap.is_empty()
    }

    fn push(&mut self, state: u32) {
        if !self.spilled() && self.len < INLINE {
            self.inline[self.len] = state;
            self.len += 1;
            return;
        }
        if !self.spilled() {
            self.heap.extend_from_slice(&self.inline[..self.len]);
        }
        self.heap.push(state);
    }

    fn as_slice(&self) -> &[u32] {
        if self.spilled() {
            &self.heap
        } else {
            &self.inline[..self.len]
        }
    }

    fn get(&self, i: usize) -> Option<u32> {
        self.as_slice().get(i).copied()
    }

    fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    fn clear(&mut self) {
        self.len = 0;
        self.heap.clear();
    }

    fn sort_dedup(&mut self) {
        if self.spilled() {
            self.heap.sort_unstable();
            self.heap.dedup();
            return;
        }
        let states = &mut self.inline[..self.len];
        if states.len() < 2 {
            return;
        }
        states.sort_unstable();
        let mut kept = 1;
        for i in 1..states.len() {
            if states[i] != states[kept - 1] {
                states[kept] = states[i];
                kept += 1;
            }
        }
        self.len = kept;
    }
}

/// Walks the rules in order: the first that applies. The definition the
/// compiled [`Routes`] are checked against.
pub(crate) fn reference(
    rules: &[Rule],
    method: &Method,
    path: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<usize> {
    rules
        .iter()
        .position(|r| r.matches(method, path, uri, headers))
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn states_spill_to_the_heap_and_back() {
        let mut states = States::new();
        for i in (0..100u32).rev() {
            states.push(i % 50);
        }
        states.sort_dedup();
        assert_eq!(states.as_slice(), (0..50).collect::<Vec<u32>>());
        states.clear();
        assert!(states.is_empty());
        for i in [3, 1, 3, 2, 1] {
            states.push(i);
        }
        states.sort_dedup();
        assert_eq!(states.as_slice(), [1, 2, 3]);
    }
}
