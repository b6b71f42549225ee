//! Request-path normalisation: the one canonical form of a path that rules are matched
//! against and that the upstream receives ("match on exactly the bytes you forward").
//!
//! Pure, no I/O. A path that is already canonical (the common case) is returned
//! borrowed, without allocating; only a path that needs rewriting is copied.
//!
//! The rules, in order (docs/REFERENCE.md#sec-paths lists the bypasses each one closes):
//!
//! 1. The path must start with `/` (origin-form); `*` and absolute-form are refused.
//! 2. Refused outright: `#`, `?` (the caller splits the query off first), raw `\`,
//!    raw `;` (Tomcat and Spring read `..;` as `..`; like Spring's `StrictHttpFirewall`
//!    we refuse matrix parameters), raw spaces and control characters, malformed
//!    percent escapes, escapes of `/`, `\` or control characters (`%2F`, `%5C`,
//!    `%00`, `%0A`, ...), and escapes whose bytes are not UTF-8 (`%C0%AE`, `%80`,
//!    `%ED%A0%80`, `%E2%82`).
//! 3. Escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded, the hex of
//!    every other escape is upper-cased. Decoding happens once: `%252e` stays `%252e`.
//! 4. Runs of `/` are merged.
//! 5. `.` and `..` segments are resolved (RFC 3986 `remove_dot_segments`). A `..` that
//!    would climb above the root is refused rather than clamped. A trailing slash is
//!    kept: `/a/b/` stays `/a/b/`, `/a/b/.` becomes `/a/b/`, `/a/..` becomes `/`.

use std::borrow::Cow;

/// Why a request path was refused; the gateway answers 400 with this message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/` (for example `*` or `http://host/x`).
    #[error("the request path must start with '/'")]
    NotOriginForm,
    /// A raw `#`: fragments are never sent to a server.
    #[error("the request path must not contain '#'; fragments stay in the client")]
    Fragment,
    /// A raw `?` reached the normaliser: the query string was not split off.
    #[error("the request path must not contain '?'; the query string goes after the path")]
    Query,
    /// A raw `\`.
    #[error("the request path must not contain '\\'; separate segments with '/'")]
    Backslash,
    /// A raw `;` (matrix parameters).
    #[error("the request path must not contain ';'; matrix parameters are not accepted")]
    Semicolon,
    /// A raw space.
    #[error("the request path must not contain a raw space; encode it as %20")]
    Space,
    /// A raw ASCII control character (0x00-0x1F, 0x7F).
    #[error("the request path must not contain control characters")]
    ControlChar,
    /// A `%` not followed by two hex digits.
    #[error(
        "the request path has a malformed percent escape; '%' must be followed by two hex digits"
    )]
    MalformedEscape,
    /// `%2F`: an encoded `/` would let the path mean two things.
    #[error("the request path must not contain an encoded '/' (%2F); send a plain '/'")]
    EncodedSlash,
    /// `%5C`: an encoded `\`.
    #[error("the request path must not contain an encoded '\\' (%5C)")]
    EncodedBackslash,
    /// An escape of a control character (`%00`-`%1F`, `%7F`).
    #[error("the request path must not contain an encoded control character such as %00 or %0A")]
    EncodedControl,
    /// Percent escapes that do not decode to UTF-8: an overlong form
    /// (`%C0%AE` for `.`), a lone continuation byte, a surrogate, or a
    /// sequence cut short. No legitimate client sends one, and a lenient
    /// decoder behind the gateway could read it as something the policy
    /// never saw.
    #[error("the request path has percent escapes that do not decode to UTF-8 (overlong, cut short or a surrogate)")]
    InvalidUtf8Escape,
    /// A `..` segment climbs above `/`.
    #[error("the request path climbs above the root with '..'")]
    EscapesRoot,
}

/// Normalises the path component of a request target (without its query string).
///
/// Returns `Cow::Borrowed(raw)` when `raw` is already canonical, so the common case
/// does not allocate. The result is idempotent: normalising it again borrows it
/// unchanged. See the module doc for the rules and [`PathError`] for the refusals.
pub fn normalize_path(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if scan(raw)? {
        Ok(Cow::Borrowed(raw))
    } else {
        rebuild(raw).map(Cow::Owned)
    }
}

/// The non-empty segments of a normalised path, in order: `/a/b/` yields `a`, `b`;
/// `/` yields nothing. A trailing slash therefore makes no difference to matching.
pub fn path_segments(path: &str) -> Segments<'_> {
    Segments { rest: path }
}

/// Iterator over the non-empty segments of a path; see [`path_segments`].
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (segment, rest) = next_segment(self.rest)?;
        self.rest = rest;
        Some(segment)
    }
}

/// Splits the next non-empty segment off `path`: `/a/b` gives `a` and `/b`.
///
/// A plain byte loop: segments are short, and `str::split` costs more to set up
/// than to run on them (it dominated the lookup profile).
pub(crate) fn next_segment(path: &str) -> Option<(&str, &str)> {
    let bytes = path.as_bytes();
    let start = bytes.iter().position(|&b| b != b'/')?;
    let end = bytes[start..]
        .iter()
        .position(|&b| b == b'/')
        .map_or(bytes.len(), |len| start + len);
    // Both ends sit next to an ASCII '/' or at an end, so they are char boundaries.
    Some((path.get(start..end)?, path.get(end..)?))
}

/// Whether a segment of a normalised path equals `literal` (a pattern segment, which
/// has no `%`) once the segment's remaining escapes are decoded, as the upstream
/// will decode them: `items%3Apurge` equals `items:purge`, `caf%C3%A9` equals `café`.
pub(crate) fn segment_equals(segment: &str, literal: &str) -> bool {
    if segment == literal {
        return true;
    }
    let (segment, literal) = (segment.as_bytes(), literal.as_bytes());
    if !segment.contains(&b'%') {
        return false;
    }
    let (mut i, mut matched) = (0, 0);
    while let Some(&byte) = segment.get(i) {
        let decoded = match byte {
            b'%' => match escape_at(segment, i) {
                Ok((value, _)) => {
                    i += 3;
                    value
                }
                Err(_) => return false,
            },
            _ => {
                i += 1;
                byte
            }
        };
        if literal.get(matched) != Some(&decoded) {
            return false;
        }
        matched += 1;
    }
    matched == literal.len()
}

/// Whether `literal` could equal a segment that still carries an escape: only if
/// it has a byte outside the unreserved set (escapes of the others are decoded).
pub(crate) fn may_arrive_encoded(literal: &str) -> bool {
    !literal.bytes().all(is_unreserved)
}

/// Validates every byte and reports whether `raw` is already canonical.
fn scan(raw: &str) -> Result<bool, PathError> {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotOriginForm);
    }
    let mut clean = true;
    let mut segment_start = 1;
    let mut utf8 = Utf8Escapes::default();
    let mut i = 1;
    while let Some(&byte) = bytes.get(i) {
        if PLAIN[usize::from(byte)] {
            i += 1;
            continue;
        }
        match byte {
            b'/' => {
                let segment = &bytes[segment_start..i];
                clean &= !matches!(segment, b"" | b"." | b"..");
                segment_start = i + 1;
            }
            b'%' => {
                let (value, upper) = escape_at(bytes, i)?;
                check_escape(value)?;
                utf8.feed(value)?;
                // A multi-byte sequence continues only in the next escape: a
                // raw byte after it starts a character of its own.
                if utf8.open() && bytes.get(i + 3) != Some(&b'%') {
                    return Err(PathError::InvalidUtf8Escape);
                }
                clean &= upper && !is_unreserved(value);
                i += 3;
                continue;
            }
            byte => check_raw(byte)?,
        }
        i += 1;
    }
    clean &= !matches!(&bytes[segment_start..], b"." | b"..");
    Ok(clean)
}

/// The UTF-8 sequence the escapes of a path are in the middle of, checked
/// byte by byte as RFC 3629 defines it (no overlong forms, no surrogates,
/// nothing above U+10FFFF).
#[derive(Default)]
struct Utf8Escapes {
    /// Continuation bytes still expected.
    need: u8,
    /// The range the next continuation byte must be in.
    low: u8,
    high: u8,
}

impl Utf8Escapes {
    fn feed(&mut self, byte: u8) -> Result<(), PathError> {
        if self.need > 0 {
            if !(self.low..=self.high).contains(&byte) {
                return Err(PathError::InvalidUtf8Escape);
            }
            self.need -= 1;
            (self.low, self.high) = (0x80, 0xBF);
            return Ok(());
        }
        (self.need, self.low, self.high) = match byte {
            0x00..=0x7F => return Ok(()),
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            _ => return Err(PathError::InvalidUtf8Escape),
        };
        Ok(())
    }

    /// Whether a sequence has begun and not ended.
    fn open(&self) -> bool {
        self.need > 0
    }
}

/// Bytes [`scan`] can step over: all but `/`, `%` and the ones [`check_raw`] refuses.
/// A table lookup per byte keeps the common, already-canonical path cheap.
static PLAIN: [bool; 256] = plain_bytes();

const fn plain_bytes() -> [bool; 256] {
    let mut table = [true; 256];
    let mut byte = 0;
    while byte < table.len() {
        let b = byte as u8;
        table[byte] =
            !(b.is_ascii_control() || matches!(b, b'/' | b'%' | b'#' | b'?' | b'\\' | b';' | b' '));
        byte += 1;
    }
    table
}

/// Builds the canonical form of a path that [`scan`] found valid but not canonical.
///
/// One pass over the bytes: each segment is decoded straight into `out`, then
/// dropped (empty or `.`), or dropped with its parent (`..`). Slices are cut next
/// to ASCII bytes (`/`, `%` and escape ends), which are always char boundaries.
fn rebuild(raw: &str) -> Result<String, PathError> {
    let body = raw.strip_prefix('/').ok_or(PathError::NotOriginForm)?;
    let bytes = body.as_bytes();
    // `out` holds "/segment" pieces; the root is the empty string until the end.
    let mut out = String::with_capacity(raw.len());
    let mut segment_start = 0;
    out.push('/');
    let (mut copied, mut i) = (0, 0);
    loop {
        match bytes.get(i) {
            Some(b'%') => {
                out.push_str(&body[copied..i]);
                push_escape(escape_at(bytes, i)?.0, &mut out);
                i += 3;
                copied = i;
            }
            Some(b'/') | None => {
                out.push_str(&body[copied..i]);
                close_segment(&mut out, segment_start)?;
                if i == bytes.len() {
                    break;
                }
                segment_start = out.len();
                out.push('/');
                i += 1;
                copied = i;
            }
            Some(_) => i += 1,
        }
    }
    // A path that ends in an empty, `.` or `..` segment keeps its trailing slash.
    if out.len() <= segment_start {
        out.push('/');
    }
    Ok(out)
}

/// Resolves the segment `out[start..]` (which starts with its `/`).
fn close_segment(out: &mut String, start: usize) -> Result<(), PathError> {
    match out.get(start + 1..) {
        Some("" | ".") => out.truncate(start),
        Some("..") => {
            out.truncate(start);
            let parent = out.rfind('/').ok_or(PathError::EscapesRoot)?;
            out.truncate(parent);
        }
        _ => {}
    }
    Ok(())
}

/// Appends an escape's canonical form: the character if unreserved, else `%XX`.
fn push_escape(value: u8, out: &mut String) {
    if is_unreserved(value) {
        out.push(char::from(value));
    } else {
        out.push('%');
        out.push(char::from(HEX_UPPER[usize::from(value >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(value & 0x0f)]));
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Decodes the escape starting at `bytes[at] == b'%'`: its value, and whether its hex
/// digits are already upper-case.
fn escape_at(bytes: &[u8], at: usize) -> Result<(u8, bool), PathError> {
    let (Some(&high), Some(&low)) = (bytes.get(at + 1), bytes.get(at + 2)) else {
        return Err(PathError::MalformedEscape);
    };
    let (Some(h), Some(l)) = (hex_value(high), hex_value(low)) else {
        return Err(PathError::MalformedEscape);
    };
    let upper = !high.is_ascii_lowercase() && !low.is_ascii_lowercase();
    Ok((h << 4 | l, upper))
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn check_raw(byte: u8) -> Result<(), PathError> {
    match byte {
        b'#' => Err(PathError::Fragment),
        b'?' => Err(PathError::Query),
        b'\\' => Err(PathError::Backslash),
        b';' => Err(PathError::Semicolon),
        b' ' => Err(PathError::Space),
        byte if byte.is_ascii_control() => Err(PathError::ControlChar),
        _ => Ok(()),
    }
}

fn check_escape(value: u8) -> Result<(), PathError> {
    match value {
        b'/' => Err(PathError::EncodedSlash),
        b'\\' => Err(PathError::EncodedBackslash),
        value if value.is_ascii_control() => Err(PathError::EncodedControl),
        _ => Ok(()),
    }
}
