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

mod states;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use http::{HeaderMap, Method, Uri};

use super::pattern::{Segment, split};
use super::route::Rule;
use states::States;

/// No such node.
const NONE: u32 = u32::MAX;

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
