//! [`States`]: the set of trie states a path is at, on the stack while small.

/// States held on the stack before spilling to the heap: enough for every
/// rule set without dozens of overlapping wildcards.
const INLINE: usize = 32;

/// A set of trie states: on the stack up to [`INLINE`], then on the heap.
pub(super) struct States {
    inline: [u32; INLINE],
    len: usize,
    heap: Vec<u32>,
}

impl States {
    /// An empty set.
    pub(super) fn new() -> Self {
        Self {
            inline: [0; INLINE],
            len: 0,
            heap: Vec::new(),
        }
    }

    fn spilled(&self) -> bool {
        !self.heap.is_empty()
    }

    /// Adds `state` (duplicates are removed by [`States::sort_dedup`]).
    pub(super) fn push(&mut self, state: u32) {
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

    /// The states, in insertion order until sorted.
    pub(super) fn as_slice(&self) -> &[u32] {
        if self.spilled() {
            &self.heap
        } else {
            &self.inline[..self.len]
        }
    }

    /// The `i`th state.
    pub(super) fn get(&self, i: usize) -> Option<u32> {
        self.as_slice().get(i).copied()
    }

    /// Whether there is no state.
    pub(super) fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Empties the set: back on the stack, the heap buffer kept for reuse.
    pub(super) fn clear(&mut self) {
        self.len = 0;
        self.heap.clear();
    }

    /// Sorts the states and removes duplicates.
    pub(super) fn sort_dedup(&mut self) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
