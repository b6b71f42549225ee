//! `check` and `explain` (docs/REFERENCE.md#commands, docs/REFERENCE.md#policy-tests).

use crate::common::*;

fn base(policy: &str) -> String {
    config_yaml(18080, 19901, "127.0.0.1:9000", policy, "")
}

#[test]
fn check_accepts_a_good_config_and_runs_its_tests() {
    let policy = format!(
        "{SHOP_ROUTES}\ntests:\n  - {{ request: \"GET /api/admin/users\", role: SELLER, expect: deny }}\n  - {{ request: \"GET /api/products/42\", anonymous: true, expect: allow }}\n  - {{ request: \"GET /api/orders/1\", anonymous: true, expect: unauthenticated }}\n"
    );
    let (_dir, path) = write_config(&base(&policy));
    let out = run_cli(&["--config", path.to_str().unwrap(), "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok"), "{stdout}");
    assert!(stdout.contains("3 policy test(s) passed"), "{stdout}");
}

#[test]
fn check_fails_a_policy_test_and_names_the_deciding_rule() {
    let policy = format!("{SHOP_ROUTES}\ntests:\n  - {{ request: \"GET /api/admin/users\", role: SELLER, expect: allow }}\n");
    let (_dir, path) = write_config(&base(&policy));
    let out = run_cli(&["--config", path.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("admin-area"), "{stderr}");
}

#[test]
fn check_reports_every_error_with_line_and_column() {
    let broken = base(SHOP_ROUTES)
        .replace("allow: [ADMIN]\n", "allow: [ADMNI]\n")
        .replace("upstream: shop\n  - name: closed", "upstream: nowhere\n  - name: closed");
    let (_dir, path) = write_config(&broken);
    let out = run_cli(&["--config", path.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let file = path.to_str().unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with(file)).collect();
    assert!(lines.len() >= 2, "expected both errors:\n{stderr}");
    for l in &lines {
        let rest = &l[file.len()..];
        let mut parts = rest.splitn(4, ':');
        assert_eq!(parts.next(), Some(""));
        let line: u32 = parts.next().unwrap().parse().unwrap_or_else(|_| panic!("no line in {l}"));
        let col: u32 = parts.next().unwrap().parse().unwrap_or_else(|_| panic!("no column in {l}"));
        assert!(line > 0 && col > 0, "{l}");
    }
    assert!(stderr.contains("ADMNI"), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
}

#[test]
fn check_reports_unknown_keys_and_unset_variables() {
    let (_dir, path) = write_config(&base(SHOP_ROUTES).replace("  leeway: 30s\n", "  leeway: 30s\n  leway: 30s\n"));
    let out = run_cli(&["--config", path.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("leway"), "{stderr}");

    let (_dir2, path2) = write_config(&base(SHOP_ROUTES).replace("${IT_SIGNING_KEY}", "${NEXORA_IT_UNSET_VARIABLE}"));
    let out = run_cli(&["--config", path2.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("NEXORA_IT_UNSET_VARIABLE"), "{stderr}");
}

#[test]
fn check_refuses_a_short_hmac_secret() {
    let (_dir, path) = write_config(&base(SHOP_ROUTES).replace("${IT_SIGNING_KEY}", "too-short-secret"));
    let out = run_cli(&["--config", path.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("signing_key"), "{stderr}");
}

// A key path pointing at an endless file (/dev/zero) or a huge one is refused
// with its position, not read until memory runs out.
#[test]
fn check_refuses_a_key_file_that_never_ends() {
    let yaml = base(SHOP_ROUTES).replace(
        "  algorithm: HS256\n  signing_key: ${IT_SIGNING_KEY}\n",
        "  algorithm: RS256\n  private_key_file: /dev/zero\n  public_key_file: /dev/zero\n",
    );
    assert!(yaml.contains("/dev/zero"), "the replacement must apply: {yaml}");
    let (_dir, path) = write_config(&yaml);
    let out = run_cli(&["--config", path.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for key in ["tokens.private_key_file", "tokens.public_key_file"] {
        let line = stderr.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("no {key} error: {stderr}"));
        assert!(line.contains("gateway.yaml:1") && line.contains("/dev/zero") && line.contains("larger than"), "{line}");
    }
}

#[test]
fn explain_prints_normalised_path_rule_and_decision() {
    let (_dir, path) = write_config(&base(SHOP_ROUTES));
    let out = run_cli(&[
        "--config", path.to_str().unwrap(), "explain", "GET", "/api/products/../admin/users", "--role", "SELLER",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("normalised:  /api/admin/users"), "{stdout}");
    assert!(stdout.contains("rule:        admin-area"), "{stdout}");
    assert!(stdout.contains("403"), "{stdout}");

    let out = run_cli(&["--config", path.to_str().unwrap(), "explain", "GET", "/api/products/7", "--anonymous"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rule:        catalogue"), "{stdout}");
    assert!(stdout.contains("allow"), "{stdout}");
    assert!(stdout.contains("upstream:    shop"), "{stdout}");

    let out = run_cli(&[
        "--config", path.to_str().unwrap(), "explain", "GET", "/api/users/42/mail/x", "--role", "CUSTOMER", "--user-id", "42",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("own-mailbox") && stdout.contains("allow"), "{stdout}");

    // A host the proxy would refuse is explained as that refusal.
    let out = run_cli(&[
        "--config", path.to_str().unwrap(), "explain", "GET", "/api/products/7", "--anonymous", "--host", "[shop.example:80",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("rejected: not host[:port]") && stdout.contains("400"), "{stdout}");
    assert!(!stdout.contains("rule:"), "{stdout}");
}

#[test]
fn explain_decides_for_an_external_issuers_claims_without_the_network() {
    // The key set is on a host that does not exist: explain never fetches it.
    let issuers = "issuers:\n  - name: kc\n    issuer: https://kc.invalid/realms/shop\n    jwks_uri: https://kc.invalid/certs\n    audiences: [shop-api]\n    claims: { user_id: sub, roles: realm_access.roles }\n";
    let policy = SHOP_ROUTES.replace(
        "routes:\n",
        "routes:\n  - name: order-write\n    match: { path: /api/write/** }\n    allow: authenticated\n    scopes: [orders:write]\n    upstream: shop\n",
    );
    let yaml = config_yaml(18080, 19901, "127.0.0.1:9000", &policy, issuers);
    let (_dir, path) = write_config(&yaml);
    let config = path.to_str().unwrap();
    let explain = |path: &str, claims: &str| {
        let out = run_cli(&["--config", config, "explain", "GET", path, "--issuer", "kc", "--claims", claims]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let admin = r#"{"sub":"u-1","aud":["shop-api","account"],"realm_access":{"roles":["ADMIN","offline_access"]},"scope":"openid orders:write"}"#;
    let out = explain("/api/admin/stats", admin);
    assert!(out.contains("issuer kc: user id u-1, roles [ADMIN], scopes [openid, orders:write]"), "{out}");
    assert!(out.contains("decision:    allow"), "{out}");
    let seller = r#"{"sub":"u-2","aud":"shop-api","realm_access":{"roles":["SELLER"]}}"#;
    assert!(explain("/api/admin/stats", seller).contains("403 forbidden: role not allowed"));
    assert!(explain("/api/write/1", seller).contains("403 forbidden: the token lacks a scope"));
    assert!(explain("/api/write/1", admin).contains("decision:    allow"));
    let out = explain("/api/admin/stats", r#"{"sub":"u-1","aud":"other"}"#);
    assert!(out.contains("refused") && out.contains("401"), "{out}");
    assert!(explain("/api/products/1", r#"{"sub":"u-1","aud":"other"}"#).contains("allow"), "public: no token looked at");

    let out = run_cli(&["--config", config, "explain", "GET", "/x", "--issuer", "nope", "--claims", "{}"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no issuer named \"nope\""));
    let out = run_cli(&["--config", config, "explain", "GET", "/x", "--issuer", "kc", "--claims", "[1]"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("JSON object"));
}

#[test]
fn token_mint_produces_a_token_the_gateway_accepts() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    let out = run_cli(&[
        "--config", gw.config_path.to_str().unwrap(), "token", "mint", "--user-id", "77", "--username", "ops", "--role", "ADMIN",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let r = gw.get("/api/admin/x", Some(&token), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(up.last().header("x-user-id"), Some("77"));
}

#[test]
fn keygen_writes_keys_for_every_algorithm() {
    for alg in ["HS256", "RS256", "ES256", "EdDSA"] {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("keys");
        let out = run_cli(&["keygen", "--alg", alg, "--out", out_dir.to_str().unwrap()]);
        assert!(out.status.success(), "{alg}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(std::fs::read_dir(&out_dir).unwrap().count() >= 1, "{alg}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = run_cli(&["explain"]);
    assert_eq!(out.status.code(), Some(2));
}
