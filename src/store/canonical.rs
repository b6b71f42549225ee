//! Canonical usernames and emails: the one place that decides which spellings are the
//! same account. Pure, no I/O.
//!
//! The store, the login lookup and the rate-limit keys all use these forms, so `admin`,
//! `ADMIN`, ` admin `, `ａｄｍｉｎ`, `ádmin` and `admın` can never become two accounts, and
//! MariaDB's collation and SQLite's BINARY comparison never get a say (docs/REFERENCE.md#sec-usernames).
//!
//! The pipeline, in this order: NFKC (fullwidth and compatibility forms become plain
//! ones) → trim surrounding whitespace (the one trim rule) → lower-case → check the
//! characters → fold to a look-alike skeleton: decompose, drop combining accents (as
//! MariaDB's `utf8mb4_general_ci` does, so imported accounts stay as distinct as they
//! were), map dotless ı and the Cyrillic/Greek letters that render like Latin ones to
//! Latin, recompose. Folding is idempotent: a canonical form canonicalises to itself.

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

/// Longest username, in characters (Django's `max_length`).
pub const USERNAME_MAX_CHARS: usize = 150;
/// Longest email, in characters (Django's `EmailField`).
pub const EMAIL_MAX_CHARS: usize = 254;

/// Why a username or email was refused. `Display` is the DRF message for the field
/// (docs/REFERENCE.md#error-bodies), ready for a 400 body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing left after trimming.
    #[error("This field may not be blank.")]
    Empty,
    /// A username over 150 characters (as typed or once canonical).
    #[error("Ensure this field has no more than 150 characters.")]
    TooLong,
    /// A username with characters outside letters, digits and `@.+-_`.
    #[error("Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.")]
    InvalidChars,
    /// Not an email address.
    #[error("Enter a valid email address.")]
    InvalidEmail,
    /// An email over 254 characters.
    #[error("Ensure this field has no more than 254 characters.")]
    EmailTooLong,
}

/// The canonical form of a username: NFKC, surrounding whitespace trimmed (the one trim
/// rule, as DRF trims), case folded, then checked (1..=150 characters, only letters,
/// digits and `.@+-_`, as Django's `UnicodeUsernameValidator`; zero-width and other
/// format characters refused), then folded to its look-alike skeleton ([`username_key`]):
/// accents dropped, dotless ı and Latin-looking Cyrillic/Greek letters mapped to Latin.
/// `admin`, `Admin`, ` admin `, `ａｄｍｉｎ`, `ádmin`, `admın` → `"admin"`.
pub fn canonical_username(raw: &str) -> Result<String, NameError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > USERNAME_MAX_CHARS {
        return Err(NameError::TooLong);
    }
    let nfkc: String = raw.nfkc().collect();
    let nfkc = nfkc.trim();
    if nfkc.is_empty() {
        return Err(NameError::Empty);
    }
    // Checked before case folding, which can add combining marks (`İ` → `i̇`).
    if !nfkc.chars().all(is_username_char) {
        return Err(NameError::InvalidChars);
    }
    let canonical = skeleton(&nfkc.to_lowercase());
    if canonical.chars().count() > USERNAME_MAX_CHARS {
        return Err(NameError::TooLong);
    }
    Ok(canonical)
}

/// The look-alike fold of [`canonical_username`] without its checks: never fails, and
/// also drops invisible characters (zero-width space, joiners, bidi controls, variation
/// selectors). Use it for rate-limit counter keys, so every spelling of a name (even an
/// invalid one such as `admin\u{200b}`) counts against the account it resembles.
/// For every valid name, `username_key(raw) == canonical_username(raw)?`.
pub fn username_key(raw: &str) -> String {
    let visible: String = nfkc_trim_lower(raw).chars().filter(|&c| !is_invisible(c)).collect();
    skeleton(visible.trim())
}

/// The canonical form of an email: trimmed, NFKC, lower-cased as a whole, shape checked
/// like Django's `EmailValidator` (dot-atom ASCII local part, dotted domain of letters,
/// digits and hyphens, or `localhost`), then folded like a username. `""` (email is
/// optional) stays `""`.
pub fn canonical_email(raw: &str) -> Result<String, NameError> {
    let lower = nfkc_trim_lower(raw);
    if lower.is_empty() {
        return Ok(String::new());
    }
    if raw.trim().chars().count() > EMAIL_MAX_CHARS || lower.chars().count() > EMAIL_MAX_CHARS {
        return Err(NameError::EmailTooLong);
    }
    let (local, domain) = lower.rsplit_once('@').ok_or(NameError::InvalidEmail)?;
    if !is_local_part(local) || !is_domain(domain) {
        return Err(NameError::InvalidEmail);
    }
    Ok(skeleton(&lower))
}

/// The email as stored for display: trimmed, domain lower-cased, local part as typed
/// (Django's `BaseUserManager.normalize_email`). Not a comparison key.
pub fn display_email(raw: &str) -> String {
    let trimmed = raw.trim();
    match trimmed.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => trimmed.to_owned(),
    }
}

fn nfkc_trim_lower(raw: &str) -> String {
    let nfkc: String = raw.nfkc().collect();
    nfkc.trim().to_lowercase()
}

/// Django's `^[\w.@+-]+\Z`: `\w` is any letter or digit, plus `_`.
fn is_username_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '@' | '+' | '-' | '_')
}

/// Decompose, drop combining marks (accents; not the spacing vowel signs of Indic
/// scripts, which carry class 0), map look-alikes, recompose.
fn skeleton(s: &str) -> String {
    s.nfkd().filter(|&c| canonical_combining_class(c) == 0).map(latin_lookalike).nfkc().collect()
}

/// Lower-case letters of other scripts that render like a Latin letter (a small subset of
/// Unicode's confusables, UTS #39), and Latin letters that look like another Latin letter.
#[rustfmt::skip]
const LOOKALIKES: &[(char, char)] = &[
    // Latin
    ('ı', 'i'), ('ȷ', 'j'), ('ɡ', 'g'), ('ɩ', 'i'), ('ɑ', 'a'), ('ꞵ', 'b'),
    // Cyrillic
    ('а', 'a'), ('в', 'b'), ('ԁ', 'd'), ('е', 'e'), ('һ', 'h'), ('і', 'i'), ('ј', 'j'),
    ('к', 'k'), ('ӏ', 'l'), ('м', 'm'), ('н', 'h'), ('о', 'o'), ('р', 'p'), ('ԛ', 'q'),
    ('ѕ', 's'), ('т', 't'), ('с', 'c'), ('у', 'y'), ('ү', 'y'), ('х', 'x'), ('ԝ', 'w'),
    // Greek
    ('α', 'a'), ('β', 'b'), ('ε', 'e'), ('η', 'n'), ('ι', 'i'), ('κ', 'k'), ('ν', 'v'),
    ('ο', 'o'), ('ρ', 'p'), ('τ', 't'), ('υ', 'u'), ('χ', 'x'), ('γ', 'y'), ('ω', 'w'),
];

fn latin_lookalike(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    LOOKALIKES.iter().find(|(from, _)| *from == c).map_or(c, |&(_, to)| to)
}

/// Default-ignorable code points: rendered as nothing, so they only ever disguise a name.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Django's dot-atom local part: ASCII atoms of letters, digits and ``!#$%&'*+/=?^_`{|}~-``
/// separated by single dots; at most 64 characters.
fn is_local_part(local: &str) -> bool {
    let atom_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    local.len() <= 64 && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atom_char))
}

/// `localhost`, or two or more labels of letters, digits and inner hyphens (1..=63
/// characters each), the last at least two characters long and not all digits.
fn is_domain(domain: &str) -> bool {
    if domain == "localhost" {
        return true;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        let n = l.chars().count();
        (1..=63).contains(&n)
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld_ok = labels.last().is_some_and(|t| t.chars().count() >= 2 && !t.chars().all(|c| c.is_ascii_digit()));
    labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

#[cfg(test)]
mod tests;
