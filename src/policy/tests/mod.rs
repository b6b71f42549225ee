//! Table-driven tests of the policy module, one file per concern, plus the helpers
//! they share.

mod path;
mod pattern;

/// A tiny deterministic generator (64-bit LCG, Knuth's constants) for property tests
/// without extra crates; a fixed seed keeps every failure reproducible.
pub(super) struct Lcg(u64);

impl Lcg {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A value in `0..bound` (`bound` must be non-zero).
    pub(super) fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % bound
    }

    /// One element of `items`.
    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
