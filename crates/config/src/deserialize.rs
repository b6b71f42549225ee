//! YAML text to [`RawConfig`], with every shape error the file has, each with a position.
//!
//! The only caller of serde_yaml (which keeps a parser swap cheap; `raw.rs` stays plain data).
//!
//! serde stops at the first error. To report more in one run, when the whole-document pass fails
//! and the document is a plain block mapping (no aliases tying sections together), each
//! top-level section is deserialised again on its own, from its own lines, and the errors are
//! merged. Syntax errors are reported alone: past one, nothing downstream is reliable.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use super::error::Location;
use super::raw::{self, RawConfig};
use super::source_map::PathIndex;

/// A deserialisation problem, positioned in the original text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct YamlProblem {
    /// Where serde_yaml stopped, when it says.
    pub(super) location: Option<Location>,
    /// serde_yaml's message, prefixed with the YAML path, without its own position text.
    pub(super) message: String,
}

/// Deserialises a top-level section written as `NAME: value`; `None` when it is fine.
type SectionCheck = fn(&str) -> Option<serde_yaml::Error>;

/// Every top-level key of [`RawConfig`]: its name, whether it is required, and its type. A test
/// checks this table against `RawConfig` itself.
#[rustfmt::skip]
const SECTIONS: &[(&str, bool, SectionCheck)] = &[
    ("server",                false, section::<Option<raw::Server>>),
    ("listen",                true,  section::<raw::Listen>),
    ("upstreams",             true,  section::<BTreeMap<String, raw::Upstream>>),
    ("database",              false, section::<Option<raw::Database>>),
    ("tokens",                true,  section::<raw::Tokens>),
    ("auth",                  false, section::<Option<raw::Auth>>),
    ("identity_headers",      false, section::<Option<raw::IdentityHeaders>>),
    ("forward_authorization", false, section::<Option<bool>>),
    ("roles",                 true,  section::<Vec<String>>),
    ("routes",                true,  section::<Vec<raw::Route>>),
    ("default",               false, section::<Option<raw::DefaultDecision>>),
    ("default_upstream",      false, section::<Option<String>>),
    ("tests",                 false, section::<Option<Vec<raw::PolicyTest>>>),
    ("logging",               false, section::<Option<raw::Logging>>),
    ("shadow",                false, section::<Option<raw::Shadow>>),
    ("redis",                 false, section::<Option<raw::Redis>>),
    ("issuers",               false, section::<Option<Vec<raw::Issuer>>>),
];

fn section<T: DeserializeOwned>(text: &str) -> Option<serde_yaml::Error> {
    serde_yaml::from_str::<BTreeMap<String, T>>(text).err()
}

/// Deserialises `text` (already interpolated). `index` describes the same text; `to_original`
/// maps its positions back to the file as written.
///
/// # Errors
/// Every problem found, in file order.
pub(super) fn raw_config(
    text: &str,
    index: &PathIndex,
    to_original: &dyn Fn(Location) -> Location,
) -> Result<RawConfig, Vec<YamlProblem>> {
    let whole = match serde_yaml::from_str::<RawConfig>(text) {
        Ok(raw) => return Ok(raw),
        Err(error) => error,
    };
    let end = end_of(text);
    let mut problems = vec![problem(&whole, 0, end, to_original)];
    let sections_apart = index.root_is_block_mapping
        && !index.has_aliases
        && serde_yaml::from_str::<serde_yaml::Value>(text).is_ok();
    if sections_apart {
        problems.extend(section_problems(text, index, end, to_original));
    }
    problems.sort();
    problems.dedup();
    Err(problems)
}

/// Deserialises each top-level section on its own lines; reports missing required sections.
fn section_problems(
    text: &str,
    index: &PathIndex,
    text_end: Location,
    to_original: &dyn Fn(Location) -> Location,
) -> Vec<YamlProblem> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at + 1))
        .collect();
    let byte_of_line = |line: u32| {
        let at = usize::try_from(line)
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        line_starts.get(at).copied().unwrap_or(text.len())
    };
    let mut problems = Vec::new();
    for (n, (name, at)) in index.top_level.iter().enumerate() {
        let end = index
            .top_level
            .get(n + 1)
            .map_or(text.len(), |(_, next)| byte_of_line(next.line));
        let slice = &text[byte_of_line(at.line)..end];
        let error = match SECTIONS.iter().find(|(known, ..)| known == name) {
            Some((_, _, check)) => check(slice),
            // Unknown key: RawConfig itself reports it first, with serde's list of known keys.
            None => serde_yaml::from_str::<RawConfig>(slice).err(),
        };
        if let Some(error) = error {
            problems.push(problem(&error, at.line - 1, text_end, to_original));
        }
    }
    if let Some((_, first_key)) = index.top_level.first() {
        for (name, required, _) in SECTIONS {
            if *required && !index.top_level.iter().any(|(key, _)| key == name) {
                let location = Some(to_original(*first_key));
                problems.push(YamlProblem {
                    location,
                    message: format!("missing field `{name}`"),
                });
            }
        }
    }
    problems
}

/// Deserialises a whole secondary document (such as a shadow policy file) in one pass: its first
/// problem, positioned.
///
/// # Errors
/// The first problem serde_yaml finds.
pub(super) fn document<T: DeserializeOwned>(
    text: &str,
    _index: &PathIndex,
    to_original: &dyn Fn(Location) -> Location,
) -> Result<T, Vec<YamlProblem>> {
    serde_yaml::from_str::<T>(text).map_err(|error| vec![problem(&error, 0, end_of(text), to_original)])
}

/// The position just after the last character of `text`.
///
/// libyaml reports a problem found at the end of a file that lacks a final newline on the
/// line after the last one (found by the `config` fuzz target); such positions are moved
/// back here, so every position points inside the file.
pub(super) fn end_of(text: &str) -> Location {
    let last_line = text.rsplit('\n').next().unwrap_or_default();
    Location {
        line: u32::try_from(text.matches('\n').count() + 1).unwrap_or(u32::MAX),
        column: u32::try_from(last_line.chars().count() + 1).unwrap_or(u32::MAX),
    }
}

/// Converts a serde_yaml error from a text that starts `line_offset` lines into the document
/// and ends at `end`.
fn problem(
    error: &serde_yaml::Error,
    line_offset: u32,
    end: Location,
    to_original: &dyn Fn(Location) -> Location,
) -> YamlProblem {
    let at = |line: u64, column: u64| {
        let here = Location {
            line: u32::try_from(line)
                .unwrap_or(u32::MAX)
                .saturating_add(line_offset),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        };
        to_original(if here.line > end.line { end } else { here })
    };
    let location = error.location().map(|l| {
        at(
            u64::try_from(l.line()).unwrap_or(u64::MAX),
            u64::try_from(l.column()).unwrap_or(0),
        )
    });
    let message = strip_positions(&error.to_string(), location, &at).replace(
        "expected struct RawConfig",
        "expected a mapping of config sections",
    ).replace("expected struct ShadowPolicyFile", "expected a mapping with routes: and default:");
    YamlProblem { location, message }
}

/// Removes serde_yaml's ` at line N column M` for the primary position (the `FILE:LINE:COL:`
/// prefix already says it) and maps any other one (libyaml's "while parsing ... at line N
/// column M" context) to the original text.
fn strip_positions(
    message: &str,
    primary: Option<Location>,
    at: &dyn Fn(u64, u64) -> Location,
) -> String {
    const MARK: &str = " at line ";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(found) = rest.find(MARK) {
        out.push_str(&rest[..found]);
        let after = &rest[found + MARK.len()..];
        match parse_line_column(after) {
            Some((line, column, len)) => {
                let location = at(line, column);
                if Some(location) != primary {
                    out.push_str(&format!(
                        "{MARK}{} column {}",
                        location.line, location.column
                    ));
                }
                rest = &after[len..];
            }
            None => {
                out.push_str(MARK);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses `N column M` at the start of `s`: the numbers and the length consumed.
fn parse_line_column(s: &str) -> Option<(u64, u64, usize)> {
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let line_len = digits(s);
    let line = s[..line_len].parse().ok()?;
    let after_line = s[line_len..].strip_prefix(" column ")?;
    let column_len = digits(after_line);
    let column = after_line[..column_len].parse().ok()?;
    Some((line, column, line_len + " column ".len() + column_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_table_lists_exactly_the_fields_of_raw_config() {
        let error = serde_yaml::from_str::<RawConfig>("no_such_section: 1").expect_err("unknown");
        let message = error.to_string();
        let expected = message
            .split("expected one of ")
            .nth(1)
            .expect("serde lists the fields");
        let expected = expected.split(" at line ").next().unwrap_or(expected);
        let listed: Vec<&str> = expected.split(", ").map(|f| f.trim_matches('`')).collect();
        let table: Vec<&str> = SECTIONS.iter().map(|(name, ..)| *name).collect();
        assert_eq!(table, listed);
    }

    #[test]
    fn sections_table_marks_exactly_the_required_sections() {
        let contract = include_str!("testdata/contract.yaml")
            .replace("${NEXORA_SIGNING_KEY}", "a-signing-key");
        let lines: Vec<&str> = contract.lines().collect();
        let is_top_level_key = |line: &&str| line.starts_with(|c: char| c.is_ascii_alphabetic());
        for (name, required, _) in SECTIONS {
            let Some(start) = lines
                .iter()
                .position(|l| l.starts_with(&format!("{name}:")))
            else {
                assert!(
                    !required,
                    "{name} is required but missing from the reference example (testdata/contract.yaml)"
                );
                continue;
            };
            let len = lines[start + 1..].iter().position(is_top_level_key);
            let end = len.map_or(lines.len(), |len| start + 1 + len);
            let without = [&lines[..start], &lines[end..]].concat().join("\n");
            match serde_yaml::from_str::<RawConfig>(&without) {
                Ok(_) => assert!(!required, "{name}: parses without it, yet marked required"),
                Err(error) => {
                    assert!(*required, "{name}: marked optional, yet: {error}");
                    assert!(error
                        .to_string()
                        .starts_with(&format!("missing field `{name}`")));
                }
            }
        }
    }

    #[test]
    fn positions_in_messages() {
        let same = |line: u64, column: u64| Location {
            line: u32::try_from(line).unwrap_or(0),
            column: u32::try_from(column).unwrap_or(0) + 10,
        };
        let primary = Some(Location {
            line: 3,
            column: 15,
        });
        let cases = [
            ("bad at line 3 column 5", "bad"),
            (
                "bad at line 3 column 5, while parsing at line 1 column 1",
                "bad, while parsing at line 1 column 11",
            ),
            ("nothing here", "nothing here"),
            ("odd at line x", "odd at line x"),
        ];
        for (message, expected) in cases {
            assert_eq!(
                strip_positions(message, primary, &same),
                expected,
                "{message}"
            );
        }
    }
}
