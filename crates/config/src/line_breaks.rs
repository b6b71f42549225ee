//! The line breaks a config file may use: LF and CRLF, nothing else.
//!
//! Every position in this module's errors counts lines at LF, but the YAML parsers also
//! break lines at a lone CR (both) and at NEL, U+2028 and U+2029 (libyaml, behind
//! serde_yaml). A file with one of those got errors on lines past its end, and its
//! sections cut at the wrong places (an error about `listen:` listing the fields of
//! `server:`). They are refused before anything else, each at its own position.

use std::path::Path;

use super::error::{ConfigError, ConfigErrors, Location};

/// One error per character that a YAML parser would read as a line break while an
/// editor showing LF/CRLF lines might not; `Ok` when there is none.
pub(super) fn check(path: &Path, text: &str) -> Result<(), ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let (mut line, mut column) = (1_u32, 1_u32);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let what = match c {
            '\n' => {
                (line, column) = (line.saturating_add(1), 1);
                continue;
            }
            '\r' if chars.peek() == Some(&'\n') => None,
            '\r' => Some("a carriage return (CR) without a line feed after it"),
            '\u{85}' => Some("a NEXT LINE character (U+0085)"),
            '\u{2028}' => Some("a LINE SEPARATOR character (U+2028)"),
            '\u{2029}' => Some("a PARAGRAPH SEPARATOR character (U+2029)"),
            _ => None,
        };
        if let Some(what) = what {
            let message = format!(
                "{what}: YAML reads it as a line break, which would put every later position \
                 on the wrong line; use LF or CRLF line endings (or an escape such as \\u2028 \
                 inside a double-quoted string)"
            );
            errors.push(ConfigError::at(path, Location { line, column }, message));
        }
        column = column.saturating_add(1);
    }
    errors.into_result(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(text: &str) -> Vec<(u32, u32)> {
        let errors = check(Path::new("gw.yaml"), text).expect_err("refused");
        errors
            .iter()
            .map(|e| e.location.map(|l| (l.line, l.column)).expect("positioned"))
            .collect()
    }

    #[test]
    fn lf_and_crlf_pass() {
        assert!(check(Path::new("gw.yaml"), "a: 1\nb: 2\r\nc: \"\u{e9}\"\r\n").is_ok());
    }

    #[test]
    fn every_other_break_is_refused_at_its_position() {
        assert_eq!(located("a: 1\rb: 2\r\n"), [(1, 5)]);
        assert_eq!(located("a: 1\nb: \"x\u{85}y\u{2028}\"\n\u{2029}"), [(2, 6), (2, 8), (3, 1)]);
    }
}
