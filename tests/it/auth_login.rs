//! `POST /auth/login`: tokens, the generic failure, rate limits, legacy hashes, and a
//! login flood that must not starve proxied traffic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::auth::*;
use crate::common::*;
use crate::on_both;

const PASSWORD: &str = "Violet-Lantern-77";

on_both!(
    login_returns_refresh_then_access_with_contract_claims,
    |db: &Db| {
        let gw = AuthGw::start(db);
        let name = uniq("erin");
        let user = gw.create_user(&name, PASSWORD, "SELLER");
        let r = gw.login(
            &format!("  {} ", name.to_uppercase()),
            &format!(" {PASSWORD} "),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.starts_with(r#"{"refresh":""#), "{}", r.body);
        let v = r.json();
        let access = claims_of(v["access"].as_str().unwrap());
        let refresh = claims_of(v["refresh"].as_str().unwrap());
        assert_eq!(access["token_type"], "access");
        assert_eq!(access["user_id"], user.id.to_string());
        assert_eq!(access["username"], name.as_str());
        assert_eq!(access["role"], "SELLER");
        assert_eq!(
            access["exp"].as_u64().unwrap(),
            access["iat"].as_u64().unwrap() + 3600
        );
        assert_eq!(access["jti"].as_str().unwrap().len(), 32);
        assert_eq!(refresh["token_type"], "refresh");
        assert_eq!(refresh["iat"], access["iat"]);
        assert_ne!(refresh["jti"], access["jti"]);
        // The access token works on the hot path, identity headers included.
        let r = gw.gw.get("/api/seller/orders", v["access"].as_str(), &[]);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            gw.up.last().header("x-user-id"),
            Some(user.id.to_string().as_str())
        );
        assert_eq!(gw.up.last().header("x-user-role"), Some("SELLER"));
        // last_login is recorded.
        let me = gw.gw.get("/auth/me", v["access"].as_str(), &[]);
        assert_eq!(me.status, 200, "{}", me.body);
        assert!(me.json()["last_login"].is_string(), "{}", me.body);
        assert!(gw
            .gw
            .metrics_with("nexora_login_total{outcome=\"ok\"}")
            .contains("nexora_login_total{outcome=\"ok\"} 1"));
    }
);

on_both!(unknown_wrong_and_inactive_look_the_same, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("frank");
    gw.create_user(&name, PASSWORD, "CUSTOMER");
    let inactive = uniq("gone");
    let user = gw.create_user(&inactive, PASSWORD, "CUSTOMER");
    gw.with_store(move |s| {
        Box::pin(async move {
            let patch = nexora_gate::store::UserPatch {
                is_active: Some(false),
                ..Default::default()
            };
            s.users().update(user.id, patch, 1).await.unwrap();
        })
    });
    let replies = [
        gw.login(&name, "wrong-password-1"),
        gw.login(&uniq("nobody"), PASSWORD),
        gw.login(&inactive, PASSWORD),
        gw.login("not a valid name!", PASSWORD),
        gw.login(&name, &"x".repeat(5000)),
    ];
    for r in &replies {
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body,
            r#"{"detail":"No active account found with the given credentials"}"#
        );
        assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="api""#));
    }
    let r = gw.post("/auth/login", r#"{"username":"x"}"#, None);
    assert_eq!(r.status, 400);
    assert_eq!(r.body, r#"{"password":["This field is required."]}"#);
});

on_both!(
    failures_are_rate_limited_per_canonical_name_and_address,
    |db: &Db| {
        let gw = AuthGw::start_with(
            db,
            "auth:\n  rate_limit: { max_attempts: 3, window: 1m }\n",
            "",
        );
        let name = uniq("heidi");
        gw.create_user(&name, PASSWORD, "CUSTOMER");
        // Three spellings of one account share one budget.
        for spelling in [name.clone(), name.to_uppercase(), format!(" {name}  ")] {
            assert_eq!(gw.login(&spelling, "nope-nope-1").status, 401);
        }
        let r = gw.login(&name, PASSWORD);
        assert_eq!(r.status, 429, "{}", r.body);
        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(r.json()["code"], "throttled");
        assert!(gw
            .gw
            .metrics_with("rate_limited")
            .contains("nexora_login_total{outcome=\"rate_limited\"} 1"));
    }
);

on_both!(unknown_users_are_limited_like_known_ones, |db: &Db| {
    // A large per-address budget would hide the per-name one: both are 3 here, so the
    // fourth failure of any name from this address is refused too.
    let gw = AuthGw::start_with(
        db,
        "auth:\n  rate_limit: { max_attempts: 3, window: 1m }\n",
        "",
    );
    let ghost = uniq("ghost");
    for _ in 0..3 {
        assert_eq!(gw.login(&ghost, "whatever-1").status, 401);
    }
    assert_eq!(gw.login(&ghost, "whatever-1").status, 429);
});

on_both!(legacy_pbkdf2_hash_is_upgraded_on_login, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("legacy");
    let user = gw.create_user(&name, "placeholder-Pass-1", "CUSTOMER");
    let legacy =
        "pbkdf2_sha256$1000$nexoraReferenceSalt01A$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=";
    gw.with_store(move |s| {
        Box::pin(async move {
            s.users()
                .set_password_hash(user.id, legacy, false, 0)
                .await
                .unwrap();
        })
    });
    gw.tokens(&name, "NexoraTest#2024");
    let stored = gw.stored(&name).unwrap();
    assert!(
        stored.password_hash.starts_with("$argon2id$"),
        "{}",
        stored.password_hash
    );
    gw.tokens(&name, "NexoraTest#2024");
});

#[test]
fn a_login_flood_does_not_starve_proxied_requests() {
    let gw = Arc::new(AuthGw::start(&Db::Sqlite));
    let token = access("7", "CUSTOMER");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood: Vec<_> = (0..16)
        .map(|i| {
            let (gw, stop) = (gw.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    statuses.push(gw.login(&format!("flood{i}"), &"p".repeat(4000)).status);
                }
                statuses
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut worst = Duration::ZERO;
    for _ in 0..50 {
        let t = Instant::now();
        let r = gw.gw.get("/api/orders/1", Some(&token), &[]);
        worst = worst.max(t.elapsed());
        assert_eq!(r.status, 200, "{}", r.body);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses: Vec<u16> = flood.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(!statuses.is_empty());
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429 | 503)),
        "{statuses:?}"
    );
    assert!(
        worst < Duration::from_millis(500),
        "a proxied request took {worst:?} during the flood"
    );
}

on_both!(register_and_refresh_are_rate_limited_too, |db: &Db| {
    let gw = AuthGw::start_with(
        db,
        "auth:\n  rate_limit: { max_attempts: 3, window: 1m }\n",
        "",
    );
    for _ in 0..3 {
        let r = gw.post("/auth/refresh", r#"{"refresh":"not-a-token"}"#, None);
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let r = gw.post("/auth/refresh", r#"{"refresh":"not-a-token"}"#, None);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert!(gw
        .gw
        .metrics_with("nexora_refresh_total{outcome=\"rate_limited\"}")
        .contains("nexora_refresh_total{outcome=\"rate_limited\"} 1"));
    // Registrations from one address: every attempt counts (each may cost a hash).
    for _ in 0..3 {
        assert_eq!(gw.register(&uniq("reg"), PASSWORD).status, 201);
    }
    let r = gw.register(&uniq("reg"), PASSWORD);
    assert_eq!(r.status, 429, "{}", r.body);
});
