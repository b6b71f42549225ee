//! Authentication and authorization on the proxy listener (docs/REFERENCE.md#request-flow).

use crate::common::*;

fn assert_401(reply: &Reply, code: &str) {
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.header("www-authenticate"), Some(r#"Bearer realm="api""#));
    assert_eq!(reply.json()["code"], code, "{}", reply.body);
}

#[test]
fn public_route_passes_through_without_a_token() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let r = gw.get("/api/products/42?page=2", None, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["upstream"], true);
    assert_eq!(up.last().target, "/api/products/42?page=2");
}

#[test]
fn missing_and_bad_tokens_get_401() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let path = "/api/orders/7";
    assert_401(&gw.get(path, None, &[]), "not_authenticated");
    assert_401(&gw.get(path, Some("not-a-jwt"), &[]), "token_not_valid");
    assert_401(&gw.get(path, Some(&expired("7", "CUSTOMER")), &[]), "token_not_valid");
    assert_401(&gw.get(path, Some(&refresh("7", "CUSTOMER")), &[]), "token_not_valid");
    assert_401(&gw.get(path, Some(&alg_none("7", "CUSTOMER")), &[]), "token_not_valid");
    assert_401(&gw.get(path, Some(&other_key("7", "CUSTOMER")), &[]), "token_not_valid");
    assert_401(&gw.get(path, None, &[("Authorization", "Basic dXNlcjpwYXNz")]), "not_authenticated");
    assert_401(&gw.get(path, None, &[("Authorization", "Bearer")]), "bad_authorization_header");
    let expired_reply = gw.get(path, Some(&expired("7", "CUSTOMER")), &[]);
    assert_eq!(expired_reply.json()["messages"][0]["message"], "Token is expired");
    let refresh_reply = gw.get(path, Some(&refresh("7", "CUSTOMER")), &[]);
    assert_eq!(refresh_reply.json()["messages"][0]["message"], "Token has wrong type");
    assert!(up.seen().is_empty(), "a refused request reached the upstream");
}

#[test]
fn tampered_payload_is_refused() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let token = access("7", "CUSTOMER");
    let parts: Vec<&str> = token.split('.').collect();
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(payload("access", "7", "ADMIN", now() as i64 + 3600));
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert_401(&gw.get("/api/admin/users", Some(&tampered), &[]), "token_not_valid");
    assert!(up.seen().is_empty());
}

#[test]
fn role_not_allowed_gets_403_and_allowed_role_passes() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let r = gw.get("/api/admin/users", Some(&access("5", "SELLER")), &[]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["code"], "permission_denied");
    assert_eq!(r.header("www-authenticate"), None);
    assert!(up.seen().is_empty());

    let r = gw.get("/api/admin/users", Some(&access("1", "ADMIN")), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = gw.get("/api/seller/orders", Some(&access("5", "SELLER")), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = gw.get("/api/seller/orders", Some(&access("6", "CUSTOMER")), &[]);
    assert_eq!(r.status, 403, "{}", r.body);
}

#[test]
fn deny_rule_and_default_deny_give_403() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let admin = access("1", "ADMIN");
    assert_eq!(gw.get("/api/closed/x", Some(&admin), &[]).status, 403);
    assert_eq!(gw.get("/nowhere", Some(&admin), &[]).status, 403);
    assert_eq!(gw.get("/nowhere", None, &[]).status, 403);
    // A deny rule refuses everyone without looking at a token, as `explain` and the
    // policy `tests:` say: no token, a broken one and a valid one all get 403.
    for token in [None, Some("not-a-jwt"), Some(admin.as_str())] {
        let r = gw.get("/api/closed/x", token, &[]);
        assert_eq!(r.status, 403, "{token:?}: {}", r.body);
        assert_eq!(r.json()["code"], "permission_denied", "{}", r.body);
    }
    // Methods are part of the match: POST to the GET-only catalogue is unmatched.
    assert_eq!(gw.request("POST", "/api/products/1", None, &[]).status, 403);
    assert!(up.seen().is_empty());
}

#[test]
fn owner_rule_lets_the_owner_and_listed_roles_in() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let own = gw.get("/api/users/42/mail/inbox", Some(&access("42", "CUSTOMER")), &[]);
    assert_eq!(own.status, 200, "{}", own.body);
    let other = gw.get("/api/users/43/mail/inbox", Some(&access("42", "CUSTOMER")), &[]);
    assert_eq!(other.status, 403, "{}", other.body);
    let admin = gw.get("/api/users/43/mail/inbox", Some(&access("1", "ADMIN")), &[]);
    assert_eq!(admin.status, 200, "{}", admin.body);
    // A numeric user_id claim (simplejwt < 5.5) is the same user.
    let numeric = sign_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(r#"{{"token_type":"access","exp":{},"iat":{},"jti":"0123456789abcdef0123456789abcdef","user_id":42,"role":"CUSTOMER"}}"#, now() + 600, now()),
        SIGNING_KEY,
    );
    assert_eq!(gw.get("/api/users/42/mail/x", Some(&numeric), &[]).status, 200);
}

#[test]
fn simplejwt_token_without_role_is_authenticated_only() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    // Exactly the claims simplejwt 5.5 puts in an access token: no role, no username.
    let token = sign_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(r#"{{"token_type":"access","exp":{},"iat":{},"jti":"efc4b90f904c405aab369bb712fdc985","user_id":"400"}}"#, now() + 600, now()),
        SIGNING_KEY,
    );
    assert_eq!(gw.get("/api/orders/1", Some(&token), &[]).status, 200);
    assert_eq!(up.last().header("x-user-id"), Some("400"));
    assert_eq!(up.last().header("x-user-role"), None);
    assert_eq!(gw.get("/api/admin/x", Some(&token), &[]).status, 403);
}

#[test]
fn head_request_gets_401_without_a_body() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let raw = gw.raw(b"HEAD /api/seller/orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(raw.starts_with("HTTP/1.1 401"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n"), "HEAD answer carried a body: {raw:?}");
}
