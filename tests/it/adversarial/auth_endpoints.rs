//! Abuse of the identity endpoints (docs/REFERENCE.md#sec-passwords, docs/REFERENCE.md#sec-rate-limits, docs/REFERENCE.md#sec-usernames): privilege escalation at
//! sign-up, injection-shaped input, hashing DoS, hostile bodies, enumeration
//! by timing and brute force. Runs on SQLite (the MariaDB variants of the
//! store behaviour live in tests/it/auth_*.rs).

use std::time::Instant;

use serde_json::json;

use super::*;
use crate::common::auth::{uniq, AuthGw, Db};

const STRONG: &str = "correct-horse-battery-staple-42";

fn gateway() -> AuthGw {
    AuthGw::start(&Db::Sqlite)
}

/// Asserts no stored account named like `name` has the ADMIN role.
fn assert_not_admin(gw: &AuthGw, name: &str) {
    if let Some(user) = gw.stored(name) {
        assert_ne!(user.role, "ADMIN", "{name:?} became an ADMIN");
    }
}

// Self-registration as ADMIN: privilege escalation by a request field.
// OWASP ASVS V4.1.2 / V4.2.1; OWASP Mass Assignment CS; CWE-269.
#[test]
fn self_registration_as_admin_is_refused() {
    let gw = gateway();
    let name = uniq("mallory");
    let r = gw.post("/auth/register", &json!({"username": name, "password": STRONG, "role": "ADMIN"}).to_string(), None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(gw.stored(&name).is_none(), "an account was created");
}

// ADMIN spelled differently: case, padding, zero-width and look-alike characters
// must not normalise into ADMIN after the check. OWASP ASVS V5.1.4; Unicode TR36
// §2 (confusables); CWE-178 (case sensitivity), CWE-176 (Unicode encoding).
#[test]
fn admin_role_spellings_never_create_an_admin() {
    let gw = gateway();
    for role in ["admin", "Admin", " ADMIN", "ADMIN ", "ADMIN\u{200b}", "ＡＤＭＩＮ", "ADMİN", "ΑDMIN", "ADMIN\u{0}", "[\"ADMIN\"]"] {
        let name = uniq("spell");
        let r = gw.post("/auth/register", &json!({"username": name, "password": STRONG, "role": role}).to_string(), None);
        assert!(r.status == 400 || r.status == 403, "role {role:?}: {} {}", r.status, r.body);
        assert!(gw.stored(&name).is_none(), "role {role:?} created an account");
    }
    // The role as a JSON array or object, not a string.
    for role in [json!(["ADMIN"]), json!({"name": "ADMIN"}), json!(1)] {
        let name = uniq("shape");
        let r = gw.post("/auth/register", &json!({"username": name, "password": STRONG, "role": role}).to_string(), None);
        assert!(r.status == 400 || r.status == 403, "role {role}: {} {}", r.status, r.body);
        assert_not_admin(&gw, &name);
    }
}

// Duplicate JSON keys: `role` CUSTOMER then ADMIN (and the reverse) must never yield
// an ADMIN, whichever occurrence a parser keeps. RFC 8259 §4 ("names SHOULD be
// unique"); Bishop Fox "An Exploration of JSON Interoperability Vulnerabilities" (2021).
#[test]
fn duplicate_json_keys_never_create_an_admin() {
    let gw = gateway();
    for (first, second) in [("CUSTOMER", "ADMIN"), ("ADMIN", "CUSTOMER")] {
        let name = uniq("dup");
        let body = format!(r#"{{"username":"{name}","password":"{STRONG}","role":"{first}","role":"{second}"}}"#);
        let r = gw.post("/auth/register", &body, None);
        assert!(matches!(r.status, 201 | 400 | 403), "{first},{second}: {} {}", r.status, r.body);
        assert_not_admin(&gw, &name);
    }
}

// SQL-shaped usernames and passwords: refused or stored literally, never a 500,
// never a login. OWASP SQL Injection Prevention CS; OWASP ASVS V5.3.4; CWE-89.
#[test]
fn sql_shaped_input_is_inert() {
    let gw = gateway();
    let victim = uniq("victim");
    gw.create_user(&victim, STRONG, "ADMIN");
    for (user, pass) in [
        (format!("{victim}' --"), "x".to_owned()),
        (format!("{victim}' OR '1'='1"), "x".to_owned()),
        ("' OR 1=1 --".to_owned(), "' OR 1=1 --".to_owned()),
        (victim.clone(), "' OR '1'='1".to_owned()),
        (victim.clone(), "x'); DROP TABLE users; --".to_owned()),
        (format!("{victim}\"; --"), "\" OR \"\"=\"".to_owned()),
    ] {
        let r = gw.login(&user, &pass);
        assert!(r.status == 401 || r.status == 400, "{user:?}/{pass:?}: {} {}", r.status, r.body);
    }
    // Registering an SQL-shaped name is refused or stores exactly that name.
    let shaped = "robert'); DROP TABLE users;--";
    let r = gw.register(shaped, STRONG);
    assert!(r.status == 201 || r.status == 400, "{} {}", r.status, r.body);
    // The store still works and the victim is intact.
    assert_eq!(gw.login(&victim, STRONG).status, 200);
}

// A 1 MB password: refused fast (413 for the body) and never hashed; a 10 KB one
// (inside the body limit, over `max_length`) likewise. Django CVE-2013-1443
// (long-password DoS); OWASP Password Storage CS; NIST SP 800-63B §3.1.1.2.
#[test]
fn huge_passwords_are_refused_without_hashing() {
    let gw = gateway();
    // The 413 comes from the declared length, before the body is read; the body is
    // not sent here, so the answer is not lost to a reset of unread bytes.
    let length = json!({"username": uniq("big"), "password": "p".repeat(1024 * 1024)}).to_string().len();
    for path in ["/auth/login", "/auth/register"] {
        let started = Instant::now();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        );
        let raw = exchange_with_timeout(&gw.gw.proxy_addr(), head.as_bytes(), Duration::from_secs(5));
        assert_eq!(status_of(&raw), 413, "{path}: {raw}");
        assert!(started.elapsed() < Duration::from_secs(5), "{path} took {:?}", started.elapsed());
    }
    let long = "p".repeat(10 * 1024);
    let name = uniq("long");
    let r = gw.register(&name, &long);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(gw.stored(&name).is_none());
    let r = gw.login(&name, &long);
    assert!(r.status == 400 || r.status == 401, "{}", r.body);
}

// Malformed JSON in many shapes: 400 with a JSON error, never 500. OWASP ASVS
// V13.1.1 / V5.1; RFC 8259.
#[test]
fn malformed_json_is_a_400() {
    let gw = gateway();
    for body in [r#"{"username": "x", "#, "{'username': 'x'}", "[]", "null", "\"x\"", r#"{"username": "x"} trailing"#, "\u{feff}{}", "{\"username\":\"\\ud800\"}"] {
        let r = gw.post("/auth/login", body, None);
        assert!(r.status == 400 || r.status == 401, "{body:?}: {} {}", r.status, r.body);
        r.json();
    }
}

// Bodies in content types the endpoints do not take: 415, not parsed some other
// way. OWASP ASVS V13.1.5 (content type validated); OWASP REST Security CS.
#[test]
fn wrong_content_types_are_refused() {
    let gw = gateway();
    let body = json!({"username": uniq("ct"), "password": STRONG}).to_string();
    for ct in ["text/plain", "multipart/form-data; boundary=x", "application/xml", "application/json-patch+json"] {
        let r = gw.send("POST", "/auth/register", ct, &body, None);
        assert_eq!(r.status, 415, "{ct}: {}", r.body);
    }
}

// Deeply nested JSON (100 000 levels): a parser stack overflow would kill the
// process. CVE-2022-24675-class recursion DoS; OWASP ASVS V13.1.1; serde_json
// recursion limit.
#[test]
fn deeply_nested_json_is_refused_without_a_crash() {
    let gw = gateway();
    for depth in [200, 30_000] {
        let body = format!(r#"{{"username":{}1{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let r = gw.post("/auth/login", &body, None);
        assert!(r.status == 400 || r.status == 413 || r.status == 401, "{depth}: {} {}", r.status, r.body);
        let nested = format!(r#"{}"x"{}"#, "{\"a\":".repeat(depth), "}".repeat(depth));
        let r = gw.post("/auth/register", &nested, None);
        assert!(r.status == 400 || r.status == 413, "{depth}: {} {}", r.status, r.body);
    }
    assert_eq!(gw.gw.get("/api/products/1", None, &[]).status, 200, "the gateway died");
}

// Usernames with controls, NUL, bidi overrides: refused or inert, never 500.
// OWASP ASVS V5.1.4; Unicode TR36 §3 (bidi spoofing); CVE-2021-42574 (Trojan Source).
#[test]
fn control_and_bidi_characters_in_usernames_are_refused() {
    let gw = gateway();
    for name in ["ali\u{0}ce", "ali\nce", "\u{202e}ecila", "al\u{7f}ice", "\t"] {
        let r = gw.register(name, STRONG);
        assert_eq!(r.status, 400, "{name:?}: {}", r.body);
        let r = gw.login(name, STRONG);
        assert!(r.status == 400 || r.status == 401, "{name:?}: {} {}", r.status, r.body);
    }
}

/// One timed login with a wrong password.
fn timed_login(gw: &AuthGw, user: &str) -> Duration {
    let started = Instant::now();
    let r = gw.login(user, "wrong-password-Zebra-7");
    assert_eq!(r.status, 401, "{}", r.body);
    started.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

// Enumeration by timing: an unknown user must cost about what a known user with a
// wrong password costs (a dummy hash). Django #20760; OWASP Authentication CS
// ("response time"); CWE-208. Generous factor: this is a security property, not a
// performance assertion.
#[test]
fn login_time_does_not_reveal_whether_a_user_exists() {
    let gw = gateway();
    let known = uniq("known");
    gw.create_user(&known, STRONG, "CUSTOMER");
    // Warm up both paths once.
    timed_login(&gw, &known);
    timed_login(&gw, &uniq("ghost"));
    // Alternate known and unknown so both see the same machine: hashing runs at nice 19,
    // so a busy neighbour stretches whichever login it overlaps.
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        known_times.push(timed_login(&gw, &known));
        unknown_times.push(timed_login(&gw, &uniq("ghost")));
    }
    let (known_t, unknown_t) = (median(known_times), median(unknown_times));
    let (fast, slow) = if known_t < unknown_t { (known_t, unknown_t) } else { (unknown_t, known_t) };
    assert!(
        slow < fast * 4 + Duration::from_millis(20),
        "known user {known_t:?} vs unknown user {unknown_t:?}: existence is visible in the timing"
    );
}

// Brute force: after `max_attempts` failures the endpoint answers 429 with
// Retry-After, even with the right password. OWASP ASVS V2.2.1; OWASP Credential
// Stuffing Prevention CS; NIST SP 800-63B §5.2.2; RFC 6585 §4.
#[test]
fn brute_force_is_throttled_with_retry_after() {
    let gw = AuthGw::start_with(&Db::Sqlite, "auth:\n  rate_limit: { max_attempts: 3, window: 1m }\n", "");
    let name = uniq("target");
    gw.create_user(&name, STRONG, "CUSTOMER");
    for i in 0..3 {
        assert_eq!(gw.login(&name, &format!("guess-{i}-xyzzy")).status, 401);
    }
    let r = gw.login(&name, STRONG);
    assert_eq!(r.status, 429, "{}", r.body);
    let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.json().get("access").is_none());
}

// Refresh and verify endpoints with forged tokens (alg none, an access token as a
// refresh token): 401, never a new token. RFC 8725 §3.1/§3.11; RFC 9700 §4.14.
#[test]
fn refresh_endpoint_refuses_forged_and_wrong_type_tokens() {
    let gw = gateway();
    for token in [alg_none("1", "ADMIN"), access("1", "ADMIN"), other_key("1", "ADMIN"), refresh("1", "ADMIN"), "x".repeat(20_000)] {
        let r = gw.post("/auth/refresh", &json!({"refresh": token}).to_string(), None);
        assert!(r.status == 401 || r.status == 400, "{:.30}: {} {}", token, r.status, r.body);
        assert!(r.json().get("access").is_none(), "{}", r.body);
    }
    let r = gw.post("/auth/verify", &json!({"token": alg_none("1", "ADMIN")}).to_string(), None);
    assert_eq!(r.status, 401, "{}", r.body);
}

// Identity endpoints are never proxied: traversal out of the prefix and look-alike
// prefixes reach neither the upstream nor a different handler. OWASP ASVS V4.1;
// CVE-2021-41773-class traversal.
#[test]
fn identity_prefix_tricks_do_not_reach_the_upstream() {
    let gw = gateway();
    for path in ["/auth/../api/admin/users", "/auth/%2e%2e/api/admin/users", "/auth/login/../../api/admin/users"] {
        let r = gw.gw.get(path, None, &[]);
        assert!(r.status == 400 || r.status == 401, "{path}: {} {}", r.status, r.body);
    }
    for path in ["/auth/register", "/auth//register", "/AUTH/register", "/auth/register;x"] {
        let r = gw.gw.request("GET", path, None, &[]);
        assert!(r.status < 500, "{path}: {}", r.status);
    }
    assert!(gw.up.seen().iter().all(|s| !s.target.contains("admin")), "{:?}", gw.up.seen());
}

// Password spraying from one address while rotating X-Forwarded-For: the header is
// only believed from trusted proxies, so the per-address budget still runs out.
// OWASP Credential Stuffing Prevention CS; CWE-348 (less trusted source);
// oauth2-proxy GHSA-7x63-xv5r-3p2x (trusted forwarded headers by default).
#[test]
fn rotating_x_forwarded_for_does_not_reset_the_address_budget() {
    let gw = AuthGw::start_with(&Db::Sqlite, "auth:\n  rate_limit: { max_attempts: 3, window: 1m }\n", "");
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = Reply::from(
            agent()
                .post(&format!("{}/auth/login", gw.gw.url))
                .set("Content-Type", "application/json")
                .set("X-Forwarded-For", &format!("203.0.113.{i}"))
                .set("X-Real-IP", &format!("198.51.100.{i}"))
                .send_string(&json!({"username": uniq("spray"), "password": "Winter2026!"}).to_string()),
        );
        statuses.push(r.status);
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429], "a forged X-Forwarded-For bought a fresh budget");
}

// The failure for an unknown user and for a known user with a wrong password is the
// same response (status, body, headers apart from ids and dates). OWASP
// Authentication CS ("generic error messages"); OWASP ASVS V2.2; CWE-204.
#[test]
fn login_failures_do_not_reveal_whether_a_user_exists() {
    let gw = gateway();
    let known = uniq("known");
    gw.create_user(&known, STRONG, "CUSTOMER");
    let inactive = uniq("inactive");
    let user = gw.create_user(&inactive, STRONG, "CUSTOMER");
    gw.with_store(move |s| {
        Box::pin(async move {
            let patch = nexora_gate::store::UserPatch { is_active: Some(false), ..Default::default() };
            s.users().update(user.id, patch, 1).await.unwrap();
        })
    });
    let shape = |r: &Reply| {
        let mut names: Vec<String> = r
            .headers
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .filter(|k| k != "date" && k != "x-request-id")
            .collect();
        names.sort();
        (r.status, r.body.clone(), names)
    };
    let a = shape(&gw.login(&known, "wrong-password-Zebra-7"));
    let b = shape(&gw.login(&uniq("ghost"), "wrong-password-Zebra-7"));
    let c = shape(&gw.login(&inactive, STRONG));
    assert_eq!(a.0, 401);
    assert_eq!(a, b, "unknown user answered differently");
    assert_eq!(a, c, "inactive user answered differently");
}

// A chunked body has no declared length to refuse up front: the 64 KiB cap must hold
// while reading, or one request buffers megabytes. CWE-400/CWE-770; OWASP ASVS
// V13.1.3 (request size limits); Django DATA_UPLOAD_MAX_MEMORY_SIZE.
#[test]
fn an_endless_chunked_body_is_cut_off_at_the_limit() {
    use std::io::{Read, Write};
    let gw = gateway();
    let mut s = std::net::TcpStream::connect(gw.gw.proxy_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = s.try_clone().unwrap();
    // 16 MiB in 64 KiB chunks; a reader with no cap would accept all of it.
    let sent_everything = std::thread::spawn(move || {
        let head = "POST /auth/login HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        writer.write_all(head.as_bytes())?;
        let chunk = format!("10000\r\n{}\r\n", "a".repeat(0x10000));
        for _ in 0..256 {
            writer.write_all(chunk.as_bytes())?;
        }
        writer.write_all(b"0\r\n\r\n")
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let raw = String::from_utf8_lossy(&out);
    let sent_everything = sent_everything.join().unwrap().is_ok();
    assert!(status_of(&raw) == 413 || !sent_everything, "16 MiB chunked body accepted: {raw}");
    if !raw.is_empty() {
        assert_eq!(status_of(&raw), 413, "{raw}");
    }
    assert_eq!(gw.gw.get("/api/products/1", None, &[]).status, 200);
}

// Forward-auth: forwarded request headers are believed only from trusted proxies,
// and the forwarded URI is normalised exactly like a proxied path. oauth2-proxy
// GHSA-7x63-xv5r-3p2x / CVE-2026-40575; Oathkeeper GHSA-vhr5-ggp3-qq85; docs/REFERENCE.md#sec-headers.
#[test]
fn forward_auth_trusts_only_configured_proxies_and_normalises_the_uri() {
    // AuthGw trusts 10.99.0.0/16 only: this test's 127.0.0.1 is untrusted.
    let untrusted = gateway();
    let r = untrusted.gw.get("/auth/decide", None, &[("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", "/api/products/1")]);
    assert_eq!(r.status, 403, "{}", r.body);

    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &up.addr, &adversarial_routes(), "")
        .replace("server:\n  threads: 1\n", "server:\n  threads: 1\n  trusted_proxies: [127.0.0.1/32]\n");
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let decide = |uri: &str, token: Option<&str>| {
        gw.get("/auth/decide", token, &[("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", uri)]).status
    };
    assert_eq!(decide("/api/products/1", None), 200, "control: a public path");
    let seller = access("5", "SELLER");
    for uri in ["/api/products/../admin/users", "/api/products/%2e%2e/admin/users", "http://shop/api/admin/users", "/api//admin/users"] {
        assert_eq!(decide(uri, None), 401, "{uri} anonymous");
        assert_eq!(decide(uri, Some(&seller)), 403, "{uri} as SELLER");
    }
    for uri in ["/api/admin%2fusers", "/api/products/..;/admin/users", "/../admin"] {
        let s = decide(uri, None);
        assert!(s == 400 || s == 401, "{uri}: {s}");
    }
    // Two forwarded URIs (one checked, another used): refused.
    let r = gw.get(
        "/auth/decide",
        None,
        &[("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", "/api/products/1"), ("x-forwarded-uri", "/api/admin/users")],
    );
    assert!(r.status == 400 || r.status == 401, "{} {}", r.status, r.body);
    // A forwarded host that is not `host[:port]` is refused, not matched as some
    // other name (the proxy's Host rule, RFC 9112 §3.2).
    let decide_on = |host: &str| {
        gw.get(
            "/auth/decide",
            None,
            &[("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", "/api/products/1"), ("X-Forwarded-Host", host)],
        )
    };
    for host in ["[x.example.com:80", "shop/../admin", "shop:80:80", "[::1]x"] {
        let r = decide_on(host);
        assert_eq!(r.status, 400, "X-Forwarded-Host: {host}: {}", r.body);
    }
    let r = decide_on("shop.example:8443");
    assert_eq!(r.status, 200, "control: a well-formed forwarded host: {}", r.body);
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

/// A look-alike of `name`: fullwidth, upper case, padded, dotless i.
fn look_alikes(name: &str) -> Vec<String> {
    let fullwidth: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c })
        .collect();
    vec![name.to_uppercase(), format!("{name} "), fullwidth, name.replace('i', "ı")]
}

// Username look-alikes (case, trailing space, fullwidth, dotless ı) never create a
// second account next to the original, nor log into a different one. "SQL column
// truncation" (Esser, 2008); MariaDB PAD SPACE collations; Unicode TR36 §2 / UTS #39;
// docs/REFERENCE.md#sec-usernames.
#[test]
fn username_look_alikes_never_make_a_second_account() {
    let gw = gateway();
    let victim = uniq("admin_victim");
    let original = gw.register(&victim, STRONG);
    assert_eq!(original.status, 201, "{}", original.body);
    let victim_id = original.json()["id"].clone();
    for alike in look_alikes(&victim) {
        let r = gw.register(&alike, "another-Long-passphrase-99");
        assert_eq!(r.status, 400, "{alike:?} registered next to {victim:?}: {}", r.body);
        let login = gw.login(&alike, STRONG);
        if login.status == 200 {
            let claims = crate::common::auth::claims_of(login.json()["access"].as_str().unwrap());
            assert_eq!(claims["user_id"].to_string().trim_matches('"'), victim_id.to_string().trim_matches('"'), "{alike:?}");
        } else {
            assert_eq!(login.status, 401, "{alike:?}: {}", login.body);
        }
    }
}

// The brute-force budget is per canonical account: cycling look-alike spellings of
// one name does not buy fresh attempts. OWASP ASVS V2.2.1; docs/REFERENCE.md#sec-rate-limits ("counter key
// normalisation"); MariaDB utf8mb4_general_ci equalities.
#[test]
fn look_alike_spellings_share_one_brute_force_budget() {
    // A large per-address budget, so only the per-name one can trip.
    let gw = AuthGw::start_with(&Db::Sqlite, "auth:\n  rate_limit: { max_attempts: 4, window: 1m }\n", "");
    let name = uniq("admin_target");
    gw.create_user(&name, STRONG, "CUSTOMER");
    for spelling in look_alikes(&name) {
        let r = gw.login(&spelling, "guess-xyzzy-1");
        assert_eq!(r.status, 401, "{spelling:?}: {}", r.body);
    }
    let r = gw.login(&name, STRONG);
    assert_eq!(r.status, 429, "look-alike spellings each got their own budget: {}", r.body);
    assert!(r.header("retry-after").is_some());
}

// Passwords (right or wrong) and issued tokens never reach the gateway's log.
// OWASP Logging CS ("never log ... passwords, session identifiers"); OWASP ASVS
// V7.1.1; CWE-532.
#[test]
fn passwords_and_issued_tokens_never_reach_the_log() {
    let gw = gateway();
    let name = uniq("logged");
    let wrong = "wrong-Passphrase-Kestrel-91";
    let r = gw.register(&name, STRONG);
    assert_eq!(r.status, 201, "{}", r.body);
    let r = gw.login(&name, wrong);
    assert_eq!(r.status, 401, "{}", r.body);
    let (access, refresh) = gw.tokens(&name, STRONG);
    std::thread::sleep(Duration::from_millis(300));
    let log = gw.gw.log();
    assert!(!log.is_empty(), "no log to inspect");
    let line_with = |secret: &str| log.lines().find(|line| line.contains(secret)).map(str::to_owned);
    for password in [STRONG, wrong] {
        assert_eq!(line_with(password), None, "a password is in the log");
    }
    for token in [&access, &refresh] {
        let signature = token.rsplit('.').next().unwrap();
        assert_eq!(line_with(signature), None, "an issued token is in the log");
    }
}

// Mass assignment at sign-up: fields a client must not set (`id`, `is_active`,
// `is_staff`, `is_superuser`, `password_hash`, `last_login`, `user_id`) are ignored or
// refused, never stored. OWASP Mass Assignment CS; OWASP API Security Top 10 2023
// API3 (broken object property level authorization); CWE-915.
#[test]
fn sign_up_cannot_set_protected_fields() {
    let gw = gateway();
    let first = gw.create_user(&uniq("first"), STRONG, "ADMIN");
    let name = uniq("mass");
    let body = json!({
        "username": name, "password": STRONG,
        "id": first.id, "user_id": first.id, "is_superuser": true, "is_staff": true,
        "password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "last_login": "2000-01-01T00:00:00Z", "date_joined": "2000-01-01T00:00:00Z", "groups": ["admin"]
    });
    let r = gw.post("/auth/register", &body.to_string(), None);
    assert!(r.status == 201 || r.status == 400, "{}", r.body);
    if r.status == 201 {
        let stored = gw.stored(&name).expect("created");
        assert_ne!(stored.id, first.id, "the client chose its id");
        assert_eq!(stored.role, "CUSTOMER");
        assert!(stored.password_hash.starts_with("$argon2id$v=19$m=19456"), "{}", stored.password_hash);
        assert_eq!(gw.login(&name, STRONG).status, 200);
    }
    // The first account is untouched.
    let still = gw.stored(&first.username).unwrap();
    assert_eq!((still.id, still.role.as_str()), (first.id, "ADMIN"));
}

// Broken object level authorization on the user API: a CUSTOMER reads, changes or
// promotes neither another user nor itself. OWASP API Security Top 10 2023 API1 /
// API5; OWASP ASVS V4.2.1; CWE-639.
#[test]
fn a_customer_cannot_read_or_promote_users() {
    let gw = gateway();
    let admin = gw.create_user(&uniq("boss"), STRONG, "ADMIN");
    let name = uniq("cust");
    let me = gw.create_user(&name, STRONG, "CUSTOMER");
    let (token, _) = gw.tokens(&name, STRONG);
    for (method, path, body) in [
        ("GET", format!("/auth/users/{}", admin.id), ""),
        ("GET", "/auth/users".to_owned(), ""),
        ("PATCH", format!("/auth/users/{}", me.id), r#"{"role":"ADMIN"}"#),
        ("PATCH", format!("/auth/users/{}", admin.id), r#"{"password":"taken-over-Passphrase-1"}"#),
        ("DELETE", format!("/auth/users/{}", admin.id), ""),
        ("POST", "/auth/users".to_owned(), r#"{"username":"sock","password":"sock-Puppet-Passphrase-1","role":"ADMIN"}"#),
    ] {
        let r = gw.send(method, &path, "application/json", body, Some(&token));
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    assert_eq!(gw.stored(&name).unwrap().role, "CUSTOMER");
    assert_eq!(gw.login(&admin.username, STRONG).status, 200, "the admin's password changed");
    assert!(gw.stored("sock").is_none());
}
