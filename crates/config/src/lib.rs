//! Configuration: from the YAML file operators edit to the compiled form the gateway runs on.
//!
//! ```text
//!  gateway.yaml ─read─▶ text ─interpolate ${VAR}─▶ text' ─serde_yaml─▶ RawConfig ─compile─▶ Config
//!                                   │                 │
//!                                   ▼                 ▼
//!                             ColumnShifts   +   PathIndex    =  SourceMap (inside Source)
//! ```
//!
//! [`parse_file`] / [`parse_str`] run the first half and return the [`RawConfig`] together with
//! its [`Source`]; the compiler (`compile.rs`) turns that into `Config` and reports semantic
//! problems through [`Source::error_at`], so they carry a position too.
//!
//! Precedence:
//! 1. Which file: `--config PATH`, else `$NEXORA_CONFIG`, else `config/gateway.yaml` (the CLI
//!    decides; this module takes a path).
//! 2. `${VAR}` references are replaced from the environment before anything is parsed, so a
//!    variable can supply any value, but never structure (see `interpolate`).
//! 3. A key written in the file is what applies; a key left out takes the default documented on
//!    its field in [`raw`], applied by the compiler. Nothing else overrides the file.
//!
//! Errors: each stage collects every problem it can before stopping ([`ConfigErrors`], one
//! `FILE:LINE:COL: message` per line). Interpolation problems stop the pipeline (the text is not
//! what the operator meant); YAML shape problems stop it before compiling. Positions always
//! refer to the file as written, before interpolation.

mod compile;
mod compiled;
mod deserialize;
mod duration;
mod error;
mod files;
mod identity_headers;
pub use identity_headers::IdentityHeaders;
pub use files::content_digest;
mod interpolate;
mod key_url;
pub use key_url::is_fetchable_key_url;
mod documents;
mod line_breaks;
pub mod raw;
mod source_map;

use std::fmt;
use std::path::{Path, PathBuf};

pub use duration::{parse_duration, DurationError};
pub use error::{ConfigError, ConfigErrors, Location};
pub use compile::{compile, load, load_str};
pub use compiled::*;
pub use raw::RawConfig;

use source_map::{PathIndex, SourceMap};

/// A config file after interpolation, able to point at any YAML path in it.
///
/// Returned by [`parse_file`] and [`parse_str`] next to the [`RawConfig`]; the compiler uses it
/// to position the errors it finds.
#[derive(Clone)]
pub struct Source {
    /// The file, as given.
    pub path: PathBuf,
    /// The text after `${VAR}` interpolation. It contains the substituted secrets: never log or
    /// print it (`Debug` shows only its length).
    pub text: String,
    map: SourceMap,
}

/// Reads `path`, interpolates `${VAR}` from the process environment and parses the YAML.
///
/// An environment variable whose value is not valid UTF-8 counts as unset.
///
/// # Errors
/// The file cannot be read, or every problem [`parse_str`] finds.
pub fn parse_file(path: &Path) -> Result<(RawConfig, Source), ConfigErrors> {
    let text = files::read_text_capped(path, files::MAX_CONFIG_BYTES)
        .map_err(|error| ConfigError::whole_file(path, format!("cannot read the file: {error}")))?;
    parse_str(path, &text, &|name| std::env::var(name).ok())
}

/// Interpolates `${VAR}` in `text` with `env`, then parses the YAML into a [`RawConfig`].
///
/// `path` only labels errors. `env` is the environment lookup (tests pass a closure over a
/// table instead of touching the process environment).
///
/// # Errors
/// Line breaks other than LF and CRLF (each at its position, before anything else); then
/// all interpolation problems (unset variables, malformed references, refused values); or, once
/// the text is interpolated, duplicate keys and every YAML syntax, type or unknown-key problem
/// found (see `deserialize` for how several are found despite serde stopping at the first).
pub fn parse_str(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(RawConfig, Source), ConfigErrors> {
    parse_document(path, text, env, deserialize::raw_config)
}

/// Reads and parses the candidate policy file of `shadow.policy`, through the same pipeline as
/// the config (interpolation, duplicate keys, unknown keys, positions in that file).
///
/// Also returns the file's bytes as read (before interpolation), which live reload
/// fingerprints.
///
/// # Errors
/// The file cannot be read, or its problems.
pub(crate) fn parse_shadow_file(path: &Path) -> Result<(raw::ShadowPolicyFile, Source, String), ConfigErrors> {
    let text = files::read_text_capped(path, files::MAX_CONFIG_BYTES)
        .map_err(|error| ConfigError::whole_file(path, format!("cannot read the shadow policy: {error}")))?;
    let (file, source) = parse_document(path, &text, &|name| std::env::var(name).ok(), deserialize::document)?;
    Ok((file, source, text))
}

/// A deserialiser of one document kind: text, its index, the position mapping.
type Deserialise<T> = fn(
    &str,
    &PathIndex,
    &dyn Fn(Location) -> Location,
) -> Result<T, Vec<deserialize::YamlProblem>>;

fn parse_document<T>(
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    deserialise: Deserialise<T>,
) -> Result<(T, Source), ConfigErrors> {
    line_breaks::check(path, text)?;
    documents::check(path, text)?;
    let interpolated = interpolate::interpolate(text, env).map_err(|problems| {
        let errors = problems
            .into_iter()
            .map(|p| ConfigError::at(path, p.location, p.message));
        ConfigErrors(errors.collect())
    })?;
    // When yaml-rust2 refuses the text, serde_yaml usually does too and says why; if it
    // does not, the file is refused below, since no later error could be located.
    let (index, strict_error) = match PathIndex::build(&interpolated.text) {
        Ok(index) => (index, None),
        Err(error) => (PathIndex::default(), Some(error)),
    };
    if strict_error.is_none() && !index.has_root() {
        let message = "no configuration found: the file is empty or only has comments";
        return Err(ConfigError::whole_file(path, message).into());
    }
    let substituted = interpolated.substituted;
    let source = Source {
        path: path.to_owned(),
        text: interpolated.text,
        map: SourceMap {
            shifts: interpolated.shifts,
            index,
            end: Some(deserialize::end_of(text)),
        },
    };
    let mut errors = source.duplicate_key_errors();
    let to_original = |location| source.map.to_original(location);
    let deserialized = deserialise(&source.text, &source.map.index, &to_original);
    if let (Ok(_), Some(error)) = (&deserialized, &strict_error) {
        let (location, message) = unlocatable(error);
        return Err(ConfigError::at(path, to_original(location), message).into());
    }
    match deserialized {
        Ok(raw) => {
            errors.sort();
            errors.into_result((raw, source))
        }
        Err(problems) => {
            // serde_yaml reports duplicate struct fields without a position; ours have one.
            let ours = !errors.is_empty();
            let problems = problems
                .into_iter()
                .filter(|p| !(ours && p.message.contains("duplicate field `")));
            errors.extend(problems.map(|p| ConfigError {
                file: path.to_owned(),
                location: p.location,
                message: redact(&p.message, &substituted),
            }));
            errors.sort();
            Err(errors)
        }
    }
}

/// Where and why yaml-rust2 refused a text that serde_yaml accepts (found by the `config`
/// fuzz target: libyaml is lenient, for example with a quoted string continued on lines
/// less indented than its key). Without yaml-rust2's index no later error has a position,
/// so such a file is refused at the place the strict parser stopped.
fn unlocatable(error: &yaml_rust2::scanner::ScanError) -> (Location, String) {
    let mark = error.marker();
    let location = Location {
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
        column: u32::try_from(mark.col().saturating_add(1)).unwrap_or(u32::MAX),
    };
    let message = format!(
        "{}: this YAML is ambiguous (parsers disagree on it); rewrite this part, for \
         example by keeping a quoted string on one line",
        error.info()
    );
    (location, message)
}

/// Replaces substituted values that serde_yaml quotes in a message (`"value"`, `` `value` ``)
/// by their `${NAME}`: a value may be a secret, and the operator knows where it came from.
fn redact(message: &str, substituted: &[(String, String)]) -> String {
    let mut message = message.to_owned();
    for (name, value) in substituted.iter().filter(|(_, value)| !value.is_empty()) {
        let reference = format!("${{{name}}}");
        for quoted in [format!("{value:?}"), format!("`{value}`")] {
            message = message.replace(&quoted, &reference);
        }
    }
    message
}

// === impl Source ===

impl Source {
    /// Position of the node at `yaml_path`, such as `routes[3].allow` or
    /// `upstreams.shop.servers[0]` (`""` is the whole document).
    ///
    /// Points at the key's value; at the key when the value is empty (`key:`); at the nearest
    /// existing ancestor when the path does not exist (a key left out). `None` only when the
    /// document has no position information at all.
    pub fn locate(&self, yaml_path: &str) -> Option<Location> {
        self.map.locate(yaml_path)
    }

    /// Like [`Self::locate`], but pointing at the key (`upstreams.shop` → `shop:`), for problems
    /// with the name rather than the value.
    pub fn locate_key(&self, yaml_path: &str) -> Option<Location> {
        self.map.locate_key(yaml_path)
    }

    /// An error at `yaml_path`, its message prefixed with the path:
    /// `error_at("routes[3].allow", "unknown role \"admn\"")` displays as
    /// `FILE:LINE:COL: routes[3].allow: unknown role "admn"`.
    pub fn error_at(&self, yaml_path: &str, message: impl Into<String>) -> ConfigError {
        self.error_with(self.locate(yaml_path), yaml_path, message.into())
    }

    /// Like [`Self::error_at`], positioned at the key (see [`Self::locate_key`]).
    pub fn error_at_key(&self, yaml_path: &str, message: impl Into<String>) -> ConfigError {
        self.error_with(self.locate_key(yaml_path), yaml_path, message.into())
    }

    fn error_with(&self, location: Option<Location>, path: &str, message: String) -> ConfigError {
        let message = if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        };
        ConfigError {
            file: self.path.clone(),
            location,
            message,
        }
    }

    /// One error per key written twice in the same mapping, at the second occurrence.
    fn duplicate_key_errors(&self) -> ConfigErrors {
        let errors = self.map.index.duplicates.iter().map(|duplicate| {
            let first = self.map.to_original(duplicate.first);
            let message = format!(
                "{}: duplicate key (first written at line {}, column {})",
                duplicate.path, first.line, first.column
            );
            ConfigError::at(&self.path, self.map.to_original(duplicate.at), message)
        });
        ConfigErrors(errors.collect())
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("path", &self.path)
            .field(
                "text",
                &format_args!("<{} bytes, may hold secrets>", self.text.len()),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
