//! Path patterns (docs/REFERENCE.md#patterns): parsing and validation at build time, matching
//! against a normalised path, and the set relations (`covers`, `overlaps`) that
//! [`analysis`](super::analysis) needs.
//!
//! Pure, no I/O; matching is case-sensitive and does not allocate.
//!
//! A pattern is a list of segments, each a literal, `*` (exactly one non-empty
//! segment) or `{name}` (the same, named), optionally ending in `**` (zero or more
//! segments). A request's trailing slash is ignored: `/a/b` matches `/a/b/`.
//!
//! A literal is compared with the request's segment after decoding the escapes the
//! normaliser keeps (`%3A`, `%C3%A9`, ...), because the upstream decodes them too:
//! otherwise `/api/items%3Apurge` would slip past a rule on `/api/items:purge`.

use std::fmt;

use super::path::{path_segments, segment_equals};

/// Why a path pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern does not start with `/`.
    #[error("the pattern must start with '/'")]
    NotAbsolute,
    /// The pattern ends with `/` (other than the root pattern `/`).
    #[error("the pattern must not end with '/'; requests match with or without a trailing slash, and '/**' matches everything below")]
    TrailingSlash,
    /// `//` in the pattern.
    #[error("the pattern must not contain '//'; requests are matched after '//' is merged")]
    EmptySegment,
    /// A `.` or `..` segment.
    #[error("the pattern must not contain '.' or '..' segments; requests are matched after those are resolved")]
    DotSegment,
    /// A character that a normalised path never carries, or that belongs to the query.
    #[error("the pattern must not contain {0:?}; write the decoded path, without query, fragment, escapes or ';'")]
    ForbiddenChar(char),
    /// `**` before the last segment.
    #[error("'**' is only allowed as the last segment, as in '/prefix/**'")]
    DoubleStarNotLast,
    /// `*` inside a segment, as in `/a*` or `/a/**b`.
    #[error("'*' must be a whole segment ('/a/*/b' or '/a/**'), not part of {0:?}")]
    PartialWildcard(String),
    /// A malformed `{name}` segment.
    #[error("{0:?} is not a valid parameter; write a whole segment '{{name}}' with a name of letters, digits and '_'")]
    BadParam(String),
    /// The same `{name}` twice.
    #[error("parameter {{{0}}} appears twice; parameter names must be unique within a pattern")]
    DuplicateParam(String),
}

/// One segment of a pattern (the final `**` is [`Pattern::has_rest`], not a segment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Matches exactly this text (case-sensitive; the request segment's escapes decoded).
    Literal(Box<str>),
    /// `*`: any one non-empty segment.
    Star,
    /// `{name}`: any one non-empty segment, whose value [`Pattern::param_index`] finds.
    Param(Box<str>),
}

impl Segment {
    /// Whether every segment this one matches is also matched by `self`.
    fn covers(&self, other: &Segment) -> bool {
        match (self, other) {
            (Segment::Literal(a), Segment::Literal(b)) => a == b,
            (Segment::Literal(_), _) => false,
            (_, _) => true,
        }
    }

    /// Whether some segment matches both.
    fn overlaps(&self, other: &Segment) -> bool {
        match (self, other) {
            (Segment::Literal(a), Segment::Literal(b)) => a == b,
            (_, _) => true,
        }
    }
}

/// A compiled path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    source: Box<str>,
    segments: Box<[Segment]>,
    rest: bool,
}

impl Pattern {
    /// Parses and validates a pattern such as `/api/users/{id}/mail/**`.
    pub fn parse(source: &str) -> Result<Self, PatternError> {
        let body = source.strip_prefix('/').ok_or(PatternError::NotAbsolute)?;
        let mut segments = Vec::new();
        let mut rest = false;
        if !body.is_empty() {
            if body.ends_with('/') {
                return Err(PatternError::TrailingSlash);
            }
            let mut pieces = body.split('/').peekable();
            while let Some(piece) = pieces.next() {
                if piece == "**" {
                    if pieces.peek().is_some() {
                        return Err(PatternError::DoubleStarNotLast);
                    }
                    rest = true;
                } else {
                    segments.push(parse_segment(piece, &segments)?);
                }
            }
        }
        Ok(Self {
            source: source.into(),
            segments: segments.into(),
            rest,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The segments before any final `**`.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether the pattern ends in `**` (matches its prefix and everything below).
    pub fn has_rest(&self) -> bool {
        self.rest
    }

    /// Whether the normalised `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        let mut actual = path_segments(path);
        for expected in self.segments.iter() {
            match (expected, actual.next()) {
                (_, None) => return false,
                (Segment::Literal(literal), Some(segment)) if !segment_equals(segment, literal) => {
                    return false
                }
                _ => {}
            }
        }
        self.rest || actual.next().is_none()
    }

    /// The position of parameter `{name}` among the path's segments.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.segments
            .iter()
            .position(|s| matches!(s, Segment::Param(p) if **p == *name))
    }

    /// Whether every path `other` matches is also matched by `self`.
    pub fn covers(&self, other: &Pattern) -> bool {
        let (mut mine, mut theirs) = (self.segments.iter(), other.segments.iter());
        loop {
            match (mine.next(), theirs.next()) {
                // Past our last segment: a path matching `other` may end here or go on.
                (None, next) => return self.rest || (next.is_none() && !other.rest),
                // `other` can end (or, with `**`, take any segment) where we need a specific one.
                (Some(_), None) => return false,
                (Some(a), Some(b)) if !a.covers(b) => return false,
                _ => {}
            }
        }
    }

    /// Whether some path matches both `self` and `other`.
    pub fn overlaps(&self, other: &Pattern) -> bool {
        let (mut mine, mut theirs) = (self.segments.iter(), other.segments.iter());
        loop {
            match (mine.next(), theirs.next()) {
                (None, None) => return true,
                (None, Some(_)) => return self.rest,
                (Some(_), None) => return other.rest,
                (Some(a), Some(b)) if !a.overlaps(b) => return false,
                _ => {}
            }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_segment(piece: &str, earlier: &[Segment]) -> Result<Segment, PatternError> {
    match piece {
        "" => return Err(PatternError::EmptySegment),
        "." | ".." => return Err(PatternError::DotSegment),
        "*" => return Ok(Segment::Star),
        _ => {}
    }
    if let Some(name) = piece.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        let valid =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(PatternError::BadParam(piece.into()));
        }
        if earlier
            .iter()
            .any(|s| matches!(s, Segment::Param(p) if **p == *name))
        {
            return Err(PatternError::DuplicateParam(name.into()));
        }
        return Ok(Segment::Param(name.into()));
    }
    for c in piece.chars() {
        match c {
            '%' | ';' | '?' | '#' | '\\' => return Err(PatternError::ForbiddenChar(c)),
            c if c.is_control() || c.is_whitespace() => return Err(PatternError::ForbiddenChar(c)),
            '*' => return Err(PatternError::PartialWildcard(piece.into())),
            '{' | '}' => return Err(PatternError::BadParam(piece.into())),
            _ => {}
        }
    }
    Ok(Segment::Literal(piece.into()))
}
