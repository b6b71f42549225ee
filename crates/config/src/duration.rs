//! Durations as written in the config file: an integer and a unit, such as `250ms`, `30s`,
//! `60m`, `12h` or `7d`.
//!
//! The raw structs keep durations as text; the compiler calls [`parse_duration`] and reports a
//! failure with `Source::error_at`, so every bad duration in a file is reported with its position.
//!
//! Deliberately strict: a bare number (`30`) is refused rather than guessed (seconds? the
//! milliseconds a `timeout: 5000` writer meant?), and so are fractions, signs, spaces and compound
//! forms (`1h30m`: write `90m`). Zero (`0s`) is accepted; whether zero makes sense is the
//! compiler's call for each key.

use std::time::Duration;

/// The units [`parse_duration`] accepts, for error messages.
const UNITS: &str = "ms, s, m, h or d";

/// Why a duration could not be read. Messages quote the text (durations are never secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was written.
    #[error("empty duration: write a number and a unit ({UNITS}), e.g. \"30s\"")]
    Empty,
    /// A minus sign: durations cannot go backwards.
    #[error("duration {0:?} is negative")]
    Negative(String),
    /// Digits without a unit.
    #[error("duration {0:?} has no unit: write e.g. \"{0}s\" (units: {UNITS})")]
    MissingUnit(String),
    /// Not `DIGITS UNIT`: fraction, sign, space, compound form, or no digits at all.
    #[error("invalid duration {0:?}: write a whole number and a unit ({UNITS}), e.g. \"30s\"")]
    Invalid(String),
    /// A suffix that is not one of the accepted units.
    #[error("duration {text:?} has unknown unit {unit:?}: use {UNITS}")]
    UnknownUnit {
        /// The whole duration as written.
        text: String,
        /// The suffix that was not recognised.
        unit: String,
    },
    /// Too large to represent.
    #[error("duration {0:?} is too large")]
    Overflow(String),
}

/// Parses `DIGITS UNIT` where UNIT is `ms`, `s`, `m`, `h` or `d` (a day is 24 hours).
///
/// # Errors
/// Empty text, a bare number, a negative or fractional number, spaces, an unknown unit, or a value
/// beyond `u64` seconds (or milliseconds, for `ms`).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.starts_with('-') {
        return Err(DurationError::Negative(text.to_owned()));
    }
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(DurationError::Invalid(text.to_owned()));
    }
    let millis_per_unit: u64 = match unit {
        "" => return Err(DurationError::MissingUnit(text.to_owned())),
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ if unit.chars().all(|c| c.is_ascii_alphabetic()) => {
            return Err(DurationError::UnknownUnit {
                text: text.to_owned(),
                unit: unit.to_owned(),
            })
        }
        _ => return Err(DurationError::Invalid(text.to_owned())),
    };
    let overflow = || DurationError::Overflow(text.to_owned());
    let count: u64 = digits.parse().map_err(|_| overflow())?;
    if millis_per_unit == 1 {
        return Ok(Duration::from_millis(count));
    }
    // Whole seconds avoid the u64-milliseconds ceiling for large second/day counts.
    let seconds = count
        .checked_mul(millis_per_unit / 1_000)
        .ok_or_else(overflow)?;
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        let cases = [
            ("250ms", Duration::from_millis(250)),
            ("0s", Duration::ZERO),
            ("30s", Duration::from_secs(30)),
            ("60m", Duration::from_secs(3_600)),
            ("12h", Duration::from_secs(43_200)),
            ("7d", Duration::from_secs(604_800)),
            ("007s", Duration::from_secs(7)),
            ("18446744073709551615s", Duration::from_secs(u64::MAX)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refused_with_a_message() {
        let cases = [
            ("", "empty duration: write a number and a unit (ms, s, m, h or d), e.g. \"30s\""),
            ("30", "duration \"30\" has no unit: write e.g. \"30s\" (units: ms, s, m, h or d)"),
            ("-5s", "duration \"-5s\" is negative"),
            ("5w", "duration \"5w\" has unknown unit \"w\": use ms, s, m, h or d"),
            ("5sec", "duration \"5sec\" has unknown unit \"sec\": use ms, s, m, h or d"),
            ("5S", "duration \"5S\" has unknown unit \"S\": use ms, s, m, h or d"),
            ("1.5h", "invalid duration \"1.5h\": write a whole number and a unit (ms, s, m, h or d), e.g. \"30s\""),
            ("1h30m", "invalid duration \"1h30m\": write a whole number and a unit (ms, s, m, h or d), e.g. \"30s\""),
            ("30 s", "invalid duration \"30 s\": write a whole number and a unit (ms, s, m, h or d), e.g. \"30s\""),
            (" 30s", "invalid duration \" 30s\": write a whole number and a unit (ms, s, m, h or d), e.g. \"30s\""),
            ("s", "invalid duration \"s\": write a whole number and a unit (ms, s, m, h or d), e.g. \"30s\""),
            ("+5s", "invalid duration \"+5s\": write a whole number and a unit (ms, s, m, h or d), e.g. \"30s\""),
            ("18446744073709551616s", "duration \"18446744073709551616s\" is too large"),
            ("213503982334602d", "duration \"213503982334602d\" is too large"),
        ];
        for (text, expected) in cases {
            let error = parse_duration(text).expect_err(text);
            assert_eq!(error.to_string(), expected, "{text}");
        }
    }
}
