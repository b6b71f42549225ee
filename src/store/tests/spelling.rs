//! docs/REFERENCE.md#sec-usernames: spellings that MariaDB's default collation, SQLite's BINARY comparison or
//! Unicode would treat differently. On every dialect each one is the same account
//! (duplicate on register, the same user on lookup) or refused as invalid; never a
//! second account.

use crate::store::canonical::NameError;
use crate::store::tests::users::{new_user, now};
use crate::store::{Store, StoreError};

/// What registering a spelling did.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Created,
    Duplicate(&'static str),
    Invalid(NameError),
}

fn outcome(result: Result<crate::store::User, StoreError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Created,
        Err(StoreError::Duplicate { field }) => Outcome::Duplicate(field),
        Err(StoreError::InvalidName { reason, .. }) => Outcome::Invalid(reason),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

pub(super) async fn username_spellings(store: Store) {
    let users = store.users();
    let admin = users.create(new_user("admin", ""), now()).await.unwrap();
    let long = users.create(new_user(&"a".repeat(150), ""), now()).await.unwrap();
    let e_acute = users.create(new_user("é", ""), now()).await.unwrap();

    let same_as = |id: i64| move |found: Option<crate::store::User>| found.map(|u| u.id) == Some(id);
    let cases: Vec<(String, Outcome, Option<i64>)> = vec![
        ("admin".into(), Outcome::Duplicate("username"), Some(admin.id)),
        ("ADMIN".into(), Outcome::Duplicate("username"), Some(admin.id)),
        ("admin ".into(), Outcome::Duplicate("username"), Some(admin.id)),
        (" admin".into(), Outcome::Duplicate("username"), Some(admin.id)),
        ("ádmin".into(), Outcome::Duplicate("username"), Some(admin.id)),
        ("admın".into(), Outcome::Duplicate("username"), Some(admin.id)),
        ("ａｄｍｉｎ".into(), Outcome::Duplicate("username"), Some(admin.id)),
        ("аdmin".into(), Outcome::Duplicate("username"), Some(admin.id)),
        ("admin\u{200b}".into(), Outcome::Invalid(NameError::InvalidChars), None),
        ("admin\t\u{0}".into(), Outcome::Invalid(NameError::InvalidChars), None),
        ("a".repeat(151), Outcome::Invalid(NameError::TooLong), None),
        (format!("{} ", "a".repeat(150)), Outcome::Duplicate("username"), Some(long.id)),
        (format!("{}x", "a".repeat(150)), Outcome::Invalid(NameError::TooLong), None),
        ("e\u{301}".into(), Outcome::Duplicate("username"), Some(e_acute.id)),
        ("E\u{301}".into(), Outcome::Duplicate("username"), Some(e_acute.id)),
    ];
    for (spelling, expected, login) in cases {
        let got = outcome(users.create(new_user(&spelling, ""), now()).await);
        assert_eq!(got, expected, "register {spelling:?}");
        let found = users.by_username(&spelling).await.unwrap();
        match login {
            Some(id) => assert!(same_as(id)(found), "login as {spelling:?}"),
            None => assert_eq!(found, None, "login as {spelling:?}"),
        }
    }
    assert_eq!(users.list(100, 0).await.unwrap().len(), 3, "never a second account");
}

pub(super) async fn email_spellings(store: Store) {
    let users = store.users();
    users.create(new_user("owner", "admin@example.com"), now()).await.unwrap();
    let cases = [
        ("ADMIN@example.com", Outcome::Duplicate("email")),
        ("admin@EXAMPLE.COM", Outcome::Duplicate("email")),
        ("admin@example.com ", Outcome::Duplicate("email")),
        (" admin@example.com", Outcome::Duplicate("email")),
        ("ａｄｍｉｎ@example.com", Outcome::Duplicate("email")),
        ("admin@exámple.com", Outcome::Duplicate("email")),
        ("ádmin@example.com", Outcome::Invalid(NameError::InvalidEmail)),
        ("admın@example.com", Outcome::Invalid(NameError::InvalidEmail)),
        ("admin\u{200b}@example.com", Outcome::Invalid(NameError::InvalidEmail)),
    ];
    for (i, (spelling, expected)) in cases.into_iter().enumerate() {
        let got = outcome(users.create(new_user(&format!("other{i}"), spelling), now()).await);
        assert_eq!(got, expected, "register with {spelling:?}");
    }
    assert_eq!(users.list(100, 0).await.unwrap().len(), 1, "never a second account");
}
