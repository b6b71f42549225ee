//! The policy's messages, verbatim and in Django's order (docs/REFERENCE.md#error-bodies, docs/REFERENCE.md#sec-passwords).

use super::*;

const SHORT: &str = "This password is too short. It must contain at least 8 characters.";
const COMMON: &str = "This password is too common.";
const NUMERIC: &str = "This password is entirely numeric.";

fn check(password: &str) -> Vec<String> {
    validate_password(password, "", "", 8)
}

#[test]
fn wire_cases_give_the_drf_messages_in_order() {
    assert_eq!(check("123"), [SHORT, COMMON, NUMERIC]);
    assert_eq!(check("password"), [COMMON]);
    assert_eq!(check("12345678901"), [COMMON, NUMERIC]);
    assert_eq!(check("Ab1!"), [SHORT]);
    assert_eq!(check("password1234"), [COMMON]);
}

#[test]
fn good_passwords_pass() {
    let passphrase = "correct horse battery staple, then a teapot on the windowsill 42";
    assert_eq!(passphrase.chars().count(), 64);
    assert!(check(passphrase).is_empty());
    assert!(check("pässwörd-ünïcode-ok").is_empty());
    assert!(check("Str0ng-Passw0rd!").is_empty());
}

#[test]
fn common_check_ignores_case_and_surrounding_spaces() {
    assert_eq!(check("  PassWord  "), [COMMON]);
    assert!(is_common("QWERTY"));
    assert!(!is_common("qwerty-but-longer-and-mine"));
}

#[test]
fn length_counts_characters_not_bytes() {
    // Eight characters, sixteen bytes.
    assert!(check("ääääääää").is_empty());
    assert_eq!(check("äääääää"), [SHORT]);
    assert_eq!(
        validate_password("abcdefghijklmn", "", "", 15),
        ["This password is too short. It must contain at least 15 characters."]
    );
    assert_eq!(validate_password("", "", "", 1), ["This password is too short. It must contain at least 1 character."]);
}

#[test]
fn numeric_means_every_character_is_a_digit() {
    assert_eq!(check("83920174652"), [NUMERIC]);
    assert!(check("8392017465a").is_empty());
    assert_eq!(check("٣٤٥٦٧٨٩٠١٢"), [NUMERIC]);
}

#[test]
fn similarity_to_username_or_email_is_refused() {
    assert_eq!(
        validate_password("alice_wonder", "alice_wonder", "", 8),
        ["The password is too similar to the username."]
    );
    assert_eq!(
        validate_password("samxexample", "", "samx@example.com", 8),
        ["The password is too similar to the email address."]
    );
    // Only the first similar attribute is reported, as Django stops there.
    assert_eq!(validate_password("bobbobbob1", "bobbobbob", "bobbobbob@x.io", 8).len(), 1);
    // Unrelated, or a short attribute against a much longer password: fine.
    assert!(validate_password("Str0ng-Passw0rd!", "alice", "alice@example.com", 8).is_empty());
    assert!(validate_password("averyveryverylongpassphrase", "al", "", 8).is_empty());
}

#[test]
fn quick_ratio_matches_python() {
    // difflib.SequenceMatcher(a=..., b=...).quick_ratio()
    assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
    assert!((quick_ratio("", "") - 1.0).abs() < 1e-9);
    assert!((quick_ratio("aab", "ab") - 0.8).abs() < 1e-9);
    assert!(quick_ratio("xyz", "abc").abs() < 1e-9);
}

#[test]
fn too_long_is_measured_in_bytes() {
    assert_eq!(too_long(&"a".repeat(4096), 4096), None);
    assert_eq!(too_long(&"a".repeat(4097), 4096).as_deref(), Some("Ensure this field has no more than 4096 bytes."));
    assert!(too_long(&"ä".repeat(2049), 4096).is_some());
}

#[test]
fn shipped_list_is_large_and_lower_case() {
    let entries: Vec<&str> = COMMON_PASSWORDS.lines().collect();
    assert!(entries.len() >= 5000, "{} entries", entries.len());
    assert!(entries.iter().all(|e| *e == e.to_lowercase() && *e == e.trim() && !e.is_empty()));
    for classic in ["password", "123456", "qwerty", "letmein", "12345678901", "password1234", "iloveyou"] {
        assert!(is_common(classic), "{classic}");
    }
}
