//! Path normalisation on the wire (docs/REFERENCE.md#path-normalisation, docs/REFERENCE.md#sec-paths): what is
//! matched is exactly what the upstream receives.

use crate::common::*;

#[test]
fn dot_segments_and_slashes_are_resolved_before_matching() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let seller = access("5", "SELLER");
    for path in [
        "/api/products/../admin/users",
        "/api/products/%2e%2e/admin/users",
        "/api/products/%2E%2e/admin/users",
        "/api//admin/users",
        "/api/./admin/users",
        "/api/%61dmin/users",
    ] {
        let r = raw_get(&gw, path, Some(&seller));
        assert!(r.starts_with("HTTP/1.1 403"), "{path} as SELLER: {r}");
        let r = raw_get(&gw, path, None);
        assert!(r.starts_with("HTTP/1.1 401"), "{path} anonymous: {r}");
    }
    assert!(up.seen().is_empty(), "a bypass reached the upstream: {:?}", up.seen());
    let admin = access("1", "ADMIN");
    let r = raw_get(&gw, "/api/products/../admin/users?x=1", Some(&admin));
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert_eq!(up.last().target, "/api/admin/users?x=1", "upstream must get the normalised path");
}

#[test]
fn encoded_separators_and_root_escapes_get_400() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    for path in [
        "/api/admin%2fusers",
        "/api/admin%2Fusers",
        "/api/admin%5cusers",
        "/api/products/..%2fadmin",
        "/../../etc/passwd",
        "/api/admin;x/users",
        "/api/products/..;/admin/users",
        "/api/products/%00",
        "/api/products/%0a",
    ] {
        let r = raw_get(&gw, path, None);
        assert!(r.starts_with("HTTP/1.1 400"), "{path}: {r}");
        assert!(r.contains(r#""code":"bad_request""#), "{path}: {r}");
    }
    assert!(up.seen().is_empty());
}

#[test]
fn double_encoding_stays_literal_and_case_matters() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let r = raw_get(&gw, "/api/products/%252e%252e/admin", None);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert_eq!(up.last().target, "/api/products/%252e%252e/admin");
    // Matching is case-sensitive: /API/... is not the public catalogue.
    let r = raw_get(&gw, "/API/products/1", None);
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
}

#[test]
fn absolute_form_target_is_matched_on_its_path() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let raw = gw.raw(b"GET http://shop/api/admin/users HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n");
    assert!(raw.starts_with("HTTP/1.1 401") || raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert!(up.seen().is_empty());
}

fn raw_get(gw: &Gateway, path: &str, token: Option<&str>) -> String {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    gw.raw(format!("GET {path} HTTP/1.1\r\nHost: shop\r\n{auth}Connection: close\r\n\r\n").as_bytes())
}
