//! `UserRepo` cases, identical on both dialects.

use chrono::{TimeZone, Utc};

use crate::store::{ImportedUser, NewUser, Store, StoreError, UserPatch};

pub(super) fn new_user(username: &str, email: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        email: email.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        role: "CUSTOMER".to_owned(),
        phone: String::new(),
        address: String::new(),
    }
}

pub(super) fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap() + chrono::Duration::nanoseconds(123_456_789)
}

pub(super) async fn create_and_read_back(store: Store) {
    let users = store.users();
    let mut new = new_user("  Zoë_Ünïcode ", " Zoe@Example.COM ");
    new.role = "SELLER".into();
    new.phone = "+1-555-0100".into();
    new.address = "1 Market St\nFloor 2 🏬".into();
    let created = users.create(new, now()).await.unwrap();
    assert!(created.id > 0);
    assert_eq!(created.username, "Zoë_Ünïcode");
    assert_eq!(created.email, "Zoe@example.com");
    assert!(created.is_active);
    assert_eq!(created.revoked_after, 0);
    assert_eq!(created.last_login, None);
    assert_eq!(created.date_joined.timestamp_subsec_micros(), 123_456, "kept to the microsecond");

    let by_id = users.by_id(created.id).await.unwrap().unwrap();
    assert_eq!(by_id, created, "what create returns is what is stored");
    for spelling in ["zoë_ünïcode", "ZOE_UNICODE", " zoe_unicode ", "zoë_ünïcode"] {
        assert_eq!(users.by_username(spelling).await.unwrap().as_ref(), Some(&created), "{spelling:?}");
    }
    assert_eq!(users.by_username("zoe").await.unwrap(), None);
    assert_eq!(users.by_username("zoe_unicode\u{200b}").await.unwrap(), None);
    assert_eq!(users.by_id(created.id + 1000).await.unwrap(), None);

    let second = users.create(new_user("bob", ""), now()).await.unwrap();
    assert!(second.id > created.id);
}

pub(super) async fn parallel_creates_of_one_username(store: Store) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let spelling = ["racer", "Racer", "RACER", " racer", "racer "][i % 5];
            tokio::spawn(async move { store.users().create(new_user(spelling, ""), now()).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::Duplicate { field: "username" }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.users().list(100, 0).await.unwrap().len(), 1);
}

pub(super) async fn emails_are_unique_when_present(store: Store) {
    let users = store.users();
    users.create(new_user("a1", "shared@example.com"), now()).await.unwrap();
    let dup = users.create(new_user("a2", "SHARED@example.com"), now()).await;
    assert!(matches!(dup, Err(StoreError::Duplicate { field: "email" })), "{dup:?}");
    // Several users without an email are fine.
    users.create(new_user("a3", ""), now()).await.unwrap();
    users.create(new_user("a4", "  "), now()).await.unwrap();
    let bad = users.create(new_user("a5", "not-an-email"), now()).await;
    assert!(matches!(bad, Err(StoreError::InvalidName { field: "email", .. })), "{bad:?}");
    let bad = users.create(new_user("a 6", ""), now()).await;
    assert!(matches!(bad, Err(StoreError::InvalidName { field: "username", .. })), "{bad:?}");
}

pub(super) async fn update_moves_the_revocation_point(store: Store) {
    let users = store.users();
    let u = users.create(new_user("carol", "carol@example.com"), now()).await.unwrap();
    let other = users.create(new_user("dave", "dave@example.com"), now()).await.unwrap();

    // Contact fields only: no revocation.
    let patch = UserPatch { phone: Some("+44 20".into()), address: Some("x".into()), ..UserPatch::default() };
    let p = users.update(u.id, patch, 1_000).await.unwrap();
    assert_eq!((p.phone.as_str(), p.address.as_str(), p.revoked_after), ("+44 20", "x", 0));
    // The same role again: no revocation either.
    let p =
        users.update(u.id, UserPatch { role: Some("CUSTOMER".into()), ..UserPatch::default() }, 1_100).await.unwrap();
    assert_eq!(p.revoked_after, 0);
    // A new role: revoked at now.
    let p = users.update(u.id, UserPatch { role: Some("SELLER".into()), ..UserPatch::default() }, 1_200).await.unwrap();
    assert_eq!((p.role.as_str(), p.revoked_after), ("SELLER", 1_200));
    // Disabling: revoked at now, never moved backwards.
    let p = users.update(u.id, UserPatch { is_active: Some(false), ..UserPatch::default() }, 1_300).await.unwrap();
    assert_eq!((p.is_active, p.revoked_after), (false, 1_300));
    let p = users.update(u.id, UserPatch { is_active: Some(true), ..UserPatch::default() }, 900).await.unwrap();
    assert_eq!((p.is_active, p.revoked_after), (true, 1_300));
    // Email: changed, canonicalised, unique.
    let p = users
        .update(u.id, UserPatch { email: Some("Carol.New@Example.com".into()), ..UserPatch::default() }, 1_400)
        .await
        .unwrap();
    assert_eq!(p.email, "Carol.New@example.com");
    let dup = users
        .update(other.id, UserPatch { email: Some("carol.new@EXAMPLE.com".into()), ..UserPatch::default() }, 1_500)
        .await;
    assert!(matches!(dup, Err(StoreError::Duplicate { field: "email" })), "{dup:?}");
    let cleared =
        users.update(u.id, UserPatch { email: Some(String::new()), ..UserPatch::default() }, 1_600).await.unwrap();
    assert_eq!(cleared.email, "");
    users
        .update(other.id, UserPatch { email: Some("carol.new@example.com".into()), ..UserPatch::default() }, 1_700)
        .await
        .unwrap();
    // Unknown id.
    let missing = users.update(u.id + 1000, UserPatch { role: Some("ADMIN".into()), ..UserPatch::default() }, 1).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    // An empty patch on an existing user is not "not found".
    users.update(u.id, UserPatch::default(), 1_800).await.unwrap();
}

pub(super) async fn set_password_hash_revokes_on_change(store: Store) {
    let users = store.users();
    let u = users.create(new_user("erin", ""), now()).await.unwrap();
    let tokens = store.refresh_tokens();
    tokens.insert(&"a".repeat(32), u.id, &"f".repeat(32), 10_000, 100).await.unwrap();

    // Rehash on login: hash changes, nothing is revoked.
    users.set_password_hash(u.id, "$argon2id$new", false, 500).await.unwrap();
    let after = users.by_id(u.id).await.unwrap().unwrap();
    assert_eq!((after.password_hash.as_str(), after.revoked_after), ("$argon2id$new", 0));
    assert!(matches!(tokens.check(&"a".repeat(32), 600).await.unwrap(), crate::store::Consumed::Fresh { .. }));

    tokens.insert(&"b".repeat(32), u.id, &"f".repeat(32), 10_000, 700).await.unwrap();
    // Password change: revocation point and refresh tokens.
    users.set_password_hash(u.id, "$argon2id$newer", true, 800).await.unwrap();
    let after = users.by_id(u.id).await.unwrap().unwrap();
    assert_eq!((after.password_hash.as_str(), after.revoked_after), ("$argon2id$newer", 800));
    assert_eq!(tokens.check(&"b".repeat(32), 900).await.unwrap(), crate::store::Consumed::Revoked);

    let missing = users.set_password_hash(u.id + 1000, "x", true, 1).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub(super) async fn revoke_tokens_and_points(store: Store) {
    let users = store.users();
    assert!(users.revocation_points(0).await.unwrap().is_empty());
    let a = users.create(new_user("frank", ""), now()).await.unwrap();
    let b = users.create(new_user("grace", ""), now()).await.unwrap();
    store.refresh_tokens().insert(&"c".repeat(32), a.id, &"c".repeat(32), 10_000, 1).await.unwrap();
    users.revoke_tokens(a.id, 2_000).await.unwrap();
    users.revoke_tokens(a.id, 1_000).await.unwrap(); // never backwards
    assert_eq!(users.revocation_points(0).await.unwrap(), vec![(a.id, 2_000)]);
    assert_eq!(store.refresh_tokens().check(&"c".repeat(32), 5).await.unwrap(), crate::store::Consumed::Revoked);
    users.revoke_tokens(b.id, 3_000).await.unwrap();
    assert_eq!(users.revocation_points(0).await.unwrap(), vec![(a.id, 2_000), (b.id, 3_000)]);
    // Only the points after `since`: older ones can revoke no live access token.
    assert_eq!(users.revocation_points(2_000).await.unwrap(), vec![(b.id, 3_000)]);
    assert!(users.revocation_points(3_000).await.unwrap().is_empty());
    assert!(matches!(users.revoke_tokens(b.id + 1000, 1).await, Err(StoreError::NotFound)));
}

pub(super) async fn touch_and_list(store: Store) {
    let users = store.users();
    let mut ids = Vec::new();
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        ids.push(users.create(new_user(name, ""), now()).await.unwrap().id);
    }
    let login = now() + chrono::Duration::hours(1);
    users.touch_last_login(ids[2], login).await.unwrap();
    let u = users.by_id(ids[2]).await.unwrap().unwrap();
    assert_eq!(u.last_login.map(|t| t.timestamp_micros()), Some(login.timestamp_micros()));
    assert!(matches!(users.touch_last_login(ids[4] + 1000, login).await, Err(StoreError::NotFound)));

    let page: Vec<i64> = users.list(2, 1).await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(page, ids[1..3]);
    assert_eq!(users.list(100, 0).await.unwrap().len(), 5);
    assert!(users.list(10, 5).await.unwrap().is_empty());
}

pub(super) async fn imported_users_keep_their_ids(store: Store) {
    let users = store.users();
    let imported = ImportedUser {
        id: 42,
        username: "legacy_admin".into(),
        email: "ops@example.com".into(),
        password_hash: "pbkdf2_sha256$1000$nexoraReferenceSalt01A$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=".into(),
        role: "ADMIN".into(),
        phone: String::new(),
        address: "HQ".into(),
        is_active: false,
        date_joined: Utc.with_ymd_and_hms(2021, 3, 4, 5, 6, 7).unwrap(),
        last_login: Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()),
    };
    let u = users.insert_imported(&imported).await.unwrap();
    assert_eq!(users.by_id(42).await.unwrap().unwrap(), u);
    assert_eq!((u.id, u.is_active, u.password_hash.as_str()), (42, false, imported.password_hash.as_str()));
    // Ids continue after the imported ones.
    let next = users.create(new_user("newcomer", ""), now()).await.unwrap();
    assert!(next.id > 42, "{}", next.id);
    let again = users.insert_imported(&imported).await;
    assert!(matches!(again, Err(StoreError::Duplicate { field: "id" })), "{again:?}");
    let clash = ImportedUser { id: 100, username: "LEGACY_ADMIN".into(), email: String::new(), ..imported.clone() };
    assert!(matches!(users.insert_imported(&clash).await, Err(StoreError::Duplicate { field: "username" })));
    // Several columns taken at once: reported in a fixed order (id, username, email) on
    // every dialect, whichever index the database happened to check first.
    let all = ImportedUser { id: 42, username: "Legacy_Admin".into(), ..imported.clone() };
    assert!(matches!(users.insert_imported(&all).await, Err(StoreError::Duplicate { field: "id" })));
    let both = ImportedUser { id: 101, username: "Legacy_Admin".into(), ..imported.clone() };
    assert!(matches!(users.insert_imported(&both).await, Err(StoreError::Duplicate { field: "username" })));
    let mut new = new_user("legacy_admin", "OPS@example.com");
    assert!(matches!(users.create(new.clone(), now()).await, Err(StoreError::Duplicate { field: "username" })));
    new.username = "someone_else".into();
    assert!(matches!(users.create(new, now()).await, Err(StoreError::Duplicate { field: "email" })));
}

pub(super) async fn over_long_fields_are_refused_alike(store: Store) {
    let users = store.users();
    let mut role = new_user("h1", "");
    role.role = "R".repeat(21);
    assert!(matches!(users.create(role, now()).await, Err(StoreError::TooLong { field: "role", max: 20 })));
    let mut phone = new_user("h2", "");
    phone.phone = "5".repeat(21);
    assert!(matches!(users.create(phone, now()).await, Err(StoreError::TooLong { field: "phone", max: 20 })));
    let domain = ["b".repeat(61), "b".repeat(61), "b".repeat(61), "com".into()].join(".");
    let mut at_limit = new_user(&"é".repeat(150), &format!("{}@{domain}", "a".repeat(64)));
    at_limit.phone = "５".repeat(20);
    at_limit.role = "Ж".repeat(20);
    let u = users.create(at_limit, now()).await.unwrap();
    assert_eq!(u.username.chars().count(), 150);
    assert_eq!(u.email.chars().count(), 254);
    assert_eq!(users.by_id(u.id).await.unwrap().unwrap(), u);
    assert!(users.list(10, 0).await.unwrap().len() == 1, "nothing half-written");
}
