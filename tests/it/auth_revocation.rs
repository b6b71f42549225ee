//! Revocation points (CONTRACT 4.5) across replicas, and a user store that is down:
//! 503 on the identity endpoints while the hot path keeps verifying and proxying,
//! `/readyz` false, recovery without a restart.

use std::time::{Duration, Instant};

use crate::common::auth::*;
use crate::common::*;
use crate::on_both;

const PASSWORD: &str = "Cobalt-Meadow-64";

/// Polls `f` until it returns true or `within` passes; returns how long it took.
fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

on_both!(
    another_replica_refuses_old_tokens_within_the_poll,
    |db: &Db| {
        let a = AuthGw::start(db);
        // Replica B shares A's database (same URL; SQLite file or MariaDB database).
        let b = AuthGw::start_on(&a.db_url, tempfile::tempdir().unwrap(), AUTH_DEFAULTS, "");
        let admin = admin_token(&a);
        let name = uniq("quinn");
        let user = a.create_user(&name, PASSWORD, "SELLER");
        let (old, _) = a.tokens(&name, PASSWORD);
        assert_eq!(b.gw.get("/api/seller/orders", Some(&old), &[]).status, 200);
        std::thread::sleep(Duration::from_millis(1100));
        let r = a.send(
            "PATCH",
            &format!("/auth/users/{}", user.id),
            "application/json",
            r#"{"role":"CUSTOMER"}"#,
            Some(&admin),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        // This replica: at once. The other: within revocation_poll (200ms) plus slack.
        assert_eq!(a.gw.get("/api/orders/1", Some(&old), &[]).status, 401);
        let took = eventually(Duration::from_secs(3), || {
            b.gw.get("/api/orders/1", Some(&old), &[]).status == 401
        });
        assert!(
            took.is_some_and(|t| t < Duration::from_millis(1500)),
            "{took:?}"
        );
        let r = b.gw.get("/api/orders/1", Some(&old), &[]);
        assert_eq!(r.json()["code"], "token_not_valid");
        // A token issued after the change carries the new role and works on both.
        let (fresh, _) = b.tokens(&name, PASSWORD);
        assert_eq!(claims_of(&fresh)["role"], "CUSTOMER");
        assert_eq!(a.gw.get("/api/orders/1", Some(&fresh), &[]).status, 200);
        assert_eq!(
            b.gw.get("/api/seller/orders", Some(&fresh), &[]).status,
            403
        );
    }
);

on_both!(
    password_change_revokes_and_same_second_login_works,
    |db: &Db| {
        let gw = AuthGw::start(db);
        let admin = admin_token(&gw);
        let name = uniq("rita");
        let user = gw.create_user(&name, PASSWORD, "CUSTOMER");
        let (old_access, old_refresh) = gw.tokens(&name, PASSWORD);
        std::thread::sleep(Duration::from_millis(1100));
        let r = gw.send(
            "PATCH",
            &format!("/auth/users/{}", user.id),
            "application/json",
            r#"{"password":"Brand-New-Secret-99"}"#,
            Some(&admin),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let (new_access, _) = gw.tokens(&name, "Brand-New-Secret-99");
        assert_eq!(
            gw.gw.get("/api/orders/1", Some(&new_access), &[]).status,
            200
        );
        assert_eq!(
            gw.gw.get("/api/orders/1", Some(&old_access), &[]).status,
            401
        );
        let r = gw.post(
            "/auth/refresh",
            &serde_json::json!({"refresh": old_refresh}).to_string(),
            None,
        );
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(gw.login(&name, PASSWORD).status, 401);
        let weak = gw.send(
            "PATCH",
            &format!("/auth/users/{}", user.id),
            "application/json",
            r#"{"password":"123"}"#,
            Some(&admin),
        );
        assert_eq!(weak.status, 400, "{}", weak.body);
    }
);

#[test]
fn sqlite_store_down_then_back_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    // The database's parent "directory" is a file: nothing can be created there.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let url = format!("sqlite://{}/nexora.db", blocker.display());
    let gw = AuthGw::start_on(&url, tempfile::tempdir().unwrap(), AUTH_DEFAULTS, "");
    let r = gw.login("anyone", PASSWORD);
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["code"], "service_unavailable");
    assert!(r.header("retry-after").is_some());
    let r = gw.register(&uniq("x"), PASSWORD);
    assert_eq!(r.status, 503, "{}", r.body);
    // The hot path does not need the store.
    let r = gw
        .gw
        .get("/api/orders/1", Some(&access("1", "CUSTOMER")), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(gw.gw.get("/api/products/1", None, &[]).status, 200);
    // Verify and JWKS need no store either.
    let v = gw.post(
        "/auth/verify",
        &serde_json::json!({"token": access("1", "CUSTOMER")}).to_string(),
        None,
    );
    assert_eq!(v.status, 200, "{}", v.body);
    let ready = agent().get(&format!("{}/readyz", gw.gw.admin_url)).call();
    assert!(matches!(ready, Err(ureq::Error::Status(503, _))));
    // The directory becomes creatable: the link recovers by itself.
    std::fs::remove_file(&blocker).unwrap();
    let name = uniq("back");
    let recovered = eventually(Duration::from_secs(10), || {
        gw.register(&name, PASSWORD).status == 201
    });
    assert!(recovered.is_some(), "no recovery; log:\n{}", gw.gw.log());
    let ready = agent().get(&format!("{}/readyz", gw.gw.admin_url)).call();
    assert_eq!(ready.map(|r| r.status()).ok(), Some(200));
    gw.tokens(&name, PASSWORD);
}

#[test]
fn mariadb_store_down_is_503_while_proxying_goes_on() {
    if std::env::var("NEXORA_TEST_MYSQL_URL").is_err() {
        return;
    }
    // Nothing listens on this port.
    let url = format!("mysql://root@127.0.0.1:{}/nexora", free_port());
    let gw = AuthGw::start_on(&url, tempfile::tempdir().unwrap(), AUTH_DEFAULTS, "");
    let r = gw.login("anyone", PASSWORD);
    assert_eq!(r.status, 503, "{}", r.body);
    let r = gw
        .gw
        .get("/api/orders/1", Some(&access("1", "CUSTOMER")), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let ready = agent().get(&format!("{}/readyz", gw.gw.admin_url)).call();
    assert!(matches!(ready, Err(ureq::Error::Status(503, _))));
}
