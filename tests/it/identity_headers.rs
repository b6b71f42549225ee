//! Identity headers: forged ones never reach the upstream, verified ones do
//! (docs/REFERENCE.md#headers, docs/REFERENCE.md#sec-headers).

use crate::common::*;

#[test]
fn upstream_receives_the_verified_identity() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let token = access("42", "SELLER");
    let r = gw.get("/api/seller/items", Some(&token), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = up.last();
    assert_eq!(seen.header("x-user-id"), Some("42"));
    assert_eq!(seen.header("x-username"), Some("user42"));
    assert_eq!(seen.header("x-user-role"), Some("SELLER"));
    // forward_authorization defaults to true: the backend can re-check the token.
    assert_eq!(seen.header("authorization"), Some(format!("Bearer {token}").as_str()));
    let rid = seen.header("x-request-id").expect("request id sent upstream");
    assert_eq!(r.header("x-request-id"), Some(rid));
}

#[test]
fn forged_identity_headers_never_reach_the_upstream() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let forged: &[(&str, &str)] = &[
        ("X-User-Id", "1"),
        ("x-user-role", "ADMIN"),
        ("X-USERNAME", "root"),
        ("X_User_Id", "1"),
        ("X.User.Role", "ADMIN"),
        ("X-Original-URL", "/api/admin/users"),
        ("X-HTTP-Method-Override", "DELETE"),
    ];
    // On a public route (no identity at all) ...
    assert_eq!(gw.get("/api/products/1", None, forged).status, 200);
    let seen = up.last();
    for (name, _) in forged {
        assert!(seen.header_values(name).is_empty(), "{name} reached the upstream: {seen:?}");
    }
    // ... and on a protected one, where only the verified values arrive.
    assert_eq!(gw.get("/api/orders/9", Some(&access("9", "CUSTOMER")), forged).status, 200);
    let seen = up.last();
    assert_eq!(seen.header_values("x-user-id"), vec!["9"]);
    assert_eq!(seen.header_values("x-user-role"), vec!["CUSTOMER"]);
    assert!(seen.header_values("x_user_id").is_empty());
    assert!(seen.header_values("x.user.role").is_empty());
}

#[test]
fn duplicated_forged_headers_and_connection_nomination_are_handled() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let token = access("9", "CUSTOMER");
    let req = format!(
        "GET /api/orders/9 HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\n\
         X-User-Role: ADMIN\r\nX-User-Role: ADMIN\r\nx-user-id: 1\r\n\
         Connection: close, X-User-Id, X-User-Role, X-Request-Id\r\n\r\n"
    );
    let raw = gw.raw(req.as_bytes());
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    let seen = up.last();
    assert_eq!(seen.header_values("x-user-role"), vec!["CUSTOMER"]);
    assert_eq!(seen.header_values("x-user-id"), vec!["9"]);
    assert_eq!(seen.header_values("x-request-id").len(), 1);
}

#[test]
fn well_formed_client_request_id_is_kept_and_bad_one_replaced() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    gw.get("/api/products/1", None, &[("X-Request-Id", "client-abc-123")]);
    assert_eq!(up.last().header("x-request-id"), Some("client-abc-123"));
    gw.get("/api/products/1", None, &[("X-Request-Id", "bad id with spaces")]);
    let minted = up.last().header("x-request-id").unwrap().to_owned();
    assert_eq!(minted.len(), 32, "{minted}");
}
