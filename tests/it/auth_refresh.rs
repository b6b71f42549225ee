//! `POST /auth/refresh`, `/auth/verify`, `/auth/logout`: rotation, reuse detection, the
//! parallel-refresh race, simplejwt's error bodies, and logout (one session or all).

use std::sync::Arc;
use std::time::Duration;

use crate::common::auth::*;
use crate::common::*;
use crate::on_both;

const PASSWORD: &str = "Saffron-Harbor-31";

fn refresh(gw: &AuthGw, token: &str) -> Reply {
    gw.post(
        "/auth/refresh",
        &serde_json::json!({ "refresh": token }).to_string(),
        None,
    )
}

on_both!(rotation_and_reuse_revoke_the_family, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("ivan");
    let user = gw.create_user(&name, PASSWORD, "CUSTOMER");
    let (_, r1) = gw.tokens(&name, PASSWORD);
    let r = refresh(&gw, &r1);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.starts_with(r#"{"access":""#), "{}", r.body);
    let v = r.json();
    let (a2, r2) = (
        v["access"].as_str().unwrap().to_owned(),
        v["refresh"].as_str().unwrap().to_owned(),
    );
    assert_eq!(claims_of(&a2)["user_id"], user.id.to_string());
    assert_eq!(claims_of(&r2)["fam"], claims_of(&r1)["fam"]);
    // R1 again: a replay. 401, and R2 dies with it.
    let r = refresh(&gw, &r1);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["code"], "token_not_valid");
    assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="api""#));
    let r = refresh(&gw, &r2);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(gw
        .gw
        .metrics_with("nexora_refresh_total{outcome=\"revoked\"}")
        .contains("nexora_refresh_total{outcome=\"ok\"} 1"));
    // A fresh login starts a new family that works.
    let (_, r3) = gw.tokens(&name, PASSWORD);
    assert_eq!(refresh(&gw, &r3).status, 200);
});

on_both!(refresh_errors_follow_simplejwt, |db: &Db| {
    let gw = AuthGw::start(db);
    let r = refresh(&gw, &access("1", "CUSTOMER"));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        r#"{"detail":"Token has wrong type","code":"token_not_valid"}"#
    );
    let r = refresh(&gw, "garbage");
    assert_eq!(
        r.body,
        r#"{"detail":"Token is invalid","code":"token_not_valid"}"#
    );
    // Validly signed but never issued here (unknown jti, no family).
    let r = refresh(&gw, &crate::common::refresh("1", "CUSTOMER"));
    assert_eq!(r.status, 401, "{}", r.body);
    let r = gw.post("/auth/refresh", "{}", None);
    assert_eq!(r.status, 400);
    assert_eq!(r.body, r#"{"refresh":["This field is required."]}"#);
    let r = gw.post("/auth/refresh", r#"{"refresh":"  "}"#, None);
    assert_eq!(r.body, r#"{"refresh":["This field may not be blank."]}"#);
});

on_both!(refresh_rechecks_the_user, |db: &Db| {
    let gw = AuthGw::start(db);
    let admin = admin_token(&gw);
    let name = uniq("judy");
    let user = gw.create_user(&name, PASSWORD, "CUSTOMER");
    let (_, r1) = gw.tokens(&name, PASSWORD);
    let r = gw.send(
        "DELETE",
        &format!("/auth/users/{}", user.id),
        "application/json",
        "",
        Some(&admin),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = refresh(&gw, &r1);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.body,
        r#"{"detail":"No active account found for the given token."}"#
    );
});

on_both!(
    twenty_parallel_refreshes_one_winner_no_orphans,
    |db: &Db| {
        let gw = Arc::new(AuthGw::start(db));
        let name = uniq("race");
        gw.create_user(&name, PASSWORD, "CUSTOMER");
        let (_, r1) = gw.tokens(&name, PASSWORD);
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (gw, r1) = (gw.clone(), r1.clone());
                std::thread::spawn(move || {
                    let r = refresh(&gw, &r1);
                    (r.status, r.body)
                })
            })
            .collect();
        let results: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<&(u16, String)> = results.iter().filter(|(s, _)| *s == 200).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        assert!(
            results.iter().all(|(s, _)| *s == 200 || *s == 401),
            "{results:?}"
        );
        // The losers were replays: the family, the winner's new token included, is revoked,
        // so no live token is left in it.
        let new_refresh = serde_json::from_str::<serde_json::Value>(&winners[0].1).unwrap()
            ["refresh"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(refresh(&gw, &new_refresh).status, 401);
        assert_eq!(claims_of(&new_refresh)["fam"], claims_of(&r1)["fam"]);
    }
);

on_both!(
    without_rotation_the_same_refresh_token_keeps_working,
    |db: &Db| {
        let gw = AuthGw::start_with(db, AUTH_DEFAULTS, "  rotate_refresh: false\n");
        let name = uniq("kim");
        gw.create_user(&name, PASSWORD, "CUSTOMER");
        let (_, r1) = gw.tokens(&name, PASSWORD);
        for _ in 0..2 {
            let r = refresh(&gw, &r1);
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(r.json().get("refresh").is_none(), "{}", r.body);
        }
        assert_eq!(
            gw.post(
                "/auth/logout",
                &serde_json::json!({"refresh": r1}).to_string(),
                None
            )
            .status,
            200
        );
        assert_eq!(refresh(&gw, &r1).status, 401);
    }
);

on_both!(verify_accepts_any_valid_token_type, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("leo");
    gw.create_user(&name, PASSWORD, "CUSTOMER");
    let (a, r) = gw.tokens(&name, PASSWORD);
    for token in [&a, &r] {
        let v = gw.post(
            "/auth/verify",
            &serde_json::json!({ "token": token }).to_string(),
            None,
        );
        assert_eq!((v.status, v.body.as_str()), (200, "{}"));
    }
    let v = gw.post("/auth/verify", r#"{"token":"x.y.z"}"#, None);
    assert_eq!(v.status, 401);
    assert_eq!(
        v.body,
        r#"{"detail":"Token is invalid","code":"token_not_valid"}"#
    );
    let v = gw.post(
        "/auth/verify",
        &serde_json::json!({ "token": expired("1", "CUSTOMER") }).to_string(),
        None,
    );
    assert_eq!(
        v.body,
        r#"{"detail":"Token is expired","code":"token_not_valid"}"#
    );
    let v = gw.post("/auth/verify", "{}", None);
    assert_eq!(
        (v.status, v.body.as_str()),
        (400, r#"{"token":["This field is required."]}"#)
    );
});

on_both!(logout_one_session_and_everywhere, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("mia");
    gw.create_user(&name, PASSWORD, "CUSTOMER");
    let (a1, r1) = gw.tokens(&name, PASSWORD);
    let r = gw.post(
        "/auth/logout",
        &serde_json::json!({ "refresh": r1 }).to_string(),
        None,
    );
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    assert_eq!(refresh(&gw, &r1).status, 401);
    // One session's logout leaves its access token to expire; "all" cuts every token.
    assert_eq!(gw.gw.get("/api/orders/1", Some(&a1), &[]).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let (a2, r2) = gw.tokens(&name, PASSWORD);
    let r = gw.post("/auth/logout", r#"{"all": true}"#, Some(&a2));
    assert_eq!((r.status, r.body.as_str()), (200, "{}"), "{}", r.body);
    assert_eq!(gw.gw.get("/api/orders/1", Some(&a1), &[]).status, 401);
    assert_eq!(refresh(&gw, &r2).status, 401);
    // Logging in again in the same second works (docs/REFERENCE.md#revocation-boundary).
    let (a3, _) = gw.tokens(&name, PASSWORD);
    assert_eq!(gw.gw.get("/api/orders/1", Some(&a3), &[]).status, 200);
    let r = gw.post("/auth/logout", "{}", None);
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"refresh":["This field is required."]}"#)
    );
});
