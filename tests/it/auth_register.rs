//! `POST /auth/register` and the body parsing every identity endpoint shares (docs/REFERENCE.md#endpoints,
//! docs/REFERENCE.md#error-bodies), on SQLite and (when configured) MariaDB.

use crate::common::auth::*;
use crate::on_both;

const STRONG: &str = "correct-Horse-battery-9";

on_both!(registers_and_never_returns_the_password, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("alice");
    let r = gw.post(
        "/auth/register",
        &serde_json::json!({"username": name, "email": format!("{name}@Example.COM"), "password": STRONG, "phone": "+1-555-0100", "address": "1 Market St"}).to_string(),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    assert_eq!(v["username"], name.as_str());
    assert_eq!(v["role"], "CUSTOMER");
    assert_eq!(v["phone"], "+1-555-0100");
    assert_eq!(v["is_active"], true);
    assert!(v["id"].as_i64().unwrap() > 0);
    assert!(v["date_joined"].as_str().unwrap().ends_with('Z'));
    assert!(v["last_login"].is_null());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in keys {
        assert!(!k.contains("password") && !k.contains("hash"), "{k} leaked");
    }
    assert!(!r.body.contains(STRONG) && !r.body.contains("argon2"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let stored = gw.stored(&name).unwrap();
    assert!(
        stored
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored.password_hash
    );
    // The account works.
    gw.tokens(&name, STRONG);
});

on_both!(field_errors_follow_drf, |db: &Db| {
    let gw = AuthGw::start(db);
    let bad = |body: serde_json::Value| {
        let r = gw.post("/auth/register", &body.to_string(), None);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        r.body
    };
    assert_eq!(
        bad(serde_json::json!({})),
        r#"{"username":["This field is required."],"password":["This field is required."]}"#
    );
    assert_eq!(
        bad(serde_json::json!({"username": "  ", "password": ""})),
        r#"{"username":["This field may not be blank."],"password":["This field may not be blank."]}"#
    );
    let name = uniq("weak");
    assert_eq!(
        bad(serde_json::json!({"username": name, "password": "123"})),
        r#"{"password":["This password is too short. It must contain at least 8 characters.","This password is too common.","This password is entirely numeric."]}"#
    );
    assert_eq!(
        bad(serde_json::json!({"username": name, "password": STRONG, "role": "SUPERUSER"})),
        r#"{"role":["\"SUPERUSER\" is not a valid choice."]}"#
    );
    assert_eq!(
        bad(serde_json::json!({"username": name, "password": STRONG, "role": "admin"})),
        r#"{"role":["\"admin\" is not a valid choice."]}"#
    );
    assert_eq!(
        bad(serde_json::json!({"username": name, "password": STRONG, "email": "not-an-email"})),
        r#"{"email":["Enter a valid email address."]}"#
    );
    assert_eq!(
        bad(serde_json::json!({"username": "x'; DROP TABLE users;--", "password": STRONG})),
        r#"{"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}"#
    );
    assert_eq!(
        bad(serde_json::json!({"username": "a".repeat(151), "password": STRONG})),
        r#"{"username":["Ensure this field has no more than 150 characters."]}"#
    );
    // Several fields at once, in serializer order.
    let body =
        bad(serde_json::json!({"password": "123", "email": "nope", "phone": "1".repeat(21)}));
    assert!(
        body.starts_with(r#"{"username":["This field is required."],"email":"#),
        "{body}"
    );
    assert!(
        body.contains(r#""phone":["Ensure this field has no more than 20 characters."]"#),
        "{body}"
    );
    // Nothing was created by any of it.
    assert!(gw.stored(&name).is_none());
});

on_both!(taken_usernames_and_emails_in_any_spelling, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("carol");
    assert_eq!(gw.register(&name, STRONG).status, 201);
    for variant in [
        name.to_uppercase(),
        format!("  {name} "),
        name.replace('a', "ａ"),
    ] {
        let r = gw.post(
            "/auth/register",
            &serde_json::json!({"username": variant, "password": STRONG}).to_string(),
            None,
        );
        assert_eq!(r.status, 400, "{variant}: {}", r.body);
        assert_eq!(
            r.body,
            r#"{"username":["A user with that username already exists."]}"#
        );
    }
    let other = uniq("dave");
    let r = gw.post(
        "/auth/register",
        &serde_json::json!({"username": other, "password": STRONG, "email": format!("{}@EXAMPLE.com", name.to_uppercase())}).to_string(),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["email"].is_array(), "{}", r.body);
    assert!(gw.stored(&other).is_none(), "half-created user");
});

on_both!(roles_needing_an_admin_are_refused, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("mallory");
    for role in ["ADMIN", "SELLER"] {
        let r = gw.post(
            "/auth/register",
            &serde_json::json!({"username": name, "password": STRONG, "role": role}).to_string(),
            None,
        );
        assert_eq!(r.status, 403, "{role}: {}", r.body);
        assert_eq!(
            r.json()["detail"],
            "You do not have permission to perform this action."
        );
        assert!(r.header("www-authenticate").is_none());
    }
    assert!(gw.stored(&name).is_none());
    // An ADMIN may create any role, through register or /auth/users.
    let admin = admin_token(&gw);
    let r = gw.post(
        "/auth/register",
        &serde_json::json!({"username": name, "password": STRONG, "role": "ADMIN"}).to_string(),
        Some(&admin),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["role"], "ADMIN");
    // A bad token on register is refused, not ignored.
    let r = gw.post(
        "/auth/register",
        &serde_json::json!({"username": uniq("x"), "password": STRONG}).to_string(),
        Some("garbage"),
    );
    assert_eq!(r.status, 401, "{}", r.body);
});

on_both!(bad_bodies_are_4xx_json_never_5xx, |db: &Db| {
    let gw = AuthGw::start(db);
    let r = gw.post("/auth/register", r#"{"username": "x", "#, None);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .starts_with("JSON parse error - "));
    let r = gw.send("POST", "/auth/register", "text/plain", "hello", None);
    assert_eq!(r.status, 415);
    assert_eq!(
        r.body,
        r#"{"detail":"Unsupported media type \"text/plain\" in request."}"#
    );
    let r = gw.post("/auth/register", "[1,2]", None);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#
    );
    let r = gw.post(
        "/auth/register",
        r#"{"username": ["a"], "password": {"x": 1}}"#,
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"username":["Not a valid string."],"password":["Not a valid string."]}"#
    );
    let huge = format!(
        r#"{{"username":"{}","password":"x"}}"#,
        "a".repeat(70 * 1024)
    );
    let r = gw.post("/auth/register", &huge, None);
    assert_eq!(r.status, 413, "{}", r.body);
    let r = gw.gw.get("/auth/register", None, &[]);
    assert_eq!(r.status, 405);
    assert_eq!(r.body, r#"{"detail":"Method \"GET\" not allowed."}"#);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    let r = gw.gw.get("/auth/nothing-here", None, &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["detail"], "Not found.");
    // Nothing under the prefix reaches the upstream.
    assert!(gw.up.seen().is_empty(), "{:?}", gw.up.seen());
});

on_both!(form_bodies_unicode_and_sql_looking_values, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = format!("jöhn_{}", uniq("u"));
    let form = format!(
        "username={}&password={}&address=%27%3B+DROP+TABLE+users%3B--",
        percent(&name),
        percent(STRONG)
    );
    let r = gw.send(
        "POST",
        "/auth/register",
        "application/x-www-form-urlencoded",
        &form,
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["username"], name.as_str());
    assert_eq!(r.json()["address"], "'; DROP TABLE users;--");
    let (access, _) = gw.tokens(&name.to_uppercase(), STRONG);
    // The unicode username reaches the upstream in the identity header.
    let r = gw.gw.get("/api/orders/1", Some(&access), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(gw.up.last().header("x-username"), Some(name.as_str()));
});

on_both!(twenty_parallel_registrations_make_one_user, |db: &Db| {
    let gw = std::sync::Arc::new(AuthGw::start(db));
    let name = uniq("race");
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let (gw, name) = (gw.clone(), name.clone());
            std::thread::spawn(move || gw.register(&name, STRONG).status)
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 400),
        "{statuses:?}"
    );
});

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
