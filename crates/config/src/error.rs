//! Config errors as operators read them: `FILE:LINE:COL: message`, all of them at once.
//!
//! Every stage of loading (reading, `${VAR}` interpolation, YAML parsing, compiling) reports into
//! the same [`ConfigErrors`] list, so `check` prints every problem in one run. Locations always
//! refer to the file as written, before interpolation.

use std::fmt;
use std::path::PathBuf;

/// A position in the original config file (before `${VAR}` interpolation).
///
/// Both fields are 1-based; `column` counts characters (not bytes), as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column in characters, starting at 1.
    pub column: u32,
}

/// One problem in a config file.
///
/// Displays as `FILE:LINE:COL: message`, or `FILE: message` when the problem has no position
/// (the file cannot be read, the document is empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), LocationSuffix(*location))]
pub struct ConfigError {
    /// The config file, as given on the command line.
    pub file: PathBuf,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// What is wrong: lowercase, no trailing period, never containing a secret value.
    pub message: String,
}

/// Every problem found in a config file, in file order; displays one per line.
///
/// Loading never stops at the first problem it can recover from: an operator fixing a file wants
/// the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// Formats `:LINE:COL` when there is a location, nothing otherwise.
struct LocationSuffix(Option<Location>);

// === impl Location ===

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl fmt::Display for LocationSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(location) => write!(f, ":{location}"),
            None => Ok(()),
        }
    }
}

// === impl ConfigError ===

impl ConfigError {
    /// A problem at a known position.
    pub fn at(file: impl Into<PathBuf>, location: Location, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            location: Some(location),
            message: message.into(),
        }
    }

    /// A problem concerning the whole file (unreadable, empty).
    pub fn whole_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            location: None,
            message: message.into(),
        }
    }
}

// === impl ConfigErrors ===

impl ConfigErrors {
    /// Adds one problem.
    pub fn push(&mut self, error: ConfigError) {
        self.0.push(error);
    }

    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems, in their current order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// Orders the problems by file position (positionless ones first) and drops exact
    /// duplicates, so problems found by different stages read top to bottom.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (&a.file, a.location, &a.message).cmp(&(&b.file, b.location, &b.message))
        });
        self.0.dedup();
    }

    /// `Ok(value)` when nothing was recorded, the problems otherwise: the usual last line of a
    /// stage that collects errors.
    pub fn into_result<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}

impl Extend<ConfigError> for ConfigErrors {
    fn extend<I: IntoIterator<Item = ConfigError>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_formats() {
        let cases = [
            (
                Some(Location { line: 3, column: 7 }),
                "gw.yaml:3:7: bad thing",
            ),
            (None, "gw.yaml: bad thing"),
        ];
        for (location, expected) in cases {
            let error = ConfigError {
                file: "gw.yaml".into(),
                location,
                message: "bad thing".into(),
            };
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn errors_display_one_per_line_in_file_order() {
        let mut errors = ConfigErrors::default();
        errors.push(ConfigError::at(
            "a.yaml",
            Location { line: 9, column: 1 },
            "second",
        ));
        errors.push(ConfigError::at(
            "a.yaml",
            Location { line: 2, column: 5 },
            "first",
        ));
        errors.push(ConfigError::at(
            "a.yaml",
            Location { line: 2, column: 5 },
            "first",
        ));
        errors.sort();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors.to_string(), "a.yaml:2:5: first\na.yaml:9:1: second");
    }
}
