//! The password policy: Django's four default validators (user-attribute similarity,
//! minimum length, common passwords, entirely numeric) with DRF's message texts verbatim
//! (docs/REFERENCE.md#error-bodies), plus a maximum length. Pure; the common list is compiled in.
//!
//! Composition-free, as NIST SP 800-63B asks; lengths count Unicode code points, as
//! Python's `len` does.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Lower-cased common passwords, one per line (`src/auth/common-passwords.txt`).
static COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// Django's `UserAttributeSimilarityValidator.DEFAULT_MAX_SIMILARITY`.
const MAX_SIMILARITY: f64 = 0.7;

/// Every problem with `password`, in Django's validator order (similarity to `username`
/// or `email`, too short for `min_length` characters, too common, entirely numeric);
/// empty when acceptable. Pass `""` for an attribute that should not be compared.
pub fn validate_password(password: &str, username: &str, email: &str, min_length: usize) -> Vec<String> {
    let mut problems = Vec::new();
    for (value, name) in [(username, "username"), (email, "email address")] {
        if is_too_similar(password, value) {
            problems.push(format!("The password is too similar to the {name}."));
            // Django stops at the first similar attribute.
            break;
        }
    }
    if password.chars().count() < min_length {
        let unit = if min_length == 1 { "character" } else { "characters" };
        problems.push(format!("This password is too short. It must contain at least {min_length} {unit}."));
    }
    if is_common(password) {
        problems.push("This password is too common.".to_owned());
    }
    if !password.is_empty() && password.chars().all(char::is_numeric) {
        problems.push("This password is entirely numeric.".to_owned());
    }
    problems
}

/// The message for a password longer than `max_bytes` bytes, if it is; check this before
/// anything else touches the password.
pub fn too_long(password: &str, max_bytes: usize) -> Option<String> {
    (password.len() > max_bytes).then(|| format!("Ensure this field has no more than {max_bytes} bytes."))
}

/// Whether the lower-cased, trimmed password is on the shipped list (Django's
/// `CommonPasswordValidator` compares `password.lower().strip()`).
pub fn is_common(password: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty()).collect());
    set.contains(password.trim().to_lowercase().as_str())
}

/// Django's `UserAttributeSimilarityValidator` for one attribute: the whole value and each
/// of its `\W+`-separated parts are compared with `SequenceMatcher.quick_ratio`, skipping
/// parts so much shorter than the password that they cannot make it similar.
fn is_too_similar(password: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let password = password.to_lowercase();
    let value = value.to_lowercase();
    let parts = value.split(|c: char| !(c.is_alphanumeric() || c == '_')).chain(std::iter::once(value.as_str()));
    for part in parts {
        if exceeds_length_ratio(&password, part) {
            continue;
        }
        if quick_ratio(&password, part) >= MAX_SIMILARITY {
            return true;
        }
    }
    false
}

/// Django's `exceeds_maximum_length_ratio`: a value under a tenth of the password's length
/// (and under `MAX_SIMILARITY / 2` of it) cannot be similar, so it is not compared.
fn exceeds_length_ratio(password: &str, value: &str) -> bool {
    let pwd_len = password.chars().count();
    let value_len = value.chars().count();
    pwd_len >= 10 * value_len && (value_len as f64) < MAX_SIMILARITY / 2.0 * pwd_len as f64
}

/// Python's `difflib.SequenceMatcher(a, b).quick_ratio()`: `2 * M / T`, where `M` is the
/// size of the multiset intersection of the two strings' characters and `T` their total
/// length; 1.0 for two empty strings.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut available: std::collections::HashMap<char, usize> = std::collections::HashMap::new();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        if let Some(n) = available.get_mut(&c) {
            if *n > 0 {
                *n -= 1;
                matches += 1;
            }
        }
    }
    2.0 * matches as f64 / total as f64
}

#[cfg(test)]
mod tests;
