//! `GET /auth/me`, the ADMIN user endpoints, `/.well-known/jwks.json` and `/auth/decide`.

use crate::common::auth::*;
use crate::common::*;
use crate::on_both;

const PASSWORD: &str = "Juniper-Compass-58";

on_both!(me_answers_the_stored_user, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("nina");
    let user = gw.create_user(&name, PASSWORD, "CUSTOMER");
    let (token, refresh) = gw.tokens(&name, PASSWORD);
    let r = gw.gw.get("/auth/me", Some(&token), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["id"], user.id);
    assert_eq!(v["username"], name.as_str());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 9, "{keys:?}");
    let r = gw.gw.get("/auth/me", None, &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["detail"],
        "Authentication credentials were not provided."
    );
    let r = gw.gw.get("/auth/me", Some(&refresh), &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["messages"][0]["message"], "Token has wrong type");
    let r = gw
        .gw
        .get("/auth/me", Some(&access("999999", "CUSTOMER")), &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        r#"{"detail":"User not found","code":"user_not_found"}"#
    );
});

on_both!(admins_list_read_change_and_deactivate_users, |db: &Db| {
    let gw = AuthGw::start(db);
    let admin = admin_token(&gw);
    let name = uniq("oscar");
    let created = gw.post(
        "/auth/users",
        &serde_json::json!({"username": name, "password": PASSWORD, "role": "SELLER"}).to_string(),
        Some(&admin),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_i64().unwrap();
    let list = gw.gw.get("/auth/users?limit=1000", Some(&admin), &[]);
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["id"] == id));
    assert_eq!(
        gw.gw.get("/auth/users?limit=abc", Some(&admin), &[]).status,
        400
    );
    let one = gw.gw.get(&format!("/auth/users/{id}"), Some(&admin), &[]);
    assert_eq!(
        (one.status, one.json()["role"].as_str()),
        (200, Some("SELLER"))
    );
    assert_eq!(
        gw.gw.get("/auth/users/987654321", Some(&admin), &[]).status,
        404
    );
    assert_eq!(gw.gw.get("/auth/users/abc", Some(&admin), &[]).status, 404);
    let patched = gw.send(
        "PATCH",
        &format!("/auth/users/{id}"),
        "application/json",
        r#"{"role":"CUSTOMER","phone":"555","address":"2 Dock Rd"}"#,
        Some(&admin),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json()["role"], "CUSTOMER");
    assert_eq!(patched.json()["phone"], "555");
    let bad = gw.send(
        "PATCH",
        &format!("/auth/users/{id}"),
        "application/json",
        r#"{"role":"KING","is_active":"maybe"}"#,
        Some(&admin),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body,
        r#"{"role":["\"KING\" is not a valid choice."],"is_active":["Must be a valid boolean."]}"#
    );
    let gone = gw.send(
        "DELETE",
        &format!("/auth/users/{id}"),
        "application/json",
        "",
        Some(&admin),
    );
    assert_eq!(gone.status, 204);
    assert_eq!(gw.login(&name, PASSWORD).status, 401);
    let r = gw.send(
        "PUT",
        &format!("/auth/users/{id}"),
        "application/json",
        "{}",
        Some(&admin),
    );
    assert_eq!(r.status, 405);
});

on_both!(non_admins_get_403_and_anonymous_401, |db: &Db| {
    let gw = AuthGw::start(db);
    let name = uniq("peggy");
    gw.create_user(&name, PASSWORD, "SELLER");
    let (seller, _) = gw.tokens(&name, PASSWORD);
    // 403 before validation: even an invalid body is not looked at.
    let r = gw.post("/auth/users", r#"{"nonsense": true}"#, Some(&seller));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(gw.gw.get("/auth/users", Some(&seller), &[]).status, 403);
    assert_eq!(gw.gw.get("/auth/users", None, &[]).status, 401);
    assert_eq!(gw.gw.get("/auth/users/1", None, &[]).status, 401);
});

#[test]
fn jwks_lists_public_keys_only() {
    let gw = AuthGw::start(&Db::Sqlite);
    let r = gw.gw.get("/.well-known/jwks.json", None, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    // HS256: the secret is never published.
    assert_eq!(r.json(), serde_json::json!({"keys": []}));
    assert!(gw.up.seen().is_empty());
}

#[test]
fn decide_answers_what_the_hot_path_would_for_trusted_peers_only() {
    let gw = AuthGw::start(&Db::Sqlite);
    let seller = access("42", "SELLER");
    // 127.0.0.1 is not in trusted_proxies (10.99.0.0/16): refused, whatever it claims.
    let r = gw.gw.get(
        "/auth/decide",
        Some(&seller),
        &[
            ("X-Forwarded-Method", "GET"),
            ("X-Forwarded-Uri", "/api/products/1"),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
}

#[test]
fn decide_from_a_trusted_proxy() {
    let up = Upstream::start(Behaviour::Ok);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/n.db", dir.path().display());
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(
        proxy,
        admin,
        &up.addr,
        SHOP_ROUTES,
        &format!("database:\n  url: \"{url}\"\n"),
    )
    .replace(
        "server:\n  threads: 1\n",
        "server:\n  threads: 1\n  trusted_proxies: [127.0.0.1/32]\n",
    );
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let decide = |method: &str, uri: &str, token: Option<&str>| {
        gw.get(
            "/auth/decide",
            token,
            &[("X-Forwarded-Method", method), ("X-Forwarded-Uri", uri)],
        )
    };
    let seller = access("42", "SELLER");
    let r = decide("GET", "/api/seller/orders?x=1", Some(&seller));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-user-id"), Some("42"));
    assert_eq!(r.header("x-user-role"), Some("SELLER"));
    assert_eq!(decide("GET", "/api/admin/users", Some(&seller)).status, 403);
    // Normalised like the hot path: the dot-segments reach the admin area.
    assert_eq!(
        decide("GET", "/api/products/../admin/users", Some(&seller)).status,
        403
    );
    assert_eq!(
        decide("GET", "/api/products/%2e%2e/admin/users", Some(&seller)).status,
        403
    );
    assert_eq!(
        decide("GET", "/api/products/..%2fadmin", Some(&seller)).status,
        400
    );
    let r = decide("GET", "/api/orders/1", None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="api""#));
    let r = decide("GET", "https://shop.example/api/products/1", None);
    assert_eq!(r.status, 200);
    assert!(r.header("x-user-id").is_none());
    assert_eq!(gw.get("/auth/decide", None, &[]).status, 400);
    assert!(up.seen().is_empty());
}
