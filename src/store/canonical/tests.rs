//! Canonical usernames and emails: the docs/REFERENCE.md#sec-usernames spellings, Django's character rules,
//! the DRF messages and idempotence.

use super::*;

#[test]
fn spellings_of_admin_are_one_account() {
    for raw in [
        "admin",
        "ADMIN",
        "Admin",
        "admin ",
        " admin",
        "\tadmin\n",
        "ádmin",
        "admın",
        "ａｄｍｉｎ",
        "ADMİN",
        "аdmin",
        "\u{3000}admin",
    ] {
        assert_eq!(canonical_username(raw), Ok("admin".to_owned()), "{raw:?}");
    }
}

#[test]
fn invisible_and_inner_whitespace_are_refused() {
    for raw in
        ["admin\u{200b}", "ad\u{200d}min", "\u{feff}admin", "ad min", "admin\u{202e}", "adm\u{0}in", "ad/min", "a'b"]
    {
        assert_eq!(canonical_username(raw), Err(NameError::InvalidChars), "{raw:?}");
    }
}

#[test]
fn blank_is_refused() {
    for raw in ["", "   ", "\u{3000}"] {
        assert_eq!(canonical_username(raw), Err(NameError::Empty), "{raw:?}");
    }
}

#[test]
fn length_is_150_characters_after_trimming() {
    let at_limit = "a".repeat(150);
    assert_eq!(canonical_username(&at_limit).unwrap(), at_limit);
    assert_eq!(canonical_username(&format!("{at_limit} ")).unwrap(), at_limit);
    assert_eq!(canonical_username(&"a".repeat(151)), Err(NameError::TooLong));
    // Multi-byte characters count once each.
    assert_eq!(canonical_username(&"é".repeat(150)).unwrap(), "e".repeat(150));
    // A compatibility character that expands past the limit under NFKC is refused too.
    assert_eq!(canonical_username(&"\u{FDFA}".repeat(10)), Err(NameError::InvalidChars));
    assert_eq!(canonical_username(&"㍻".repeat(80)), Err(NameError::TooLong));
}

#[test]
fn combining_sequences_equal_precomposed() {
    assert_eq!(canonical_username("e\u{301}"), canonical_username("é"));
    assert_eq!(canonical_username("e\u{301}").unwrap(), "e");
    assert_eq!(canonical_username("jose\u{301}").unwrap(), canonical_username("José").unwrap());
}

#[test]
fn django_character_set_is_accepted() {
    for (raw, canonical) in [
        ("alice_x", "alice_x"),
        ("a.b@c+d-e", "a.b@c+d-e"),
        ("Ünïcode", "unicode"),
        ("用户名", "用户名"),
        ("user٣", "user٣"),
    ] {
        assert_eq!(canonical_username(raw).unwrap(), canonical, "{raw:?}");
    }
}

#[test]
fn distinct_names_stay_distinct() {
    let names = ["admin", "admin1", "adm1n", "straße", "strasse", "user_1", "user-1", "user.1"];
    let canon: std::collections::HashSet<String> = names.iter().map(|n| canonical_username(n).unwrap()).collect();
    assert_eq!(canon.len(), names.len());
}

#[test]
fn canonical_forms_are_fixed_points() {
    for raw in ["Admin", "ádmin", "ＡＤＭＩＮ", "ﬁle", "İstanbul", "Ωmega", "Straße", "ǅemal", "ⅷ", "e\u{301}\u{323}"]
    {
        let Ok(once) = canonical_username(raw) else { continue };
        assert_eq!(canonical_username(&once).as_ref(), Ok(&once), "{raw:?}");
        assert_eq!(username_key(raw), once, "{raw:?}");
    }
}

#[test]
fn rate_limit_key_folds_invalid_spellings_onto_the_account() {
    assert_eq!(username_key("admin\u{200b}"), "admin");
    assert_eq!(username_key(" ＡＤＭＩＮ\u{feff} "), "admin");
    assert_eq!(username_key("ad min"), "ad min");
    assert_eq!(username_key(""), "");
}

#[test]
fn messages_are_the_drf_texts() {
    assert_eq!(NameError::Empty.to_string(), "This field may not be blank.");
    assert_eq!(NameError::TooLong.to_string(), "Ensure this field has no more than 150 characters.");
    assert_eq!(
        NameError::InvalidChars.to_string(),
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
    );
    assert_eq!(NameError::InvalidEmail.to_string(), "Enter a valid email address.");
    assert_eq!(NameError::EmailTooLong.to_string(), "Ensure this field has no more than 254 characters.");
}

#[test]
fn emails_fold_like_usernames() {
    for raw in
        ["admin@example.com", "ADMIN@Example.COM", " admin@example.com ", "ａｄｍｉｎ@example.com", "admin@exámple.com"]
    {
        assert_eq!(canonical_email(raw), Ok("admin@example.com".to_owned()), "{raw:?}");
    }
    assert_eq!(canonical_email(""), Ok(String::new()));
    assert_eq!(canonical_email("   "), Ok(String::new()));
    assert_eq!(canonical_email("root@localhost"), Ok("root@localhost".to_owned()));
    assert_eq!(canonical_email("o'neil+tag@sub.example.co.uk"), Ok("o'neil+tag@sub.example.co.uk".to_owned()));
}

#[test]
fn malformed_emails_are_refused() {
    for raw in [
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a@b.c",
        "a b@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "ádmin@example.com",
        "a@-example.com",
        "a@example-.com",
        "a@example..com",
        "a@1.23",
        "admin\u{200b}@example.com",
        "a@[127.0.0.1]",
        "a@b@example.com",
    ] {
        assert_eq!(canonical_email(raw), Err(NameError::InvalidEmail), "{raw:?}");
    }
    let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
    assert_eq!(canonical_email(&long), Err(NameError::EmailTooLong));
}

#[test]
fn display_email_lowercases_the_domain_only() {
    assert_eq!(display_email(" Sam_X@Example.COM "), "Sam_X@example.com");
    assert_eq!(display_email(""), "");
}
