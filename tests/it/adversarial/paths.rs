//! Path, Host and method-override bypasses of protected routes (docs/REFERENCE.md#sec-paths
//! and #sec-headers): every spelling of the admin area, its request target and its host
//! must get the admin area's decision (or a 400), and the upstream must
//! receive exactly what was matched.

use super::*;

/// Asserts a path variant of the admin area is refused (400, or 401 anonymous /
/// 403 as SELLER) and nothing reached the upstream.
fn assert_no_bypass(gw: &Gateway, up: &Upstream, paths: &[&str]) {
    let seller = access("5", "SELLER");
    for path in paths {
        let anon = status_of(&raw_get(gw, path, None));
        assert!(anon == 400 || anon == 401 || anon == 403, "{path} anonymous: {anon}");
        let as_seller = status_of(&raw_get(gw, path, Some(&seller)));
        assert!(as_seller == 400 || as_seller == 403, "{path} as SELLER: {as_seller}");
    }
    assert!(up.seen().is_empty(), "a bypass reached the upstream: {:?}", up.seen());
}

/// Asserts every path is answered 400 without reaching the upstream.
fn assert_bad_request(gw: &Gateway, up: &Upstream, paths: &[&str]) {
    for path in paths {
        let raw = raw_get(gw, path, None);
        assert_eq!(status_of(&raw), 400, "{path}: {raw}");
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// Encoded dot segments from a public prefix. Envoy CVE-2019-9901; Traefik
// CVE-2025-32431; Oathkeeper GHSA-p224-6x5r-fjpm.
#[test]
fn encoded_dot_segments_do_not_escape_the_public_prefix() {
    let (up, gw) = start();
    assert_no_bypass(&gw, &up, &[
        "/api/products/../admin/users",
        "/api/products/%2e%2e/admin/users",
        "/api/products/%2E%2E/admin/users",
        "/api/products/.%2e/admin/users",
        "/api/products/%2e./admin/users",
        "/api/products/1/../../admin/users",
        "/api/products/%2e/../admin/users",
        "/api/admin/users/.",
        "/api/%2e/admin/users",
    ]);
}

// Double encoding stays literal: `%252e%252e` is never decoded twice into `..`.
// Symfony CVE-2012-6431; OWASP "Double Encoding"; docs/REFERENCE.md#sec-paths.
#[test]
fn double_encoded_dots_stay_literal() {
    let (up, gw) = start();
    let raw = raw_get(&gw, "/api/products/%252e%252e/admin/users", None);
    assert_eq!(status_of(&raw), 200, "{raw}");
    assert_eq!(up.last().target, "/api/products/%252e%252e/admin/users");
    up.clear();
    // From outside a public prefix the literal path is not public either.
    assert_no_bypass(&gw, &up, &["/api/%252e%252e/admin/users", "/%2561pi/admin/users"]);
}

// Escapes that are not UTF-8 — overlong forms of `.` and `/`, lone
// continuation bytes, surrogates, sequences cut short — from a public
// prefix: 400 with a JSON body, nothing at the upstream. A lenient decoder
// behind the gateway reads `%C0%AE%C0%AE` as `..` (CVE-2000-0884, Tomcat
// CVE-2008-2938).
#[test]
fn escapes_that_are_not_utf8_are_refused() {
    let (up, gw) = start();
    let paths = [
        "/api/products/%C0%AE%C0%AE/admin/x",
        "/api/products/%c0%ae%c0%ae/admin/x",
        "/api/products/%C0%AF..%C0%AFadmin",
        "/api/products/%E0%80%AE%E0%80%AE/admin",
        "/api/products/%80",
        "/api/products/%ED%A0%80",
        "/api/products/%F4%90%80%80",
        "/api/products/%E2%82",
        "/api/products/%C3x",
    ];
    assert_bad_request(&gw, &up, &paths);
    let raw = raw_get(&gw, paths[0], None);
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {raw}"));
    assert_eq!(json["code"], "bad_request", "{raw}");
    // Valid multi-byte escapes still pass, as they are.
    let raw = raw_get(&gw, "/api/products/caf%C3%A9", None);
    assert_eq!(status_of(&raw), 200, "{raw}");
    assert_eq!(up.last().target, "/api/products/caf%C3%A9");
}

// Encoded slashes and backslashes: 400, never decoded into separators.
// Envoy/Istio CVE-2021-29492 / CVE-2021-31920; Traefik GHSA-gm3x-23wp-hc2c.
#[test]
fn encoded_slashes_and_backslashes_are_refused() {
    let (up, gw) = start();
    assert_bad_request(&gw, &up, &[
        "/api/admin%2fusers",
        "/api/admin%2Fusers",
        "/api/products/..%2fadmin/users",
        "/api/products/..%2Fadmin/users",
        "/api/admin%5cusers",
        "/api/products/..%5cadmin/users",
        "/api/products/..%5Cadmin/users",
        "/api/products/..\\admin/users",
        "/api/products%2f..%2fadmin/users",
    ]);
}

// `;` path parameters: Tomcat/Spring read `..;` as `..` and drop `;x=1`.
// Spring StrictHttpFirewall; CVE-2020-1957 (Shiro `;` bypass); PortSwigger
// "Breaking parser logic" (Orange Tsai, 2018).
#[test]
fn semicolon_path_parameters_are_refused() {
    let (up, gw) = start();
    assert_bad_request(&gw, &up, &[
        "/api/admin;x=1/users",
        "/api/admin/users;x=1",
        "/api/products/..;/admin/users",
        "/api/products;/../admin/users",
        "/api/products/1;/../../admin/users",
    ]);
    // An encoded `;` is data (a segment named `admin;x`), not a parameter: it does
    // not match the admin rule, and must not open anything either.
    assert_no_bypass(&gw, &up, &["/api/admin%3bx/users", "/api/admin%3B/users"]);
}

// Case variants are not the public catalogue (patterns are case-sensitive, the
// default is deny). Spring CVE-2016-5007-class; Envoy/OWASP ASVS V4.1.
#[test]
fn case_variants_of_protected_and_public_paths_are_not_opened() {
    let (up, gw) = start();
    assert_no_bypass(&gw, &up, &["/API/admin/users", "/api/ADMIN/users", "/Api/Admin/Users"]);
    // A case variant of the public prefix falls to the default (deny), not to public.
    let raw = raw_get(&gw, "/API/products/1", None);
    assert_eq!(status_of(&raw), 403, "{raw}");
    assert!(up.seen().is_empty());
}

// Absolute-form request targets: matched on their path, and an authority that
// disagrees with Host is refused. RFC 9112 §3.2.2; PortSwigger "Cracking the lens"
// (James Kettle, 2017).
#[test]
fn absolute_form_targets_cannot_reach_the_admin_area() {
    let (up, gw) = start();
    for target in [
        "http://shop/api/admin/users",
        "http://shop/api/products/../admin/users",
        "http://evil/api/admin/users",
        "https://shop:443/api/admin/users",
    ] {
        let raw = gw.raw(format!("GET {target} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n").as_bytes());
        let s = status_of(&raw);
        assert!(s == 400 || s == 401, "{target}: {raw}");
    }
    // A public-looking Host does not make an admin target public.
    let raw = gw.raw(b"GET http://shop/api/admin/users HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer x\r\nConnection: close\r\n\r\n");
    assert!(matches!(status_of(&raw), 400 | 401), "{raw}");
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// Host header tricks: duplicate Host, userinfo, odd ports, an absolute-form
// authority that disagrees. RFC 9112 §3.2 ("MUST respond 400 ... more than one
// Host"); PortSwigger "HTTP Host header attacks".
#[test]
fn host_header_tricks_are_refused_or_harmless() {
    let (up, gw) = start();
    for host_lines in [
        "Host: shop\r\nHost: admin\r\n",
        "Host: user@shop\r\n",
        "Host: shop@evil\r\n",
        "Host: shop\r\nhost: shop\r\n",
    ] {
        let raw = gw.raw(format!("GET /api/products/1 HTTP/1.1\r\n{host_lines}Connection: close\r\n\r\n").as_bytes());
        assert_eq!(status_of(&raw), 400, "{host_lines:?}: {raw}");
    }
    let raw = gw.raw(b"GET http://other/api/products/1 HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n");
    assert_eq!(status_of(&raw), 400, "authority differs from Host: {raw}");
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    // A port or odd casing in Host changes nothing about the admin area.
    for host in ["shop:80", "SHOP", "shop:65535", "127.0.0.1"] {
        let raw = gw.raw(format!("GET /api/admin/users HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes());
        assert_eq!(status_of(&raw), 401, "{host}: {raw}");
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// X-Original-URL / X-Rewrite-URL: a public request line with an admin path in a
// header the backend framework would honour. Symfony CVE-2018-14773; PortSwigger
// Web Security Academy "URL-based access control can be circumvented".
#[test]
fn x_original_url_and_x_rewrite_url_are_not_forwarded() {
    let (up, gw) = start();
    for name in ["X-Original-URL", "X-Rewrite-URL", "x-original-url", "X_Original_URL"] {
        let r = gw.get("/api/products/1", None, &[(name, "/api/admin/users")]);
        assert_eq!(r.status, 200, "{}", r.body);
        let seen = up.last();
        assert_eq!(seen.target, "/api/products/1");
        assert!(
            seen.headers.iter().all(|(_, v)| !v.contains("/api/admin")),
            "{name} reached the upstream: {seen:?}"
        );
    }
}

// Method override headers: a GET that asks the backend to act as DELETE, and a
// POST that claims to be a GET to reach a GET-only public route. OWASP REST
// Security CS ("X-HTTP-Method-Override"); docs/REFERENCE.md#sec-headers.
#[test]
fn method_override_headers_are_stripped_and_ignored_by_the_policy() {
    let (up, gw) = start();
    let overrides = [("X-HTTP-Method-Override", "DELETE"), ("X-HTTP-Method", "DELETE"), ("X-Method-Override", "DELETE")];
    assert_eq!(gw.get("/api/products/1", None, &overrides).status, 200);
    let seen = up.last();
    for (name, _) in overrides {
        assert!(seen.header_values(name).is_empty(), "{name} reached the upstream");
    }
    up.clear();
    // The policy decides on the real method: POST to the GET-only catalogue is unmatched.
    let r = gw.request("POST", "/api/products/1", None, &[("X-HTTP-Method-Override", "GET")]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(up.seen().is_empty());
}

// X-Forwarded-Prefix and X-Forwarded-Uri from the client are not believed nor
// forwarded (Spring ForwardedHeaderFilter builds links and redirects from them).
// Traefik 2.11.14 migration note; oauth2-proxy GHSA-7x63-xv5r-3p2x.
#[test]
fn forwarded_prefix_is_not_forwarded() {
    let (up, gw) = start();
    let r = gw.get("/api/products/1", None, &[("X-Forwarded-Prefix", "/api/admin")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(up.last().header_values("x-forwarded-prefix").is_empty());
    up.clear();
    let r = gw.get("/api/admin/users", None, &[("X-Forwarded-Uri", "/api/products/1"), ("X-Forwarded-Prefix", "/api/products")]);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(up.seen().is_empty());
}

// Fragments in the request target: refused, or dropped before matching so that the
// decision and the forwarded target are those of the path without it — never a
// fragment matched one way and forwarded another. Envoy CVE-2021-32779; HAProxy
// CVE-2023-45539; RFC 9112 §3.2 (no fragment in request targets).
#[test]
fn fragments_in_the_target_do_not_change_the_decision() {
    let (up, gw) = start();
    assert_no_bypass(&gw, &up, &["/api/admin/users#x", "/api/admin/users#/../../products/1", "/api/products/x%23/../../admin/users"]);
    let raw = raw_get(&gw, "/api/products/1#/../../admin/users", None);
    match status_of(&raw) {
        400 => assert!(up.seen().is_empty()),
        200 => {
            let seen = up.last();
            assert_eq!(seen.target, "/api/products/1", "the fragment reached the upstream");
        }
        s => panic!("unexpected {s}: {raw}"),
    }
}

// NUL bytes, encoded or raw, and other control characters. Envoy CVE-2019-9900;
// Spring StrictHttpFirewall; Traefik GHSA-gm3x-23wp-hc2c.
#[test]
fn null_bytes_and_controls_are_refused() {
    let (up, gw) = start();
    assert_bad_request(&gw, &up, &["/api/products/%00/../../admin/users", "/api/admin/users%00", "/api/products/%0d%0aX-User-Role:%20ADMIN", "/api/products/%09"]);
    for raw_target in [&b"/api/products/\x00/../../admin"[..], b"/api/admin/users\x00.png", b"/api/products/\x01"] {
        let mut req = b"GET ".to_vec();
        req.extend_from_slice(raw_target);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n");
        let raw = gw.raw(&req);
        let s = status_of(&raw);
        assert!(s == 400 || s == 0, "{:?}: {raw}", String::from_utf8_lossy(raw_target));
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// Overlong UTF-8 encodings of `.` and `/` (`%c0%ae`, `%c0%af`, `%e0%80%ae`) are not
// decoded into separators: refused, or kept literal all the way to the upstream.
// CVE-2000-0884 (IIS overlong UTF-8 traversal); RFC 3629 §3 (overlong forms invalid).
#[test]
fn overlong_utf8_is_never_decoded_into_dots_or_slashes() {
    let (up, gw) = start();
    for path in [
        "/api/products/%c0%ae%c0%ae/admin/users",
        "/api/products/%c0%ae%c0%ae%c0%afadmin%c0%afusers",
        "/api/products/%e0%80%ae%e0%80%ae/admin/users",
        "/api/products/%u002e%u002e/admin/users",
    ] {
        let raw = raw_get(&gw, path, None);
        match status_of(&raw) {
            400 => {}
            200 => {
                let target = up.last().target.to_ascii_lowercase();
                assert!(target.starts_with("/api/products/") && !target.contains(".."), "{path} became {target}");
                assert_eq!(target, path.to_ascii_lowercase(), "{path} was rewritten");
            }
            s => panic!("{path}: unexpected {s}: {raw}"),
        }
    }
    assert!(up.seen().iter().all(|s| !s.target.starts_with("/api/admin")), "{:?}", up.seen());
}

// Merged slashes and an authority-looking path (`//evil/...`). OPA-Envoy
// CVE-2026-26205; Envoy/Istio CVE-2021-31920 (`//admin`).
#[test]
fn repeated_slashes_do_not_dodge_the_admin_rule() {
    let (up, gw) = start();
    assert_no_bypass(&gw, &up, &["//api/admin/users", "/api//admin/users", "/api/admin//users", "///api///admin///users", "//shop/api/admin/users"]);
}

// Dot segments that climb above the root are refused, not clamped into something
// else. RFC 3986 §5.2.4; CWE-22; docs/REFERENCE.md#sec-paths (`/../../etc/passwd`).
#[test]
fn climbing_above_the_root_is_refused() {
    let (up, gw) = start();
    assert_bad_request(&gw, &up, &["/../../etc/passwd", "/api/../../admin/users", "/%2e%2e/api/admin/users", "/.."]);
}

// Raw spaces, tabs and other bytes httparse would otherwise escape in the request
// line. nginx CVE-2013-4547 (unescaped space); Spring CVE-2016-5007 (trimmed space);
// RFC 9112 §3.2.
#[test]
fn raw_whitespace_in_the_request_line_does_not_bypass() {
    let (up, gw) = start();
    let token = access("5", "SELLER");
    for target in ["/api/admin /users", "/api/products/x /../../admin/users", "/api/admin\t/users", "/api/products/<x>/../../admin/users"] {
        let raw = gw.raw(
            format!("GET {target} HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let s = status_of(&raw);
        assert!(s == 400 || s == 403 || s == 0, "{target:?}: {raw}");
    }
    assert!(up.seen().iter().all(|s| !s.target.contains("admin")), "{:?}", up.seen());
}

// Asterisk-form and CONNECT targets are not routed into the policy's admin area or
// proxied as a tunnel. RFC 9112 §3.2.3/§3.2.4; RUSTSEC-2026-0033-class tunnelling.
#[test]
fn asterisk_and_connect_forms_are_refused() {
    let (up, gw) = start();
    let raw = gw.raw(b"OPTIONS * HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n");
    let s = status_of(&raw);
    assert!((400..500).contains(&s), "OPTIONS *: {raw}");
    let raw = gw.raw(b"CONNECT shop:80 HTTP/1.1\r\nHost: shop:80\r\nConnection: close\r\n\r\n");
    let s = status_of(&raw);
    assert!(s == 0 || (400..500).contains(&s) || s == 405, "CONNECT: {raw}");
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    assert_alive(&gw);
}

// Method spelling and unusual methods: methods are case-sensitive, so `get` is not
// the catalogue's GET; OPTIONS/TRACE on a protected route still need a token (no
// pre-flight bypass). RFC 9110 §9.1; Envoy jwt_authn CORS case; CVE-2010-0386 (TRACE).
#[test]
fn method_case_and_unusual_methods_do_not_widen_access() {
    let (up, gw) = start();
    for (method, path, want) in [
        ("get", "/api/products/1", 403),
        ("Get", "/api/products/1", 403),
        ("OPTIONS", "/api/admin/users", 401),
        ("TRACE", "/api/admin/users", 401),
        ("ADMIN", "/api/admin/users", 401),
        ("PROPFIND", "/api/orders/1", 403),
    ] {
        let raw = gw.raw(format!("{method} {path} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n").as_bytes());
        let s = status_of(&raw);
        assert!(s == want || s == 400 || s == 405, "{method} {path}: {raw}");
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// A token in the query string or a cookie is not a credential (only the header is),
// so it can neither leak through logs nor be planted by a link. RFC 6750 §2.3 / §5.3;
// OWASP ASVS V3.5.
#[test]
fn tokens_outside_the_authorization_header_are_ignored() {
    let (up, gw) = start();
    let token = access("1", "ADMIN");
    let r = gw.get(&format!("/api/admin/users?access_token={token}"), None, &[]);
    assert_eq!(r.status, 401, "{}", r.body);
    let r = gw.get("/api/admin/users", None, &[("Cookie", &format!("access_token={token}; sessionid={token}"))]);
    assert_eq!(r.status, 401, "{}", r.body);
    let r = gw.get("/api/admin/users", None, &[("X-Access-Token", &token), ("X-Auth-Token", &token)]);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(up.seen().is_empty());
}

// `Expect: 100-continue` on a protected route without a token: the final answer is
// the 401 and no body goes upstream (no 0.CL-style early-response desync).
// RFC 9110 §10.1.1; PortSwigger "HTTP/1.1 must die" (Kettle, 2025, Expect-based desync).
#[test]
fn expect_continue_does_not_let_a_body_past_the_check() {
    let (up, gw) = start();
    let body = "GET /api/admin/smuggled HTTP/1.1\r\nHost: shop\r\n\r\n";
    let raw = gw.raw(
        format!(
            "POST /api/admin/users HTTP/1.1\r\nHost: shop\r\nExpect: 100-continue\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let finals: Vec<u16> = statuses(&raw).into_iter().filter(|s| *s != 100).collect();
    assert_eq!(finals.first(), Some(&401), "{raw}");
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// Userinfo in an absolute-form target (`http://admin:x@shop/...`) is refused, not
// used for routing or credentials. RFC 9110 §4.2.4 ("MUST NOT ... userinfo");
// PortSwigger "Cracking the lens".
#[test]
fn userinfo_in_the_target_is_refused() {
    let (up, gw) = start();
    for target in ["http://admin:secret@shop/api/admin/users", "http://shop@evil/api/products/1", "http://@shop/api/products/1"] {
        let raw = gw.raw(format!("GET {target} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n").as_bytes());
        let s = status_of(&raw);
        assert!(s == 400 || s == 401, "{target}: {raw}");
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// An HTTP/1.1 request without Host, or with a Host that is not `host[:port]`
// (`shop/../admin`, spaces, a backslash), MUST get 400: a backend builds links,
// redirects and virtual-host routing from it. RFC 9112 §3.2; PortSwigger "HTTP Host
// header attacks" (password-reset poisoning).
#[test]
fn missing_or_malformed_host_is_refused() {
    let (up, gw) = start();
    for host_line in ["", "Host: shop/../admin\r\n", "Host: a b\r\n", "Host: shop\\evil\r\n", "Host: shop?x\r\n", "Host: evil.example/x\r\n"] {
        let raw = gw.raw(format!("GET /api/products/1 HTTP/1.1\r\n{host_line}Connection: close\r\n\r\n").as_bytes());
        assert_eq!(status_of(&raw), 400, "{host_line:?}: {raw}");
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    // Control: a well-formed Host, and HTTP/1.0 without one, pass.
    let raw = gw.raw(b"GET /api/products/1 HTTP/1.1\r\nHost: shop.example:8080\r\nConnection: close\r\n\r\n");
    assert_eq!(status_of(&raw), 200, "{raw}");
    let raw = gw.raw(b"GET /api/products/1 HTTP/1.0\r\n\r\n");
    assert_eq!(status_of(&raw), 200, "{raw}");
}

// Unicode look-alikes in the path (fullwidth `ａ`, a zero-width space, a combining
// mark) are other segments, never folded into `admin` by the gateway; under the
// default deny they open nothing. Unicode TR36 §3.1; CVE-2019-0221-class NFKC path
// confusion (Tomcat/IIS best-fit mappings, Orange Tsai "WorstFit", 2025).
#[test]
fn unicode_look_alike_segments_do_not_open_the_admin_area() {
    let (up, gw) = start();
    assert_no_bypass(&gw, &up, &[
        "/api/%EF%BD%81dmin/users",
        "/api/admin%E2%80%8B/users",
        "/api/a%CC%81dmin/users",
        "/api/%C3%A0dmin/users",
        "/api/%EF%BC%8Fadmin/users",
    ]);
}

/// A gateway whose first rule gives hosts matching `host_pattern` to ADMIN only, in
/// front of a catch-all public rule: a Host spelling that dodges the first rule is
/// answered 200 by the second.
fn start_behind_a_host_rule(host_pattern: &str) -> (Upstream, Gateway) {
    let up = Upstream::start(Behaviour::Ok);
    let policy = format!(
        r#"
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - name: admin-site
    match: {{ host: "{host_pattern}", path: /** }}
    allow: [ADMIN]
    upstream: shop
  - name: everything-else
    match: {{ path: /** }}
    allow: public
    upstream: shop
default: deny
"#
    );
    let gw = Gateway::start_with(&up, &policy, "auth:\n  prefix: /identity\n");
    (up, gw)
}

/// `GET /users` with `Host: {host}`, anonymous, over a raw socket.
fn get_users_on(gw: &Gateway, host: &str) -> String {
    gw.raw(format!("GET /users HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
}

// Host-restricted rules: every spelling of the protected virtual host (case, port,
// trailing dot, absolute-form authority) gets its rule, not the catch-all public
// rule behind it. RFC 9110 §4.2.3 (scheme-based normalisation: case, default
// port); PortSwigger "HTTP Host header attacks" (routing-based SSRF / vhost bypass).
#[test]
fn host_spellings_do_not_dodge_a_host_restricted_rule() {
    let (up, gw) = start_behind_a_host_rule("admin.example.com");
    for host in ["admin.example.com", "ADMIN.Example.COM", "admin.example.com:80", "admin.example.com:8443", "admin.example.com.", "admin.example.com.:80"] {
        let raw = get_users_on(&gw, host);
        assert_eq!(status_of(&raw), 401, "Host: {host}: {raw}");
    }
    let raw = gw.raw(b"GET http://admin.example.com/users HTTP/1.1\r\nHost: admin.example.com\r\nConnection: close\r\n\r\n");
    assert_eq!(status_of(&raw), 401, "absolute-form: {raw}");
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    // Control: another host is public.
    let raw = get_users_on(&gw, "www.example.com");
    assert_eq!(status_of(&raw), 200, "{raw}");
}

// A Host with a stray bracket or a second port (`[x.admin.example.com:80`) is not
// `host[:port]`: refused with 400 before the policy, never read as a name that a
// wildcard host rule fails to match, so never handed to the public rule behind it.
// The `path_policy` fuzz target found the policy reading `[x.exD` and `[X.EXD:8443`
// as different names. RFC 3986 §3.2.2 (IP-literal); RFC 9112 §3.2; PortSwigger
// "HTTP Host header attacks" (vhost bypass).
#[test]
fn malformed_bracket_and_port_hosts_do_not_dodge_a_wildcard_host_rule() {
    let (up, gw) = start_behind_a_host_rule("*.admin.example.com");
    for host in [
        "[x.admin.example.com:80", "[x.admin.example.com", "x.admin.example.com]", "[x].admin.example.com",
        "[::1]x.admin.example.com", "x.admin.example.com:80:80", "x.admin.example.com:http", "[]:80",
    ] {
        let raw = get_users_on(&gw, host);
        assert_eq!(status_of(&raw), 400, "Host: {host}: {raw}");
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    // Control: the well-formed spellings get the host rule, an IP literal the public one.
    for host in ["x.admin.example.com", "X.ADMIN.EXAMPLE.COM:8443"] {
        let raw = get_users_on(&gw, host);
        assert_eq!(status_of(&raw), 401, "Host: {host}: {raw}");
    }
    let raw = get_users_on(&gw, "[::1]:8443");
    assert_eq!(status_of(&raw), 200, "{raw}");
}

// Operational endpoints (/metrics, /healthz, /readyz) are not reachable through the
// proxy listener in any spelling: they stay on the admin listener. OWASP ASVS V14.3
// (unintended information leakage); CWE-200; Spring Boot actuator exposure class.
#[test]
fn admin_endpoints_are_not_served_on_the_proxy_port() {
    let (up, gw) = start();
    for path in ["/metrics", "/healthz", "/readyz", "/api/products/../../metrics", "/%6detrics", "//metrics"] {
        let raw = raw_get(&gw, path, None);
        assert!(!raw.contains("nexora_requests_total"), "{path} served metrics: {raw}");
        assert!(matches!(status_of(&raw), 400 | 401 | 403 | 404), "{path}: {raw}");
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    assert!(gw.metrics().contains("nexora_requests_total"), "control: metrics on the admin port");
}
