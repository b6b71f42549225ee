//! The lookup index behind [`RuleSet::find`](super::RuleSet::find): a trie over
//! pattern segments that returns the lowest-numbered (first in file order) rule
//! matching a request, without scanning every rule.
//!
//! Pure, no I/O; a lookup does not allocate. Each trie node has literal children
//! (sorted, binary-searched), one child for `*` and `{param}` alike, the rules whose
//! pattern ends exactly there, and the rules whose pattern ends there in `**`. A
//! lookup walks the literal and the wildcard branch for each path segment, skipping
//! any subtree whose lowest rule number cannot beat the best match found so far, so
//! the cost follows the path's depth, not the number of rules.

use std::cmp::Ordering;

use super::matcher::Query;
use super::path::{may_arrive_encoded, next_segment, segment_equals};
use super::pattern::Segment;
use super::rule::Rule;

/// No rule: larger than every rule number.
const NONE: u32 = u32::MAX;

#[derive(Debug, Default)]
struct Node {
    /// Literal children, sorted by [`by_length_then_bytes`].
    literals: Vec<(Box<str>, u32)>,
    /// The literal children a segment with an escape may equal once decoded
    /// (those with a byte outside the unreserved set); usually empty.
    encodable: Vec<(Box<str>, u32)>,
    /// The child for `*` and `{param}` segments.
    wildcard: Option<u32>,
    /// Rules whose pattern ends at this node (ascending).
    exact: Vec<u32>,
    /// Rules whose pattern ends at this node with `**` (ascending).
    rest: Vec<u32>,
    /// The lowest rule number in this subtree.
    lowest: u32,
}

impl Node {
    /// The literal child that `segment` leads to, if any.
    fn literal_child(&self, segment: &str) -> Option<u32> {
        let found = self
            .literals
            .binary_search_by(|(text, _)| by_length_then_bytes(text, segment));
        match found {
            Ok(at) => self.literals.get(at).map(|(_, child)| *child),
            // A segment with an escape (`items%3Apurge`) never equals a literal byte
            // for byte; compare it decoded, as the upstream will read it.
            Err(_) if segment.contains('%') => self
                .encodable
                .iter()
                .find(|(text, _)| segment_equals(segment, text))
                .map(|(_, child)| *child),
            Err(_) => None,
        }
    }
}

/// The compiled trie; node 0 is the root (the pattern `/`).
#[derive(Debug)]
pub(crate) struct Index {
    nodes: Vec<Node>,
}

impl Index {
    /// Indexes `rules`, whose positions are their rule numbers.
    pub(crate) fn build(rules: &[Rule]) -> Self {
        let mut index = Self {
            nodes: vec![Node::default()],
        };
        for (number, rule) in (0u32..).zip(rules) {
            let mut node = 0;
            for segment in rule.pattern().segments() {
                node = index.child(node, segment);
            }
            let leaf = &mut index.nodes[node];
            if rule.pattern().has_rest() {
                leaf.rest.push(number);
            } else {
                leaf.exact.push(number);
            }
        }
        // Children are created after their parent, so a reverse sweep sees every
        // child's `lowest` before its parent needs it.
        for at in (0..index.nodes.len()).rev() {
            let node = &index.nodes[at];
            let own = node
                .exact
                .first()
                .into_iter()
                .chain(node.rest.first())
                .copied();
            let children = node
                .literals
                .iter()
                .map(|(_, child)| *child)
                .chain(node.wildcard);
            let lowest = children
                .map(|child| index.nodes[child as usize].lowest)
                .chain(own)
                .min();
            index.nodes[at].lowest = lowest.unwrap_or(NONE);
        }
        index
    }

    /// The child of `node` for `segment`, created if missing.
    fn child(&mut self, node: usize, segment: &Segment) -> usize {
        let fresh = u32::try_from(self.nodes.len()).unwrap_or(NONE);
        let parent = &mut self.nodes[node];
        let child = match segment {
            Segment::Literal(text) => match parent
                .literals
                .binary_search_by(|(t, _)| by_length_then_bytes(t, text))
            {
                Ok(found) => return parent.literals[found].1 as usize,
                Err(slot) => {
                    parent.literals.insert(slot, (text.clone(), fresh));
                    if may_arrive_encoded(text) {
                        parent.encodable.push((text.clone(), fresh));
                    }
                    fresh
                }
            },
            Segment::Star | Segment::Param(_) => *parent.wildcard.get_or_insert(fresh),
        };
        if child == fresh {
            self.nodes.push(Node::default());
        }
        child as usize
    }

    /// The number of the first rule (in `rules`, the slice this index was built
    /// from) that matches the query and the normalised `path`.
    pub(crate) fn find(&self, rules: &[Rule], query: &Query<'_>, path: &str) -> Option<usize> {
        let mut best = NONE;
        self.walk(0, path, rules, query, &mut best);
        (best != NONE).then_some(best as usize)
    }

    fn walk(&self, node: usize, path: &str, rules: &[Rule], query: &Query<'_>, best: &mut u32) {
        let Some(here) = self.nodes.get(node) else {
            return;
        };
        if here.lowest >= *best {
            return;
        }
        first_accepting(&here.rest, rules, query, best);
        let Some((segment, tail)) = next_segment(path) else {
            first_accepting(&here.exact, rules, query, best);
            return;
        };
        if let Some(child) = here.literal_child(segment) {
            self.walk(child as usize, tail, rules, query, best);
        }
        if let Some(wildcard) = here.wildcard {
            self.walk(wildcard as usize, tail, rules, query, best);
        }
    }
}

/// Lowers `best` to the first rule of `candidates` (ascending) below it whose
/// method and host conditions accept the query.
fn first_accepting(candidates: &[u32], rules: &[Rule], query: &Query<'_>, best: &mut u32) {
    for &number in candidates.iter().take_while(|number| **number < *best) {
        if rules
            .get(number as usize)
            .is_some_and(|rule| rule.accepts(query))
        {
            *best = number;
            return;
        }
    }
}

/// The order of literal children: by length, then bytes. Any total order would do;
/// this one settles most comparisons without touching the bytes.
fn by_length_then_bytes(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}
