//! Turns positions back into `LINE:COL` of the file as written: YAML paths such as
//! `routes[2].match.path` (for errors found after deserialising) and positions reported by the
//! YAML parser in the interpolated text (for errors found while deserialising).
//!
//! The path index comes from yaml-rust2's event parser, whose markers carry a 1-based line and a
//! 0-based column in characters; block and flow collections are both covered. Positions are
//! stored as seen in the interpolated text and mapped back through [`ColumnShifts`] on lookup.
//! Building the index also finds duplicate keys (serde_yaml reports those without a position,
//! and silently keeps the last entry of a map).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::TScalarStyle;
use yaml_rust2::scanner::{Marker, ScanError};

use super::error::Location;

/// Where `${VAR}` replacements changed column numbers, line by line.
#[derive(Debug, Clone, Default)]
pub(super) struct ColumnShifts {
    by_line: HashMap<u32, Vec<Shift>>,
}

/// One replacement: columns are 0-based, in characters; recorded left to right.
#[derive(Debug, Clone, Copy)]
struct Shift {
    out_column: u32,
    out_len: u32,
    in_column: u32,
    in_len: u32,
}

/// Positions of the nodes of one YAML document, keyed by path.
#[derive(Debug, Clone, Default)]
pub(super) struct PathIndex {
    nodes: HashMap<String, Node>,
    /// The top-level keys, in file order (interpolated-text positions).
    pub(super) top_level: Vec<(String, Location)>,
    /// Keys written twice in one mapping.
    pub(super) duplicates: Vec<Duplicate>,
    /// Whether the document uses aliases (`*name`), which tie distant parts of the file together.
    pub(super) has_aliases: bool,
    /// Whether the root is a block mapping (as opposed to a flow mapping or no mapping at all).
    pub(super) root_is_block_mapping: bool,
}

/// A key written a second time in the same mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Duplicate {
    /// The path of the repeated key, such as `upstreams.shop`.
    pub(super) path: String,
    /// The second occurrence (interpolated-text position).
    pub(super) at: Location,
    /// The first occurrence (interpolated-text position).
    pub(super) first: Location,
}

/// Positions of one node (interpolated-text positions).
#[derive(Debug, Clone, Copy, Default)]
struct Node {
    /// The key, when the node is a mapping value.
    key: Option<Location>,
    /// The value itself; `None` for an implicit null (`key:` with nothing after it).
    value: Option<Location>,
}

/// The path index plus the column shifts: everything needed to locate things in the original.
#[derive(Debug, Clone, Default)]
pub(super) struct SourceMap {
    pub(super) shifts: ColumnShifts,
    pub(super) index: PathIndex,
    /// The end of the file as written. Both YAML parsers put things found at the end of a
    /// file without a final newline on the line after the last one (found by the `config`
    /// fuzz target); positions past the end are moved here. `None`: no clamping.
    pub(super) end: Option<Location>,
}

// === impl ColumnShifts ===

impl ColumnShifts {
    /// Records that `in_len` characters at `in_column` of `line` became `out_len` characters at
    /// `out_column` (columns 0-based). Calls for one line must go left to right.
    pub(super) fn record(
        &mut self,
        line: u32,
        out_column: u32,
        out_len: u32,
        in_column: u32,
        in_len: u32,
    ) {
        let shift = Shift {
            out_column,
            out_len,
            in_column,
            in_len,
        };
        self.by_line.entry(line).or_default().push(shift);
    }

    /// Maps a 1-based position in the interpolated text to the original text. A position inside
    /// a substituted value maps to the `${` of its reference.
    pub(super) fn to_original(&self, line: u32, column: u32) -> Location {
        let column0 = column.saturating_sub(1);
        let mut original = column0;
        for shift in self.by_line.get(&line).into_iter().flatten() {
            if column0 < shift.out_column {
                break;
            }
            if column0 < shift.out_column + shift.out_len {
                original = shift.in_column;
                break;
            }
            original =
                column0 - (shift.out_column + shift.out_len) + shift.in_column + shift.in_len;
        }
        Location {
            line,
            column: original + 1,
        }
    }
}

// === impl SourceMap ===

impl SourceMap {
    /// Position of the node at `yaml_path`: its value, else its key, else the nearest ancestor
    /// that exists. `None` only when nothing along the path exists (empty document).
    pub(super) fn locate(&self, yaml_path: &str) -> Option<Location> {
        self.find(yaml_path, |node| node.value.or(node.key))
    }

    /// Like [`Self::locate`], preferring the key (`upstreams.shop` points at `shop:`).
    pub(super) fn locate_key(&self, yaml_path: &str) -> Option<Location> {
        self.find(yaml_path, |node| node.key.or(node.value))
    }

    /// Maps a 1-based position in the interpolated text to the original.
    pub(super) fn to_original(&self, location: Location) -> Location {
        let original = self.shifts.to_original(location.line, location.column);
        match self.end {
            Some(end) if original.line > end.line => end,
            _ => original,
        }
    }

    fn find(&self, yaml_path: &str, pick: impl Fn(&Node) -> Option<Location>) -> Option<Location> {
        let mut path = yaml_path;
        loop {
            if let Some(location) = self.index.nodes.get(path).and_then(&pick) {
                return Some(self.to_original(location));
            }
            if path.is_empty() {
                return None;
            }
            path = parent(path);
        }
    }
}

/// `a.b[2]` → `a.b` → `a` → `` (the root).
fn parent(path: &str) -> &str {
    let cut = if path.ends_with(']') {
        path.rfind('[')
    } else {
        path.rfind('.')
    };
    cut.map_or("", |at| &path[..at])
}

// === impl PathIndex ===

impl PathIndex {
    /// Indexes the first document of `text`.
    ///
    /// # Errors
    /// The YAML does not parse; callers report serde_yaml's own error for that instead.
    pub(super) fn build(text: &str) -> Result<Self, ScanError> {
        let mut builder = Builder {
            lines: text.split('\n').collect(),
            ..Builder::default()
        };
        Parser::new_from_str(text).load(&mut builder, false)?;
        Ok(builder.index)
    }

    /// Whether the document has any node at all (false for an empty or comment-only file).
    pub(super) fn has_root(&self) -> bool {
        self.nodes.contains_key("")
    }
}

/// Receives parser events and tracks where in the tree each one lands.
#[derive(Default)]
struct Builder<'t> {
    lines: Vec<&'t str>,
    stack: Vec<Frame>,
    index: PathIndex,
}

/// An open collection. `path` is `None` inside a key that is itself a collection (which YAML
/// allows and no config path can name).
enum Frame {
    Map {
        path: Option<String>,
        /// The key whose value comes next, or `None` while a key is awaited.
        key: Option<(Option<String>, Location)>,
        /// Keys seen so far, for duplicate detection.
        seen: HashMap<String, Location>,
        /// A block mapping's own marker is unreliable: use its first key's position instead.
        located_by_first_key: bool,
    },
    Seq {
        path: Option<String>,
        next: usize,
    },
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let here = Location {
            line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
            column: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
        };
        match event {
            Event::Scalar(value, style, ..) => {
                if self.awaiting_key() {
                    self.take_key(Some(value), here);
                } else {
                    let implicit_null = style == TScalarStyle::Plain && value.is_empty();
                    self.leaf(if implicit_null { None } else { Some(here) });
                }
            }
            Event::Alias(_) => {
                self.index.has_aliases = true;
                if self.awaiting_key() {
                    self.take_key(None, here);
                } else {
                    self.leaf(Some(here));
                }
            }
            Event::MappingStart(..) => {
                let is_flow = self.char_at(mark) == Some('{');
                if self.stack.is_empty() && !self.index.has_root() {
                    self.index.root_is_block_mapping = !is_flow;
                }
                let path = self.open(if is_flow { Some(here) } else { None });
                let frame = Frame::Map {
                    path,
                    key: None,
                    seen: HashMap::new(),
                    located_by_first_key: !is_flow,
                };
                self.stack.push(frame);
            }
            Event::SequenceStart(..) => {
                let path = self.open(Some(here));
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.node_done();
            }
            _ => {}
        }
    }
}

impl Builder<'_> {
    fn awaiting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn char_at(&self, mark: Marker) -> Option<char> {
        let line = self.lines.get(mark.line().checked_sub(1)?)?;
        line.chars().nth(mark.col())
    }

    /// A scalar or alias in value position.
    fn leaf(&mut self, value: Option<Location>) {
        self.open(value);
        self.node_done();
    }

    /// Records a value node starting here and returns its path.
    fn open(&mut self, value: Option<Location>) -> Option<String> {
        let (path, key) = match self.stack.last_mut() {
            None if self.index.has_root() => (None, None), // a later document: not indexed
            None => (Some(String::new()), None),
            Some(Frame::Map { path, key, .. }) => match key {
                Some((Some(name), at)) => (path.as_ref().map(|p| join(p, name)), Some(*at)),
                Some((None, _)) | None => (None, None),
            },
            Some(Frame::Seq { path, next }) => {
                *next += 1;
                (path.as_ref().map(|p| format!("{p}[{}]", *next - 1)), None)
            }
        };
        if let Some(path) = &path {
            self.index
                .nodes
                .entry(path.clone())
                .or_insert(Node { key, value });
        }
        path
    }

    /// A key scalar (or `None` for an alias used as key).
    fn take_key(&mut self, name: Option<String>, at: Location) {
        let depth = self.stack.len();
        let Some(Frame::Map {
            path,
            key,
            seen,
            located_by_first_key,
        }) = self.stack.last_mut()
        else {
            return;
        };
        if let (Some(path), true) = (path.as_ref(), *located_by_first_key) {
            if let Some(node) = self.index.nodes.get_mut(path) {
                node.value = Some(at);
            }
            *located_by_first_key = false;
        }
        if let Some(name) = &name {
            match seen.get(name) {
                Some(first) => self.index.duplicates.push(Duplicate {
                    path: path
                        .as_ref()
                        .map_or_else(|| name.clone(), |p| join(p, name)),
                    at,
                    first: *first,
                }),
                None => {
                    seen.insert(name.clone(), at);
                }
            }
            if depth == 1 && path.as_deref() == Some("") {
                self.index.top_level.push((name.clone(), at));
            }
        }
        *key = Some((name, at));
    }

    /// A node finished in the current frame: a map's value is complete (await the next key), or
    /// a collection used as a key is complete (await its value).
    fn node_done(&mut self) {
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = match key.take() {
                Some(_) => None,
                None => Some((None, Location { line: 0, column: 0 })),
            };
        }
    }
}

/// `parent` + `.` + `key`, or just `key` at the root.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests;
