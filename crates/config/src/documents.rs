//! One YAML document per config file.
//!
//! serde_yaml refuses a stream of several documents with a message that has no position
//! ("more than one document is not supported"), which left `check` unable to say where
//! (found by the `config` fuzz target). A line that starts a second document — `---`
//! after content, a directive (`%TAG`, `%YAML`) after content, or content after `...` —
//! is refused here, at its position, before any parsing. Document markers are only
//! markers at the start of a line, where YAML gives them that meaning even inside
//! scalars, so a plain line scan is exact enough. libyaml reads any line that starts
//! with `%` as a directive, which can only open the next document; inside a quoted
//! scalar continued on such a line it would be text, a shape no config needs.

use std::path::Path;

use super::error::{ConfigError, ConfigErrors, Location};

/// `Ok` when `text` holds at most one YAML document.
pub(super) fn check(path: &Path, text: &str) -> Result<(), ConfigErrors> {
    let (mut content_seen, mut ended) = (false, false);
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let at = Location { line: u32::try_from(n + 1).unwrap_or(u32::MAX), column: 1 };
        if is_marker(line, "---") {
            if content_seen || ended {
                return Err(refuse(path, at, "a second YAML document starts here (`---`)"));
            }
            continue;
        }
        if is_marker(line, "...") {
            ended = true;
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if ended {
            return Err(refuse(path, at, "content after the end of the YAML document (`...`)"));
        }
        if line.starts_with('%') {
            if content_seen {
                return Err(refuse(path, at, "a YAML directive after content starts a second document (`%`)"));
            }
            // A directive of the first document, before its `---`.
            continue;
        }
        content_seen = true;
    }
    Ok(())
}

/// `---` or `...` at the start of a line, alone or followed by a space or tab.
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn refuse(path: &Path, at: Location, what: &str) -> ConfigErrors {
    let message = format!("{what}: a config file holds one document; remove the marker and merge the rest into the first");
    ConfigErrors(vec![ConfigError::at(path, at, message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        check(Path::new("gw.yaml"), text).err().map(|e| e.iter().map(|e| e.to_string()).collect()).unwrap_or_default()
    }

    #[test]
    fn a_second_document_is_refused_where_it_starts() {
        // The fuzzer's find: the example config with a `---` line in the middle.
        let e = errors("# comment\nlisten:\n  proxy: 127.0.0.1:8080\n---\nroutes: []\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("gw.yaml:4:1: a second YAML document"), "{e:?}");
        let e = errors("a: 1\n...\n# only comments are fine\n\nb: 2\n");
        assert!(e[0].starts_with("gw.yaml:5:1: content after the end"), "{e:?}");
        let e = errors("a: 1\r\n--- # crlf and a comment\r\nb: 2\r\n");
        assert!(e[0].starts_with("gw.yaml:2:1:"), "{e:?}");
    }

    #[test]
    fn a_directive_after_content_is_refused_where_it_stands() {
        // The fuzzer's second find: `%TAG` lines in the middle of the example
        // config, which serde_yaml refused as "more than one document" with no
        // position (the input is fuzz/corpus/config/regression-directive-after-content.yaml).
        let e = errors("routes:  # r\n%TAG ! \t  x\n%TAG ! \t y\n  - name: a\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("gw.yaml:2:1: a YAML directive after content"), "{e:?}");
        // Indented, it is not a directive.
        assert!(errors("a: |\n  %TAG is text here\n").is_empty());
    }

    #[test]
    fn one_document_with_or_without_markers_passes() {
        for ok in [
            "a: 1\nb: 2\n",
            "# header\n---\na: 1\n",
            "---\na: 1\n...\n# trailing comment\n",
            "a: |\n  ---not a marker\n  --- indented is text\nb: '---'\n",
            "a: 1\n----\n",
            "%YAML 1.2\n---\na: 1\n",
        ] {
            assert!(errors(ok).is_empty(), "{ok:?}: {:?}", errors(ok));
        }
    }
}
