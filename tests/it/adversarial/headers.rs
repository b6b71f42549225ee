//! Identity-header forgery (docs/REFERENCE.md#sec-headers): the headers the gateway sets from a
//! verified token, sent by the client in every casing, duplicated, in alias
//! spellings, under configured names, with and without a valid token. The
//! upstream must only ever see the gateway's values.

use super::*;

/// The default identity header names and the values an attacker wants.
const FORGED: &[(&str, &str)] = &[("X-User-Id", "1"), ("X-Username", "root"), ("X-User-Role", "ADMIN")];

/// Each spelling of `name` a client might try: case variants and alias characters.
fn spellings(name: &str) -> Vec<String> {
    let mut out = vec![name.to_owned(), name.to_ascii_lowercase(), name.to_ascii_uppercase()];
    let mixed: String = name
        .chars()
        .enumerate()
        .map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() })
        .collect();
    out.push(mixed);
    for alias in ['_', '.', '~', '+', '!', '*', '|', '^', '`', '#', '$', '&', '\''] {
        out.push(name.replace('-', &alias.to_string()));
    }
    out
}

/// Raw request lines forging every spelling of every header in `names`.
fn forged_lines(names: &[&str], value: &str) -> String {
    names
        .iter()
        .flat_map(|n| spellings(n))
        .map(|n| format!("{n}: {value}\r\n"))
        .collect()
}

/// Asserts no header the upstream saw carries `value` (the forged one).
fn assert_no_forged_value(up: &Upstream, value: &str) {
    for seen in up.seen() {
        for (k, v) in &seen.headers {
            assert!(v != value, "forged header {k}: {v} reached the upstream");
        }
    }
}

// Forged identity on a public route (no token): stripped in every casing and alias
// spelling. Django CVE-2015-0219 (underscore aliasing); Traefik aliasHeadersStrategy;
// OWASP ASVS V4.1.3.
#[test]
fn forged_identity_in_every_spelling_is_stripped_on_a_public_route() {
    let (up, gw) = start();
    let lines = forged_lines(&["X-User-Id", "X-Username", "X-User-Role"], "FORGED");
    let raw = gw.raw(format!("GET /api/products/1 HTTP/1.1\r\nHost: shop\r\n{lines}Connection: close\r\n\r\n").as_bytes());
    assert_eq!(status_of(&raw), 200, "{raw}");
    assert_eq!(up.seen().len(), 1);
    assert_no_forged_value(&up, "FORGED");
}

// Forged identity beside a valid token: only the verified values arrive, once each.
// docs/REFERENCE.md#sec-headers; OWASP ASVS V4.1.3 (trusted enforcement point).
#[test]
fn forged_identity_with_a_valid_token_is_replaced() {
    let (up, gw) = start();
    let lines = forged_lines(&["X-User-Id", "X-Username", "X-User-Role"], "FORGED");
    let token = access("9", "CUSTOMER");
    let raw = gw.raw(
        format!("GET /api/orders/9 HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\n{lines}Connection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status_of(&raw), 200, "{raw}");
    let seen = up.last();
    assert_eq!(seen.header_values("x-user-id"), vec!["9"]);
    assert_eq!(seen.header_values("x-username"), vec!["user9"]);
    assert_eq!(seen.header_values("x-user-role"), vec!["CUSTOMER"]);
    assert_no_forged_value(&up, "FORGED");
}

// Duplicated forged headers (same name repeated, mixed case, empty values) on a token
// without a role claim: none survives, not even as an extra copy. Envoy
// CVE-2021-32777 (multiple values); RFC 9110 §5.3.
#[test]
fn duplicated_forged_headers_do_not_survive_as_extra_copies() {
    let (up, gw) = start();
    // simplejwt-shaped token: no role claim, so the gateway sets no role header.
    let token = sign_hs256(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(r#"{{"token_type":"access","exp":{},"iat":{},"jti":"0123456789abcdef0123456789abcdef","user_id":"9"}}"#, now() + 600, now()),
        SIGNING_KEY,
    );
    let raw = gw.raw(
        format!(
            "GET /api/orders/9 HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\n\
             X-User-Role: ADMIN\r\nx-user-role: ADMIN\r\nX-USER-ROLE: ADMIN\r\nX-User-Role:\r\n\
             X-Username: root\r\nX-Username: root\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status_of(&raw), 200, "{raw}");
    let seen = up.last();
    assert!(seen.header_values("x-user-role").is_empty(), "{seen:?}");
    assert!(seen.header_values("x-username").is_empty(), "{seen:?}");
    assert_eq!(seen.header_values("x-user-id"), vec!["9"]);
}

// Underscore variants specifically (X_User_Id, x_user_role, X-User_Id): WSGI/CGI map
// them onto HTTP_X_USER_ID. Django CVE-2015-0219; gunicorn 22 change; nginx
// `underscores_in_headers off`.
#[test]
fn underscore_variants_never_reach_the_upstream() {
    let (up, gw) = start();
    let token = access("9", "CUSTOMER");
    let r = gw.get(
        "/api/orders/9",
        Some(&token),
        &[("X_User_Id", "1"), ("x_user_role", "ADMIN"), ("X-User_Id", "1"), ("X_USERNAME", "root"), ("X-User_Role", "ADMIN")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = up.last();
    for (k, v) in &seen.headers {
        let folded = k.to_ascii_lowercase().replace('_', "-");
        if ["x-user-id", "x-username", "x-user-role"].contains(&folded.as_str()) {
            assert!(k.contains('-') && !k.contains('_'), "alias {k}: {v} reached the upstream");
        }
    }
    assert_eq!(seen.header_values("x-user-id"), vec!["9"]);
    assert_eq!(seen.header_values("x-user-role"), vec!["CUSTOMER"]);
}

// Headers the config names (identity_headers renamed to X-Auth-Uid / X-Auth-Name /
// X-Auth-Role) are forged in every spelling: stripped just like the defaults.
// docs/REFERENCE.md#sec-headers; Traefik CVE-2024-45410 (headers the proxy sets must be the proxy's).
#[test]
fn configured_identity_header_names_are_stripped_in_every_spelling() {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &up.addr, &adversarial_routes(), "").replace(
        "identity_headers:\n  user_id: X-User-Id\n  username: X-Username\n  role: X-User-Role\n",
        "identity_headers:\n  user_id: X-Auth-Uid\n  username: X-Auth-Name\n  role: X-Auth-Role\n",
    );
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let lines = forged_lines(&["X-Auth-Uid", "X-Auth-Name", "X-Auth-Role"], "FORGED");
    let raw = gw.raw(format!("GET /api/products/1 HTTP/1.1\r\nHost: shop\r\n{lines}Connection: close\r\n\r\n").as_bytes());
    assert_eq!(status_of(&raw), 200, "{raw}");
    assert_no_forged_value(&up, "FORGED");
    let token = access("9", "SELLER");
    let raw = gw.raw(
        format!("GET /api/seller/x HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\n{lines}Connection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status_of(&raw), 200, "{raw}");
    let seen = up.last();
    assert_eq!(seen.header_values("x-auth-uid"), vec!["9"]);
    assert_eq!(seen.header_values("x-auth-role"), vec!["SELLER"]);
    assert_no_forged_value(&up, "FORGED");
}

// Connection-nominated removal: `Connection: X-User-Id, X-User-Role` must not delete
// the headers the gateway adds. Traefik CVE-2021-32813; RFC 9110 §7.6.1.
#[test]
fn connection_nominated_identity_headers_are_still_set() {
    let (up, gw) = start();
    let token = access("9", "SELLER");
    let raw = gw.raw(
        format!(
            "GET /api/seller/x HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\n\
             Connection: X-User-Id, X-Username, X-User-Role, X-Request-Id, Authorization\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status_of(&raw), 200, "{raw}");
    let seen = up.last();
    assert_eq!(seen.header_values("x-user-id"), vec!["9"]);
    assert_eq!(seen.header_values("x-user-role"), vec!["SELLER"]);
    assert_eq!(seen.header_values("x-request-id").len(), 1);
}

// A refused request with forged identity never reaches the upstream at all (the
// forgery cannot ride on a 401/403). OWASP ASVS V4.1.5 (fail securely).
#[test]
fn forged_identity_on_a_refused_request_reaches_nothing() {
    let (up, gw) = start();
    assert_eq!(gw.get("/api/admin/users", None, FORGED).status, 401);
    assert_eq!(gw.get("/api/admin/users", Some(&access("5", "SELLER")), FORGED).status, 403);
    assert_eq!(gw.get("/api/admin/users", Some(&expired("1", "ADMIN")), FORGED).status, 401);
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// Header names with whitespace before the colon (`X-User-Role : ADMIN`) are a
// parser differential: rejected, or at least never forwarded. RFC 9112 §5.1
// ("No whitespace is allowed between the field name and colon ... MUST reject");
// PortSwigger "HTTP request smuggling" (header name obfuscation).
#[test]
fn whitespace_before_the_colon_is_rejected() {
    let (up, gw) = start();
    let raw = gw.raw(b"GET /api/products/1 HTTP/1.1\r\nHost: shop\r\nX-User-Role : ADMIN\r\nX-User-Id\t: 1\r\nConnection: close\r\n\r\n");
    assert_eq!(status_of(&raw), 400, "{raw}");
    assert_no_forged_value(&up, "ADMIN");
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// Forged headers on the identity endpoints themselves (never proxied, and the
// response never echoes them as identity). OWASP ASVS V4.1.3.
#[test]
fn forged_identity_on_auth_endpoints_is_ignored() {
    let (up, gw) = start();
    let r = gw.get("/auth/me", None, FORGED);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(up.seen().is_empty());
}

// A client-chosen X-Request-Id is reflected in the response and sent upstream: one
// that carries markup, separators or 10 KB is replaced, never echoed. CWE-113 / CWE-117
// (log injection); OWASP Logging CS ("sanitise event data").
#[test]
fn hostile_request_ids_are_replaced() {
    let (up, gw) = start();
    let long = "a".repeat(10_000);
    for id in ["<script>alert(1)</script>", "a b", "x\"},{\"admin\":true", "%0d%0aSet-Cookie:x", long.as_str(), "id;rm -rf"] {
        let r = gw.get("/api/products/1", None, &[("X-Request-Id", id)]);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_ne!(r.header("x-request-id"), Some(id), "reflected: {id:.40}");
        assert_ne!(up.last().header("x-request-id"), Some(id), "forwarded: {id:.40}");
    }
}

// Identity headers smuggled as chunked trailer fields (announced with `Trailer:`):
// a backend that merges trailers into headers must not receive them. RFC 9110 §6.5.1
// ("MUST NOT ... merge a trailer field into the header section unless ... allowed");
// PortSwigger "HTTP/2: the sequel is always worse" (trailer-based injection).
#[test]
fn identity_headers_in_chunked_trailers_do_not_arrive() {
    let (up, gw) = start();
    let raw = gw.raw(
        b"POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nTrailer: X-User-Role, X-User-Id\r\n\
          Connection: close\r\n\r\n5\r\nhello\r\n0\r\nX-User-Role: ADMIN\r\nX-User-Id: 1\r\nX_User_Role: ADMIN\r\n\r\n",
    );
    assert!(matches!(status_of(&raw), 200 | 400), "{raw}");
    for seen in up.seen() {
        assert!(seen.header_values("x-user-role").is_empty(), "{seen:?}");
        assert!(seen.header_values("x_user_role").is_empty(), "{seen:?}");
        assert!(seen.header_values("x-user-id").is_empty(), "{seen:?}");
    }
}

/// Forwarding headers a client might forge, with values a backend would act on.
const FORGED_FORWARDING: &str = "X-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 127.0.0.1\r\n\
    X-Forwarded-Proto: https\r\nX-Forwarded-Host: admin.internal\r\nX-Forwarded-Port: 443\r\n\
    X-Real-IP: 10.0.0.1\r\nForwarded: for=10.0.0.1;proto=https\r\nX_Forwarded_Proto: https\r\n\
    X.Forwarded.For: 10.0.0.1\r\n";

// Forwarding headers from a client that is not a trusted proxy: a backend that
// believes X-Forwarded-For (IP allow-lists, audit, rate limits) or
// X-Forwarded-Proto (Django SECURE_PROXY_SSL_HEADER: "is this HTTPS?") would be
// lied to. The upstream gets the real peer address and scheme, nothing the client
// wrote (no X-Forwarded-Proto on a plain listener: its absence means http). CWE-348 (use of less trusted source); Oathkeeper GHSA-vhr5-ggp3-qq85
// (X-Forwarded-Proto trusted without trust_forwarded_headers); Traefik
// forwardedHeaders.trustedIPs.
#[test]
fn forwarding_headers_from_an_untrusted_client_are_replaced_by_the_truth() {
    let (up, gw) = start();
    for token in [None, Some(access("9", "CUSTOMER"))] {
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let path = if auth.is_empty() { "/api/products/1" } else { "/api/orders/9" };
        let raw = gw.raw(
            format!("GET {path} HTTP/1.1\r\nHost: shop\r\n{auth}{FORGED_FORWARDING}Connection: close\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(status_of(&raw), 200, "{raw}");
        let seen = up.last();
        assert_eq!(seen.header_values("x-forwarded-for"), vec!["127.0.0.1"], "{:?}", seen.headers);
        for gone in ["x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip", "forwarded", "x_forwarded_proto", "x.forwarded.for"] {
            assert!(seen.header_values(gone).is_empty(), "{gone} reached the upstream: {:?}", seen.headers);
        }
        assert_no_forged_value(&up, "https");
        assert_no_forged_value(&up, "admin.internal");
    }
}

// The same headers from a peer in `server.trusted_proxies` (a load balancer in
// front of the gateway): its chain is kept and the peer appended, its scheme kept.
// RFC 7239 §5.2 and the de-facto X-Forwarded-For append convention (MDN).
#[test]
fn a_trusted_proxy_chain_is_kept_and_extended() {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &up.addr, &adversarial_routes(), "")
        .replace("server:\n  threads: 1\n", "server:\n  threads: 1\n  trusted_proxies: [127.0.0.1/32]\n");
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let raw = gw.raw(
        b"GET /api/products/1 HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 203.0.113.9\r\n\
          X-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&raw), 200, "{raw}");
    let seen = up.last();
    assert_eq!(seen.header_values("x-forwarded-for"), vec!["203.0.113.9, 127.0.0.1"]);
    assert_eq!(seen.header_values("x-forwarded-proto"), vec!["https"]);
    assert_eq!(seen.header_values("x-forwarded-host"), vec!["shop.example"]);
}

// Alias spellings of framing and hop-by-hop headers (`Transfer_Encoding`,
// `Content.Length`, `Keep~Alive`): a backend that folds `_` into `-` (WSGI,
// PHP, some Java servers) would read one as a second framing header beside
// the gateway's own. None may reach the upstream, on either proxy driver.
#[test]
fn alias_spellings_of_framing_headers_never_reach_the_upstream() {
    let (up, gw) = start();
    let names = ["Transfer-Encoding", "Content-Length", "Keep-Alive", "Proxy-Connection"];
    let lines: String = names
        .iter()
        .flat_map(|n| spellings(n))
        .filter(|s| s.contains(|c: char| !c.is_ascii_alphanumeric() && c != '-'))
        .map(|n| format!("{n}: FORGED\r\n"))
        .collect();
    assert!(lines.contains("Transfer_Encoding: FORGED") && lines.contains("Content.Length: FORGED"), "{lines}");
    for request in [
        format!("GET /api/products/1 HTTP/1.1\r\nHost: shop\r\n{lines}Connection: close\r\n\r\n"),
        format!("POST /api/inbox/1 HTTP/1.1\r\nHost: shop\r\n{lines}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"),
    ] {
        let raw = gw.raw(request.as_bytes());
        assert_eq!(status_of(&raw), 200, "{raw}");
    }
    assert_eq!(up.seen().len(), 2);
    assert_no_forged_value(&up, "FORGED");
}
