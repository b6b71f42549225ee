//! Table-driven compile tests: YAML in, compiled value or located error out.

use std::path::Path;

use crate::load_str;

const KEY: &str = "compile-test-key-0123456789abcdef0123456789abcdef";

fn base(extra: &str) -> String {
    format!(
        r#"listen: {{ proxy: 127.0.0.1:8080, admin: 127.0.0.1:9901 }}
upstreams:
  shop: {{ servers: [127.0.0.1:9000] }}
tokens:
  algorithm: HS256
  signing_key: ${{KEY}}
roles: [ADMIN, SELLER, CUSTOMER]
routes:
  - name: catalogue
    match: {{ path: /api/products/**, methods: [GET] }}
    allow: public
    upstream: shop
  - name: admin
    match: {{ path: /api/admin/** }}
    allow: [ADMIN]
    upstream: shop
{extra}"#
    )
}

fn env(name: &str) -> Option<String> {
    (name == "KEY").then(|| KEY.to_owned())
}

fn errors_of(yaml: &str) -> Vec<String> {
    match load_str(Path::new("gw.yaml"), yaml, &env) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn minimal_config_compiles_with_defaults() {
    let config = load_str(Path::new("gw.yaml"), &base(""), &env).unwrap();
    assert_eq!(config.rules.rules().len(), 2);
    assert_eq!(config.auth.prefix, "/auth");
    assert_eq!(config.auth.self_register_roles, vec!["CUSTOMER".to_owned()]);
    assert_eq!(config.identity_headers.user_id.as_str(), "x-user-id");
    assert_eq!(config.default_upstream, Some(0));
    assert!(config.forward_authorization);
    assert_eq!(config.tokens.access_ttl.as_secs(), 3600);
    assert_eq!(config.tokens.refresh_ttl.as_secs(), 7 * 86400);
}

#[test]
fn semantic_errors_are_all_reported_with_positions() {
    let yaml = base(
        r#"  - name: broken
    match: { path: /x/** }
    allow: [ADMNI]
    upstream: nowhere
default_upstream: shop
auth: { self_register_roles: [ADMIN] }
"#,
    );
    let errors = errors_of(&yaml);
    let expect = [
        ("gw.yaml:19:12:", "routes[2].allow: unknown role \"ADMNI\""),
        ("gw.yaml:20:15:", "routes[2].upstream: no upstream named \"nowhere\""),
        ("gw.yaml:22:31:", "ADMIN can never be self-registered"),
    ];
    for (pos, text) in expect {
        assert!(
            errors.iter().any(|e| e.starts_with(pos) && e.contains(text)),
            "missing {pos} {text} in {errors:#?}"
        );
    }
}

#[test]
fn servers_may_be_addresses_or_host_names() {
    use crate::ServerAddr;
    let yaml = base("").replacen(
        "servers: [127.0.0.1:9000] }",
        "servers: [backend:9000, api.internal.example.:8443, \"[::1]:9001\", 10.0.0.7:80], dns_refresh: 10s }",
        1,
    );
    let config = load_str(Path::new("gw.yaml"), &yaml, &env).unwrap();
    let shop = &config.upstreams[0];
    let shown: Vec<String> = shop.servers.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["backend:9000", "api.internal.example.:8443", "[::1]:9001", "10.0.0.7:80"]);
    assert!(matches!(&shop.servers[0], ServerAddr::Name { host, port: 9000 } if host == "backend"));
    assert!(matches!(shop.servers[3], ServerAddr::Ip(_)));
    assert_eq!(shop.dns_refresh.as_secs(), 10);
    let default = load_str(Path::new("gw.yaml"), &base(""), &env).unwrap();
    assert_eq!(default.upstreams[0].dns_refresh.as_secs(), 30);
}

#[test]
fn table_of_rejected_values() {
    let cases: &[(&str, &str, &str)] = &[
        ("listen: { proxy: 127.0.0.1:8080, admin: 127.0.0.1:9901 }", "listen: { proxy: 127.0.0.1:8080, admin: 127.0.0.1:8080 }", "must differ"),
        ("servers: [127.0.0.1:9000]", "servers: [localhost]", "not IP:PORT or HOST:PORT"),
        ("servers: [127.0.0.1:9000]", "servers: [localhost:0]", "not IP:PORT or HOST:PORT"),
        ("servers: [127.0.0.1:9000]", "servers: [localhost:70000]", "not IP:PORT or HOST:PORT"),
        ("servers: [127.0.0.1:9000]", "servers: [999.0.0.1:9000]", "not IP:PORT or HOST:PORT"),
        ("servers: [127.0.0.1:9000]", "servers: [-backend:9000]", "not IP:PORT or HOST:PORT"),
        ("servers: [127.0.0.1:9000]", "servers: [back_end:9000]", "not IP:PORT or HOST:PORT"),
        ("servers: [127.0.0.1:9000]", "servers: [\"back end:9000\"]", "not IP:PORT or HOST:PORT"),
        ("servers: [127.0.0.1:9000]", "servers: [\"::1:9000\"]", "not IP:PORT or HOST:PORT"),
        ("servers: [127.0.0.1:9000] }", "servers: [backend:9000], dns_refresh: 0s }", "dns_refresh: must be more than 0s"),
        ("servers: [127.0.0.1:9000]", "servers: []", "at least one server"),
        ("signing_key: ${KEY}", "signing_key: short", "tokens.signing_key"),
        ("algorithm: HS256", "algorithm: RS256", "public_key_file"),
        // An HMAC key never comes from a key file: a public key must not become a
        // secret (key confusion). Reached only by the config fuzzer until session 5.
        ("signing_key: ${KEY}", "signing_key: ${KEY}\n  public_key_file: k.pub.pem", "tokens.algorithm: an HS* algorithm takes signing_key, never key files"),
        ("signing_key: ${KEY}", "signing_key: ${KEY}\n  previous_keys:\n    - { kid: old, algorithm: HS256, public_key_file: k.pub.pem }", "tokens.previous_keys[0].algorithm: an HS* algorithm takes signing_key"),
        ("signing_key: ${KEY}", "public_key_file: k.pub.pem", "never key files"),
        ("signing_key: ${KEY}", "kid: now", "tokens.signing_key: required for HS* algorithms"),
        ("path: /api/admin/**", "path: /api/**/admin", "routes[1].match.path"),
        ("methods: [GET]", "methods: [get]", "upper-case method"),
        ("name: admin", "name: catalogue", "unique"),
    ];
    for (from, to, needle) in cases {
        let yaml = base("").replacen(from, to, 1);
        assert_ne!(yaml, base(""), "case {from} did not apply");
        let errors = errors_of(&yaml);
        assert!(errors.iter().any(|e| e.contains(needle)), "{to}: expected {needle:?} in {errors:#?}");
    }
}

#[test]
fn policy_tests_need_a_known_role_and_a_request_line() {
    let errors = errors_of(&base(
        "tests:\n  - { request: \"GET /x\", role: ROOT, expect: allow }\n  - { request: \"/x\", anonymous: true, expect: deny }\n  - { request: \"GET /x\", expect: deny }\n",
    ));
    assert!(errors.iter().any(|e| e.contains("tests[0].role")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("tests[1].request")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("tests[2]")), "{errors:#?}");
}

#[test]
fn policy_tests_with_a_host_the_gateway_refuses_are_errors() {
    let errors = errors_of(&base(
        "tests:\n  - { request: \"GET /x\", anonymous: true, host: \"[shop.example:80\", expect: deny }\n  - { request: \"GET /x\", anonymous: true, host: \"shop.example:8443\", expect: deny }\n",
    ));
    assert!(errors.iter().any(|e| e.contains("tests[0].host") && e.contains("not host[:port]")), "{errors:#?}");
    assert!(!errors.iter().any(|e| e.contains("tests[1]")), "{errors:#?}");
}

#[test]
fn shadowed_route_is_a_warning_not_an_error() {
    let yaml = base(
        r#"  - name: shadowed
    match: { path: /api/admin/users }
    allow: [SELLER]
    upstream: shop
"#,
    );
    let config = load_str(Path::new("gw.yaml"), &yaml, &env).unwrap();
    assert!(
        config.warnings.iter().any(|w| w.to_string().contains("routes[2]")),
        "{:?}",
        config.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>()
    );
}

#[test]
fn rate_limit_and_argon2_compile_and_bad_values_are_located() {
    let config = load_str(Path::new("gw.yaml"), &base(""), &env).unwrap();
    assert_eq!(config.auth.rate_limit.max_attempts, 5);
    assert_eq!(config.auth.rate_limit.window.as_secs(), 60);
    assert_eq!(config.auth.argon2.memory_kib, 19456);
    let yaml = base(
        "auth:\n  rate_limit: { max_attempts: 9, window: 30s }\n  password: { argon2: { memory_kib: 8192, iterations: 3 } }\n",
    );
    let config = load_str(Path::new("gw.yaml"), &yaml, &env).unwrap();
    assert_eq!(config.auth.rate_limit.max_attempts, 9);
    assert_eq!(config.auth.rate_limit.window.as_secs(), 30);
    assert_eq!((config.auth.argon2.memory_kib, config.auth.argon2.iterations), (8192, 3));
    let errors = errors_of(&base(
        "auth:\n  rate_limit: { max_attempts: 0, window: soon }\n  password: { argon2: { memory_kib: 1 } }\n",
    ));
    for needle in ["auth.rate_limit.max_attempts", "auth.rate_limit.window", "auth.password.argon2"] {
        assert!(errors.iter().any(|e| e.contains(needle)), "{needle} in {errors:#?}");
    }
}

#[test]
fn a_shadow_route_is_left_out_of_the_enforced_rules_and_kept_in_the_shadow_policy() {
    let yaml = base(
        r#"  - name: catalogue-closed
    match: { path: /api/products/** }
    allow: deny
    mode: shadow
  - name: orders
    match: { path: /api/orders/** }
    allow: authenticated
    upstream: shop
"#,
    );
    let config = load_str(Path::new("gw.yaml"), &yaml, &env).unwrap();
    let enforced: Vec<&str> = config.rules.rules().iter().map(|r| r.name()).collect();
    assert_eq!(enforced, ["catalogue", "admin", "orders"]);
    let shadow = config.shadow.as_ref().unwrap();
    let all: Vec<&str> = shadow.rules.rules().iter().map(|r| r.name()).collect();
    assert_eq!(all, ["catalogue", "admin", "catalogue-closed", "orders"]);
    assert_eq!(shadow.origin, crate::ShadowOrigin::Routes(vec!["catalogue-closed".to_owned()]));
    // In the shadow policy the new rule comes after `catalogue` and only takes its
    // non-GET requests: a warning names it, at the shadow rule's position.
    let warnings: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("routes[2]") && w.contains("shadow policy") && w.contains("catalogue-closed")),
        "{warnings:?}"
    );
}

#[test]
fn enforced_warnings_point_at_their_route_despite_shadow_routes_before_it() {
    // `routes[2]` (a shadow route) sits before `routes[3]`; the enforced rule
    // `late-admin` is enforced index 2 but must be reported at routes[3].
    let yaml = base(
        r#"  - name: candidate
    match: { path: /api/orders/** }
    allow: [ADMIN]
    upstream: shop
    mode: shadow
  - name: late-admin
    match: { path: /api/admin/users }
    allow: public
    upstream: shop
"#,
    );
    let config = load_str(Path::new("gw.yaml"), &yaml, &env).unwrap();
    let warning = config
        .warnings
        .iter()
        .map(|w| w.to_string())
        .find(|w| w.contains("'late-admin'") && !w.contains("shadow policy"))
        .unwrap();
    assert!(warning.contains("routes[3]"), "{warning}");
}

#[test]
fn mode_shadow_is_refused_in_a_candidate_file_and_a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("candidate.yaml");
    std::fs::write(&candidate, "routes:\n  - name: x\n    match: { path: /x }\n    allow: public\n    upstream: shop\n    mode: shadow\n").unwrap();
    let yaml = base(&format!("shadow:\n  policy: {}\n", candidate.display()));
    let errors = errors_of(&yaml);
    assert!(errors.iter().any(|e| e.contains("candidate.yaml:6:") && e.contains("mode")), "{errors:?}");

    let yaml = base("shadow:\n  policy: /nonexistent/candidate.yaml\n");
    let errors = errors_of(&yaml);
    assert!(errors.iter().any(|e| e.contains("/nonexistent/candidate.yaml") && e.contains("cannot read")), "{errors:?}");
}

#[test]
fn the_retired_grace_period_key_loads_with_a_located_warning() {
    let yaml = format!("server:\n  grace_period: 30s\n{}", base(""));
    let config = load_str(Path::new("gw.yaml"), &yaml, &env).unwrap();
    let warnings: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("gw.yaml:2:") && w.contains("server.grace_period") && w.contains("graceful_shutdown_timeout")),
        "{warnings:#?}"
    );
    let without = load_str(Path::new("gw.yaml"), &base(""), &env).unwrap();
    assert!(without.warnings.iter().all(|w| !w.to_string().contains("grace_period")));
}

#[test]
fn inputs_list_the_key_and_shadow_files_read_with_their_digests() {
    use sha2::{Digest, Sha256};

    let dir = tempfile::tempdir().unwrap();
    let written = nexora_token::keygen(jsonwebtoken::Algorithm::EdDSA, &dir.path().join("keys")).unwrap();
    assert_eq!(written.len(), 2);
    let candidate = dir.path().join("candidate.yaml");
    std::fs::write(&candidate, "routes:\n  - name: x\n    match: { path: /x }\n    allow: public\n    upstream: shop\n").unwrap();
    let config_path = dir.path().join("gw.yaml");
    // Key files relative to the config's directory, the candidate absolute.
    let yaml = base(&format!("shadow:\n  policy: {}\n", candidate.display())).replace(
        "  algorithm: HS256\n  signing_key: ${KEY}\n",
        "  algorithm: EdDSA\n  private_key_file: keys/private.pem\n  public_key_file: keys/public.pem\n",
    );
    let config = load_str(&config_path, &yaml, &env).unwrap();
    let listed: Vec<_> = config.inputs.iter().map(|i| i.path.clone()).collect();
    assert_eq!(listed, vec![dir.path().join("keys/public.pem"), dir.path().join("keys/private.pem"), candidate.clone()]);
    for input in &config.inputs {
        let bytes = std::fs::read(&input.path).unwrap();
        assert_eq!(input.sha256, <[u8; 32]>::from(Sha256::digest(&bytes)), "{}", input.path.display());
    }

    // An HS256 config with no shadow file reads nothing besides itself.
    assert!(load_str(&config_path, &base(""), &env).unwrap().inputs.is_empty());
}

#[test]
fn redis_is_optional_and_checked_where_it_stands() {
    let config = load_str(Path::new("t.yaml"), &base(""), &env).unwrap();
    assert_eq!(config.redis, None);
    let config = load_str(Path::new("t.yaml"), &base("redis: { url: \"redis://10.0.0.5:6379/2\" }\n"), &env).unwrap();
    let redis = config.redis.unwrap();
    assert_eq!(redis.url, "redis://10.0.0.5:6379/2");
    assert_eq!(redis.key_prefix, "nexora:");
    assert_eq!(redis.timeout, std::time::Duration::from_millis(25));
    let errors = errors_of(&base("redis:\n  url: \"rediss://r:6380\"\n  key_prefix: \"a b\"\n  timeout: 0s\n"));
    for want in ["redis.url", "redis.key_prefix", "redis.timeout"] {
        assert!(errors.iter().any(|e| e.contains(want)), "{want} in {errors:?}");
    }
    let errors = errors_of(&base("redis: { url: \"http://r\" }\n"));
    assert!(errors.iter().any(|e| e.contains("redis.url")), "{errors:?}");
}

#[test]
fn the_request_deadlines_default_and_refuse_zero() {
    let config = load_str(Path::new("t.yaml"), &base(""), &env).unwrap();
    assert_eq!(config.server.request_header_timeout, std::time::Duration::from_secs(10));
    assert_eq!(config.server.request_body_timeout, std::time::Duration::from_secs(15));
    assert_eq!(config.server.keepalive_timeout, std::time::Duration::from_secs(60));
    let errors = errors_of(&base("server: { request_header_timeout: 0s, keepalive_timeout: 0s }\n"));
    assert!(errors.iter().any(|e| e.contains("server.request_header_timeout")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("server.keepalive_timeout")), "{errors:?}");
}

#[test]
fn a_public_listener_without_a_trusted_proxy_is_warned_about() {
    let warnings = |yaml: &str| -> Vec<String> {
        let config = load_str(Path::new("t.yaml"), yaml, &env).unwrap();
        config.warnings.iter().map(|w| w.to_string()).filter(|w| w.contains("trusted_proxies")).collect()
    };
    let public = base("").replace("proxy: 127.0.0.1:8080", "proxy: 0.0.0.0:8080");
    let found = warnings(&public);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("t.yaml:1:") && found[0].contains("warning:"), "{found:?}");
    assert!(warnings(&base("")).is_empty(), "loopback: nobody else can connect");
    let behind = format!("server: {{ trusted_proxies: [10.0.0.0/8] }}\n{public}");
    assert!(warnings(&behind).is_empty());
}

#[test]
fn issuers_compile_with_defaults_and_map_claims() {
    let yaml = base(
        r#"issuers:
  - name: keycloak
    issuer: https://kc.example.test/realms/shop
    discovery: true
    audiences: [shop-api]
    algorithms: [RS256, ES256]
    claims: { username: preferred_username, roles: realm_access.roles }
    claim_headers: { X-Tenant: tenant_id }
  - name: auth0
    issuer: https://shop.eu.auth0.example/
    jwks_uri: https://shop.eu.auth0.example/.well-known/jwks.json
    audiences: any
"#,
    );
    let config = load_str(Path::new("gw.yaml"), &yaml, &env).unwrap();
    let [kc, a0] = &config.issuers[..] else { panic!("two issuers") };
    assert_eq!(kc.keys, crate::KeySource::Discovery("https://kc.example.test/realms/shop/.well-known/openid-configuration".into()));
    assert_eq!(kc.verify.claims.user_id.to_string(), "sub");
    assert_eq!(kc.verify.claims.roles.as_ref().unwrap().to_string(), "realm_access.roles");
    assert_eq!(kc.verify.known_roles, ["ADMIN", "SELLER", "CUSTOMER"]);
    assert_eq!(kc.refresh, std::time::Duration::from_secs(600));
    assert_eq!(kc.cooldown, std::time::Duration::from_secs(30));
    assert_eq!(a0.verify.algorithms, [nexora_token::Algorithm::RS256]);
    assert_eq!(a0.verify.audiences, nexora_token::remote::Audiences::Any);
    // Claim headers are stripped from clients like the identity headers.
    assert_eq!(config.identity_headers.claim_headers(), [http::HeaderName::from_static("x-tenant")]);
}

#[test]
fn unsafe_or_incomplete_issuers_are_refused() {
    let issuer = |body: &str| base(&format!("issuers:\n  - name: idp\n    issuer: https://idp.example.test\n{body}"));
    let cases = [
        ("    jwks_uri: http://idp.example.test/jwks\n    audiences: any\n", "https:// only"),
        ("    jwks_uri: https://idp.example.test/jwks\n", "audiences"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: everyone\n", "the word `any`"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: []\n", "at least one"),
        ("    audiences: any\n", "discovery: true"),
        ("    discovery: true\n    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n", "not both"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    algorithms: [HS256]\n", "unknown variant"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    algorithms: [none]\n", "unknown variant"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    claims: { roles: \"a..b\" }\n", "claim path"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    claim_headers: { X-User-Role: groups }\n", "identity header"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    claim_headers: { Authorization: sub }\n", "owns"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    claim_headers: { X-Original-URL: sub }\n", "sets itself"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    claim_headers: { X_Forwarded_Prefix: sub }\n", "letters, digits"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    claim_headers: { x-user-id: sub }\n", "identity header"),
        ("    jwks_uri: http://127.0.0.1:80@evil.example/jwks\n    audiences: any\n", "https:// only"),
        ("    jwks_uri: http://localhost.evil.example/jwks\n    audiences: any\n", "https:// only"),
        ("    jwks_uri: https://idp.example.test/jwks\n    audiences: any\n    refresh: 1s\n", "at least"),
    ];
    for (body, expected) in cases {
        let errors = errors_of(&issuer(body));
        assert!(errors.iter().any(|e| e.contains(expected)), "{body}: expected {expected:?} in {errors:?}");
    }
    let twice = base(
        "issuers:\n  - { name: a, issuer: https://x.test, jwks_uri: https://x.test/k, audiences: any }\n  - { name: a, issuer: https://y.test, jwks_uri: https://y.test/k, audiences: any }\n",
    );
    assert!(errors_of(&twice).iter().any(|e| e.contains("used twice")), "{:?}", errors_of(&twice));
    let loopback = issuer("    jwks_uri: http://127.0.0.1:8080/jwks\n    audiences: any\n");
    assert_eq!(errors_of(&loopback), Vec::<String>::new());
}

#[test]
fn routes_may_require_scopes_and_an_audience_and_tests_may_grant_them() {
    let scoped = "  - name: writes\n    match: { path: /api/orders/** }\n    allow: authenticated\n    scopes: [orders:write, orders:write]\n    audience: https://api.example.test\n    upstream: shop\n";
    let tests = "tests:\n  - { request: \"POST /api/orders/1\", role: CUSTOMER, scopes: [orders:write], audience: https://api.example.test, expect: allow }\n  - { request: \"POST /api/orders/1\", role: CUSTOMER, audience: https://api.example.test, expect: deny }\n";
    let config = load_str(Path::new("gw.yaml"), &base(&format!("{scoped}{tests}")), &env).unwrap();
    let rule = &config.rules.rules()[2];
    assert_eq!(&*rule.requires().scopes, [Box::from("orders:write")], "each scope once");
    assert_eq!(rule.requires().audience.as_deref(), Some("https://api.example.test"));
    assert!(nexora_policy::run_cases(&config.rules, &config.roles, &config.tests).is_empty());

    let public = "  - name: open\n    match: { path: /open/** }\n    allow: public\n    scopes: [read]\n    upstream: shop\n";
    let errors = errors_of(&base(public));
    assert!(errors.iter().any(|e| e.contains("routes[2].allow") && e.contains("scopes and audience")), "{errors:#?}");
    let spaced = "  - name: w\n    match: { path: /w/** }\n    allow: authenticated\n    scopes: [\"read write\"]\n    upstream: shop\n";
    assert!(errors_of(&base(spaced)).iter().any(|e| e.contains("routes[2].scopes[0]")));
    let anonymous = "tests:\n  - { request: \"GET /x\", anonymous: true, scopes: [a], expect: deny }\n";
    assert!(errors_of(&base(anonymous)).iter().any(|e| e.contains("tests[0]") && e.contains("go with `role`")));
}

#[test]
fn upstream_protocols_and_listen_h2c_compile_and_mismatches_are_located() {
    let yaml = base("").replace(
        "  shop: { servers: [127.0.0.1:9000] }\n",
        "  shop: { servers: [127.0.0.1:9000], protocol: h2c }\n",
    ).replace("listen: { proxy: 127.0.0.1:8080, admin: 127.0.0.1:9901 }", "listen: { proxy: 127.0.0.1:8080, admin: 127.0.0.1:9901, h2c: true }");
    let config = load_str(Path::new("gw.yaml"), &yaml, &env).unwrap();
    assert_eq!(config.upstreams[0].protocol, crate::UpstreamProtocol::H2c);
    assert!(config.listen.h2c);
    assert_eq!(load_str(Path::new("gw.yaml"), &base(""), &env).unwrap().upstreams[0].protocol, crate::UpstreamProtocol::Http1);

    let with = |up: &str| errors_of(&base("").replace("  shop: { servers: [127.0.0.1:9000] }\n", &format!("  shop: {{ servers: [127.0.0.1:9000], {up} }}\n")));
    assert!(with("protocol: h2").iter().any(|e| e.contains("upstreams.shop.protocol") && e.contains("add `tls`")));
    assert!(with("protocol: auto").iter().any(|e| e.contains("upstreams.shop.protocol")));
    assert!(with("protocol: h2c, tls: { sni: shop.internal }").iter().any(|e| e.contains("upstreams.shop.protocol") && e.contains("use `h2`")));
    assert!(with("protocol: http2").iter().any(|e| e.contains("unknown variant")));
}
