//! Revocation points (docs/REFERENCE.md#revocation) across replicas, and a user store that is down:
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
    // The proxy-only readiness ignores the store: the hot path is serving.
    let proxy_ready = agent().get(&format!("{}/readyz/proxy", gw.gw.admin_url)).call().unwrap();
    assert_eq!(proxy_ready.status(), 200);
}

/// Unix seconds now.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sleeps until just after the wall clock enters a new second.
fn start_of_next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()) + 5_000_000,
    ));
}

// A disabled user can get no new token, so nothing needs the same-second grace a
// password change has: a token issued in the very second of the deactivation must die
// too (with the grace it would live until its expiry, an hour here).
on_both!(
    disabling_refuses_tokens_issued_in_the_same_second,
    |db: &Db| {
        let a = AuthGw::start(db);
        let b = AuthGw::start_on(&a.db_url, tempfile::tempdir().unwrap(), AUTH_DEFAULTS, "");
        let admin = admin_token(&a);
        for method in ["PATCH", "DELETE"] {
            // Retried when the login and the change straddle a second boundary.
            let mut same_second = None;
            for _ in 0..5 {
                let name = uniq("sam");
                let user = a.create_user(&name, PASSWORD, "CUSTOMER");
                start_of_next_second();
                let second = unix_now();
                let (access, refresh) = a.tokens(&name, PASSWORD);
                let body = if method == "PATCH" { r#"{"is_active":false}"# } else { "" };
                let r = a.send(
                    method,
                    &format!("/auth/users/{}", user.id),
                    "application/json",
                    body,
                    Some(&admin),
                );
                assert!(r.status == 200 || r.status == 204, "{method}: {}", r.body);
                if unix_now() == second && claims_of(&access)["iat"] == second {
                    same_second = Some((name, user, access, refresh));
                    break;
                }
            }
            let (name, user, access, refresh) =
                same_second.expect("login and change never fell in one second");
            assert_eq!(
                a.gw.get("/api/orders/1", Some(&access), &[]).status,
                401,
                "{method}: the replica that disabled"
            );
            let took = eventually(Duration::from_secs(3), || {
                b.gw.get("/api/orders/1", Some(&access), &[]).status == 401
            });
            assert!(took.is_some(), "{method}: the other replica still accepts it");
            let r = a.post(
                "/auth/refresh",
                &serde_json::json!({ "refresh": refresh }).to_string(),
                None,
            );
            assert_eq!(r.status, 401, "{method}: {}", r.body);
            // Enabled again in a later second: a new login works on both replicas.
            start_of_next_second();
            let r = a.send(
                "PATCH",
                &format!("/auth/users/{}", user.id),
                "application/json",
                r#"{"is_active":true}"#,
                Some(&admin),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            let (fresh, _) = b.tokens(&name, PASSWORD);
            assert_eq!(a.gw.get("/api/orders/1", Some(&fresh), &[]).status, 200);
            let ok = eventually(Duration::from_secs(3), || {
                b.gw.get("/api/orders/1", Some(&fresh), &[]).status == 200
            });
            assert!(ok.is_some(), "{method}: the re-enabled user's new token");
        }
    }
);

// Exact revocation: a role change or a logout-everywhere revokes every access
// token issued before it, including those issued earlier in the same second
// (their jti carries the millisecond), on this replica and the other; a login
// right after the change — the same second too — gets a token that passes.
on_both!(
    a_change_revokes_tokens_of_its_own_second_and_not_the_next_login,
    |db: &Db| {
        let a = AuthGw::start(db);
        let b = AuthGw::start_on(&a.db_url, tempfile::tempdir().unwrap(), AUTH_DEFAULTS, "");
        let admin = admin_token(&a);
        for change in ["demote", "logout-all"] {
            let mut same_second = 0;
            for _ in 0..4 {
                let name = uniq("edge");
                let user = a.create_user(&name, PASSWORD, "SELLER");
                start_of_next_second();
                let second = unix_now();
                let (old, _) = a.tokens(&name, PASSWORD);
                let r = match change {
                    "demote" => a.send(
                        "PATCH",
                        &format!("/auth/users/{}", user.id),
                        "application/json",
                        r#"{"role":"CUSTOMER"}"#,
                        Some(&admin),
                    ),
                    _ => a.post("/auth/logout", r#"{"all":true}"#, Some(&old)),
                };
                assert!(r.status == 200 || r.status == 204, "{change}: {}", r.body);
                let (new, _) = a.tokens(&name, PASSWORD);
                if unix_now() == second && claims_of(&old)["iat"] == second && claims_of(&new)["iat"] == second {
                    same_second += 1;
                }
                // An authenticated route: the old token must die everywhere.
                assert_eq!(a.gw.get("/api/orders/1", Some(&old), &[]).status, 401, "{change}: replica a kept the old token");
                let gone = eventually(Duration::from_secs(3), || b.gw.get("/api/orders/1", Some(&old), &[]).status == 401);
                assert!(gone.is_some(), "{change}: replica b still accepts the old token");
                // The token of the login after the change passes on both.
                assert_eq!(a.gw.get("/api/orders/1", Some(&new), &[]).status, 200, "{change}: the new token on a");
                let ok = eventually(Duration::from_secs(3), || b.gw.get("/api/orders/1", Some(&new), &[]).status == 200);
                assert!(ok.is_some(), "{change}: the new token on b");
            }
            assert!(same_second > 0, "{change}: login, change and login never fell in one second");
        }
    }
);
