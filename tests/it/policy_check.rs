//! `check` and `explain` on the example policies of config/examples/: the
//! warnings a policy editor gets (shadowed rules, overlaps, public holes in a
//! protected prefix), shadow rules and candidate files.

use std::process::Output;

use crate::common::*;

/// Runs the binary on an example config (they read `NEXORA_SIGNING_KEY`).
fn on_example(file: &str, args: &[&str]) -> (Output, String, String) {
    let path = repo_path(&format!("config/examples/{file}"));
    on_config(path.to_str().unwrap(), args)
}

fn on_config(path: &str, args: &[&str]) -> (Output, String, String) {
    let out = std::process::Command::new(binary())
        .args(["--config", path])
        .args(args)
        .env("NEXORA_SIGNING_KEY", SIGNING_KEY)
        .env("IT_SIGNING_KEY", SIGNING_KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// `FILE:LINE:COL: ` at the start of `line`, for `file`.
fn is_located(line: &str, file: &str) -> bool {
    let Some(rest) = line.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else { return false };
    let mut parts = rest.splitn(3, ':');
    let number = |p: Option<&str>| p.and_then(|p| p.parse::<u32>().ok()).is_some_and(|n| n > 0);
    number(parts.next()) && number(parts.next())
}

#[test]
fn check_warns_about_shadowed_overlapping_and_public_hole_rules() {
    let (out, stdout, stderr) = on_example("policy-warnings.yaml", &["check"]);
    assert!(out.status.success(), "warnings do not fail check:\n{stderr}");
    assert!(stdout.contains("3 warning(s)"), "{stdout}");
    let file = repo_path("config/examples/policy-warnings.yaml");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(warnings.len(), 3, "{stderr}");
    for w in &warnings {
        assert!(is_located(w, file.to_str().unwrap()), "not FILE:LINE:COL: {w}");
    }
    let find = |rule: &str| *warnings.iter().find(|w| w.contains(&format!("'{rule}'"))).unwrap_or_else(|| panic!("{rule}:\n{stderr}"));
    assert!(find("admin-health").contains("can never match"), "{stderr}");
    assert!(find("order-writes").contains("overlaps the earlier rule 'order-read'"), "{stderr}");
    assert!(find("status-public").contains("opens a hole in the protected prefix of the later rule 'internal-area'"), "{stderr}");
}

#[test]
fn check_rejects_unknown_roles_with_their_position() {
    let text = std::fs::read_to_string(repo_path("config/examples/policy-warnings.yaml")).unwrap();
    let (_dir, path) = write_config(&text.replace("allow: [SELLER, ADMIN]", "allow: [SELLER, ADMNI]"));
    let (out, _, stderr) = on_config(path.to_str().unwrap(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr.lines().find(|l| l.contains("ADMNI")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(is_located(line, path.to_str().unwrap()) && line.contains("unknown role"), "{line}");
}

#[test]
fn explain_shows_which_rule_decides_despite_a_shadowed_one() {
    let (out, stdout, _) = on_example("policy-warnings.yaml", &["explain", "GET", "/api/admin/health", "--anonymous"]);
    assert!(out.status.success());
    assert!(stdout.contains("rule:        admin-area"), "{stdout}");
    assert!(stdout.contains("401"), "{stdout}");
    assert!(!stdout.contains("shadow rule:"), "no shadow policy, no shadow lines:\n{stdout}");
}

#[test]
fn check_and_explain_report_a_shadow_rule() {
    let (out, stdout, stderr) = on_example("shadow-routes.yaml", &["check"]);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("shadow: 1 route(s) marked mode: shadow (catalogue-login-only)"), "{stdout}");
    assert!(stdout.contains("1 policy test(s) it would fail"), "{stdout}");
    assert!(stderr.contains("note: the shadow policy would fail this policy test"), "{stderr}");
    // In the shadow policy the candidate hides the rule it replaces: said as a warning.
    assert!(stderr.contains("warning: shadow policy: rule 'catalogue'"), "{stderr}");

    let (_, stdout, _) = on_example("shadow-routes.yaml", &["explain", "GET", "/api/products/7", "--anonymous"]);
    assert!(stdout.contains("rule:        catalogue ("), "{stdout}");
    assert!(stdout.contains("decision:    allow"), "{stdout}");
    assert!(stdout.contains("shadow rule: catalogue-login-only"), "{stdout}");
    assert!(stdout.contains("shadow:      401") && stdout.contains("DIFFERS"), "{stdout}");

    let (_, stdout, _) = on_example("shadow-routes.yaml", &["explain", "GET", "/api/admin/x", "--role", "SELLER"]);
    assert!(stdout.contains("shadow rule: admin-area") && stdout.contains("same as enforced"), "{stdout}");
}

#[test]
fn check_and_explain_report_a_candidate_policy_file() {
    let (out, stdout, stderr) = on_example("shadow-candidate.yaml", &["check"]);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("shadow: policy ") && stdout.contains("sellers-read-only.yaml (4 route(s))"), "{stdout}");
    assert!(stdout.contains("1 policy test(s) it would fail"), "{stdout}");

    let (_, stdout, _) = on_example("shadow-candidate.yaml", &["explain", "POST", "/api/seller/items", "--role", "SELLER"]);
    assert!(stdout.contains("rule:        seller-area"), "{stdout}");
    assert!(stdout.contains("shadow rule: seller-write (") && stdout.contains("sellers-read-only.yaml:"), "{stdout}");
    assert!(stdout.contains("shadow:      403") && stdout.contains("DIFFERS"), "{stdout}");
}

#[test]
fn check_locates_errors_inside_the_candidate_file() {
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("candidate.yaml");
    std::fs::write(
        &candidate,
        "routes:\n  - name: one\n    match: { path: /a/** }\n    allow: [ADMNI]\n    upstream: shop\n  - name: two\n    match: { path: /b }\n    allow: public\n    upstream: nowhere\ndefault: deny\n",
    )
    .unwrap();
    let config = config_yaml(18080, 19901, "127.0.0.1:9000", SHOP_ROUTES, "shadow:\n  policy: candidate.yaml\n");
    let config_path = dir.path().join("gateway.yaml");
    std::fs::write(&config_path, config).unwrap();
    let (out, _, stderr) = on_config(config_path.to_str().unwrap(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let file = candidate.to_str().unwrap();
    let role = stderr.lines().find(|l| l.contains("ADMNI")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(role.starts_with(&format!("{file}:4:")), "{role}");
    let upstream = stderr.lines().find(|l| l.contains("nowhere")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(upstream.starts_with(&format!("{file}:9:")), "{upstream}");

    // A typo in the candidate is an error with its position, as in the config.
    std::fs::write(&candidate, "routes: []\ndefualt: deny\n").unwrap();
    let (out, _, stderr) = on_config(config_path.to_str().unwrap(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr.lines().find(|l| l.contains("defualt")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(is_located(line, file), "{line}");
}

#[test]
fn shadow_rules_and_a_candidate_file_cannot_be_combined() {
    let policy = SHOP_ROUTES.replace("    allow: deny\n", "    allow: deny\n    mode: shadow\n");
    let (_dir, path) = write_config(&config_yaml(18080, 19901, "127.0.0.1:9000", &policy, "shadow:\n  policy: other.yaml\n"));
    let (out, _, stderr) = on_config(path.to_str().unwrap(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot be combined"), "{stderr}");
}
