//! Fuzz check for config loading: `${VAR}` interpolation, YAML into the raw structs and
//! compilation into the runtime `Config`, all through `config::load_str`.
//!
//! Input: the config file's text (UTF-8). The environment is a fixed table (below), and
//! key files are looked up next to a config named `fuzz.yaml` in the directory the caller
//! gives (the fuzz crate's `keys/`, which holds a key pair of each asymmetric algorithm).
//!
//! Properties checked: loading never panics; a refused file yields at least one error;
//! every error carries a `LINE:COL` (the only exception is the empty document, which has
//! no position to point at) inside the file as written, before interpolation, and
//! displays as `FILE:LINE:COL: message`.

use std::path::Path;

use nexora_gate::config::{load_str, ConfigError};

/// The fixed environment `${VAR}` references are resolved from; any other is unset.
const ENV: &[(&str, &str)] = &[
    (
        "NEXORA_SIGNING_KEY",
        "fuzz-only-signing-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH",
    ),
    ("NEXORA_DB_PASSWORD", "fuzz-password"),
    ("PORT", "8080"),
    ("EMPTY", ""),
    ("MULTILINE", "a\nb: c"),
    ("QUOTE", "\"'"),
];

/// The message of the one error that has no position.
const EMPTY_DOCUMENT: &str = "no configuration found: the file is empty or only has comments";

/// Runs every property on one input; panics when one does not hold. `key_dir` is where
/// the config "lives": relative key file names resolve there. Returns whether the config
/// compiled, so tests can tell the seeds still reach the end of the pipeline.
pub fn check(data: &[u8], key_dir: &Path) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let path = key_dir.join("fuzz.yaml");
    let env = |name: &str| {
        ENV.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    };
    let Err(errors) = load_str(&path, text, &env) else {
        return true;
    };
    assert!(!errors.is_empty(), "refused without saying why");
    for error in errors.iter() {
        assert_positioned(error, text, &path);
    }
    false
}

/// The error points inside the original text and displays as `FILE:LINE:COL: message`.
fn assert_positioned(error: &ConfigError, text: &str, path: &Path) {
    let Some(location) = error.location else {
        assert_eq!(error.message, EMPTY_DOCUMENT, "an error without a position: {error}");
        return;
    };
    // `lines()` drops a final empty line; an error may point at the very end.
    let lines: Vec<&str> = text.split('\n').collect();
    let line = usize::try_from(location.line).expect("u32 fits usize");
    assert!(
        (1..=lines.len()).contains(&line),
        "{error}: line {line} outside the file's {} lines",
        lines.len()
    );
    // Counting a CRLF's CR as a character: an error may point at a stray CR.
    let width = lines[line - 1].chars().count();
    let column = usize::try_from(location.column).expect("u32 fits usize");
    assert!(
        (1..=width + 1).contains(&column),
        "{error}: column {column} outside line {line} ({width} characters)"
    );
    let prefix = format!("{}:{}:{}: ", path.display(), location.line, location.column);
    assert!(error.to_string().starts_with(&prefix), "{error} does not start with {prefix}");
}
