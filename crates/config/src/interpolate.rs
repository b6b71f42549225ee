//! `${VAR}` interpolation: the config text is rewritten with environment values before YAML
//! parsing, so one file can serve several environments (docs/REFERENCE.md#configuration).
//!
//! Rules, in the order they are checked:
//! - `$${` is an escape and produces a literal `${`. A `$` not followed by `{` is ordinary text
//!   (argon2 hashes and passwords are full of them), so only `$${` needs escaping. The text is
//!   read left to right, so `$$${A}` is `$` then the escape: a literal `$` directly before a
//!   live reference cannot be written (put it in the variable's value).
//! - `${NAME}` where NAME is `[A-Za-z_][A-Za-z0-9_]*` is replaced by that environment variable.
//!   There is no `${NAME:-default}` syntax; anything else after `${` is a malformed reference.
//! - References inside YAML comments are left untouched and never fail: the reference example (testdata/contract.yaml)
//!   itself keeps `# url: mysql://...:${NEXORA_DB_PASSWORD}@...` commented out, and a commented
//!   line must not demand a secret. Comments are found with a YAML parse of the text (see
//!   [`live_references`]); if that parse fails, every reference counts as live.
//! - An unset variable, a malformed reference, or a value containing a line break or another
//!   control character is an error. A line break could inject YAML structure, so such values are
//!   refused; the error names the variable and never shows its value, which may be a secret.
//!
//! Every problem in the file is reported, not just the first. Values are inserted verbatim:
//! quote the reference (`key: "${VAR}"`) when a value may contain YAML syntax such as `: `,
//! ` #` or flow characters.
//!
//! Since values never contain line breaks, lines keep their numbers; only columns move. Each
//! replacement whose length differs from its reference is recorded in [`ColumnShifts`], which
//! maps positions in the interpolated text back to the file as written.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::error::Location;
use super::source_map::ColumnShifts;

/// Opens a placeholder for a reference in the comment probe (a Unicode private-use character,
/// valid inside any YAML scalar and never produced by an operator by accident).
const PROBE_OPEN: char = '\u{E000}';
/// Closes a probe placeholder.
const PROBE_CLOSE: char = '\u{E001}';

/// The config text after interpolation, with the column shifts that map it back.
#[derive(Debug)]
pub(super) struct Interpolated {
    /// The text handed to the YAML parser. Contains secrets: never log it.
    pub(super) text: String,
    /// Where replacements changed column numbers.
    pub(super) shifts: ColumnShifts,
    /// Each substituted variable with its value, to scrub values out of parser messages.
    pub(super) substituted: Vec<(String, String)>,
}

/// An interpolation problem, positioned in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// Where the offending `${` starts.
    pub(super) location: Location,
    /// What is wrong; never contains a variable's value.
    pub(super) message: String,
}

/// One `$`-construct found in the text.
#[derive(Debug)]
struct Reference<'a> {
    kind: Kind<'a>,
    /// Byte range in the original text.
    start: usize,
    end: usize,
    /// 1-based line, 0-based column in characters.
    line: u32,
    column: u32,
}

#[derive(Debug, PartialEq, Eq)]
enum Kind<'a> {
    /// `$${`, a literal `${`.
    Escape,
    /// `${NAME}`.
    Variable(&'a str),
    /// `${` not followed by `NAME}`.
    Malformed,
}

/// Replaces every live `${NAME}` in `text` with `env(NAME)` and every `$${` with `${`.
///
/// # Errors
/// All unset variables, malformed references and refused values, in file order.
pub(super) fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, Vec<Problem>> {
    let references = scan(text);
    let live = live_references(text, &references);
    let mut out = String::with_capacity(text.len());
    let mut shifts = ColumnShifts::default();
    let mut problems = Vec::new();
    let mut substituted: Vec<(String, String)> = Vec::new();
    let (mut copied_to, mut line, mut delta) = (0, 0, 0_i64);
    for (reference, is_live) in references.iter().zip(live) {
        out.push_str(&text[copied_to..reference.start]);
        copied_to = reference.end;
        if reference.line != line {
            (line, delta) = (reference.line, 0);
        }
        let written = &text[reference.start..reference.end];
        let replacement = match (&reference.kind, is_live) {
            (Kind::Escape, _) => "${".to_owned(),
            (_, false) => written.to_owned(),
            (Kind::Malformed, true) => {
                problems.push(reference.problem(
                    "malformed variable reference: write ${NAME} (letters, digits and _) \
                     or $${ for a literal ${",
                ));
                written.to_owned()
            }
            (Kind::Variable(name), true) => match env(name) {
                None => {
                    problems
                        .push(reference.problem(format!("environment variable {name} is not set")));
                    written.to_owned()
                }
                Some(value) if value.chars().any(is_refused) => {
                    problems.push(reference.problem(format!(
                        "environment variable {name} contains a line break or control \
                         character; refusing to insert it, as it could change the YAML structure"
                    )));
                    written.to_owned()
                }
                Some(value) => {
                    if !substituted.iter().any(|(known, _)| known == name) {
                        substituted.push(((*name).to_owned(), value.clone()));
                    }
                    value
                }
            },
        };
        let written_len = count_chars(written);
        let replacement_len = count_chars(&replacement);
        if replacement_len != written_len {
            let out_column = i64::from(reference.column) + delta;
            shifts.record(
                line,
                u32::try_from(out_column).unwrap_or(u32::MAX),
                replacement_len,
                reference.column,
                written_len,
            );
            delta += i64::from(replacement_len) - i64::from(written_len);
        }
        out.push_str(&replacement);
    }
    out.push_str(&text[copied_to..]);
    if problems.is_empty() {
        Ok(Interpolated {
            text: out,
            shifts,
            substituted,
        })
    } else {
        Err(problems)
    }
}

/// Characters a substituted value may not contain: control characters, and the Unicode line
/// and paragraph separators that libyaml also treats as line breaks.
fn is_refused(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

fn count_chars(s: &str) -> u32 {
    u32::try_from(s.chars().count()).unwrap_or(u32::MAX)
}

/// Finds every `$${`, `${NAME}` and malformed `${` in the text, in order.
fn scan(text: &str) -> Vec<Reference<'_>> {
    let mut references = Vec::new();
    let (mut line, mut column) = (1_u32, 0_u32);
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        let construct = if rest.starts_with("$${") {
            Some((Kind::Escape, 3))
        } else if let Some(after) = rest.strip_prefix("${") {
            match variable_name(after) {
                Some(name) => Some((Kind::Variable(name), name.len() + 3)),
                None => Some((Kind::Malformed, 2)),
            }
        } else {
            None
        };
        let len = match construct {
            Some((kind, len)) => {
                references.push(Reference {
                    kind,
                    start: i,
                    end: i + len,
                    line,
                    column,
                });
                // Constructs are ASCII: their length in bytes is their length in characters.
                column += u32::try_from(len).unwrap_or(0);
                len
            }
            None if c == '\n' => {
                (line, column) = (line + 1, 0);
                1
            }
            None => {
                column += 1;
                c.len_utf8()
            }
        };
        i += len;
    }
    references
}

/// The NAME of `NAME}` at the start of `after`, if well formed.
fn variable_name(after: &str) -> Option<&str> {
    let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let name = &after[..len];
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && after[len..].starts_with('}');
    valid.then_some(name)
}

/// For each reference, whether it sits in YAML content (true) or in a comment (false).
///
/// Each `${...}` is replaced by a numbered private-use placeholder and the text is parsed;
/// placeholders that turn up in some scalar (key or value) are live. When the text does not
/// parse, all references are live: the YAML error is reported later, and treating a reference
/// as live can only add an error, never hide one.
fn live_references(text: &str, references: &[Reference<'_>]) -> Vec<bool> {
    let mut live = vec![true; references.len()];
    if !references.iter().any(|r| r.kind != Kind::Escape) {
        return live;
    }
    let mut probe = String::with_capacity(text.len() + references.len() * 4);
    let mut copied_to = 0;
    for (n, reference) in references.iter().enumerate() {
        if reference.kind == Kind::Escape {
            continue;
        }
        probe.push_str(&text[copied_to..reference.start]);
        probe.push(PROBE_OPEN);
        probe.push_str(&n.to_string());
        probe.push(PROBE_CLOSE);
        copied_to = reference.end;
    }
    probe.push_str(&text[copied_to..]);

    let mut scalars = ScalarText::default();
    if Parser::new_from_str(&probe)
        .load(&mut scalars, false)
        .is_err()
    {
        return live;
    }
    live.iter_mut().for_each(|is_live| *is_live = false);
    for placeholder in scalars.0.split(PROBE_OPEN).skip(1) {
        let number = placeholder
            .split(PROBE_CLOSE)
            .next()
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(is_live) = number.and_then(|n| live.get_mut(n)) {
            *is_live = true;
        }
    }
    // Escapes are always processed; mark them live so callers need not special-case them.
    for (is_live, reference) in live.iter_mut().zip(references) {
        *is_live |= reference.kind == Kind::Escape;
    }
    live
}

/// Concatenation of every scalar in the document, separated by a close marker.
#[derive(Default)]
struct ScalarText(String);

impl MarkedEventReceiver for ScalarText {
    fn on_event(&mut self, event: Event, _mark: Marker) {
        if let Event::Scalar(value, ..) = event {
            self.0.push_str(&value);
            self.0.push(PROBE_CLOSE);
        }
    }
}

impl Reference<'_> {
    fn problem(&self, message: impl Into<String>) -> Problem {
        Problem {
            location: Location {
                line: self.line,
                column: self.column + 1,
            },
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
