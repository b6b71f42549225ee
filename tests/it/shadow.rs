//! Shadow mode: a rule marked `mode: shadow`, or a candidate policy file, is
//! decided beside the enforced policy; differences are counted in
//! `nexora_shadow_decisions_total` and logged, and nothing is enforced.

use crate::common::*;

/// SHOP_ROUTES with a candidate rule in front: the catalogue behind a login.
fn with_shadow_rule() -> String {
    SHOP_ROUTES.replace(
        "routes:\n",
        "routes:\n  - name: catalogue-login-only\n    match: { path: /api/products/**, methods: [GET, HEAD] }\n    allow: authenticated\n    upstream: shop\n    mode: shadow\n",
    )
}

const FAMILY: &str = "nexora_shadow_decisions_total{";

#[test]
fn a_shadow_rule_counts_and_logs_differences_without_enforcing_them() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start_with(&up, &with_shadow_rule(), "");
    let token = access("7", "CUSTOMER");

    // Same decision both ways (a logged-in customer may read the catalogue): not counted.
    assert_eq!(gw.get("/api/products/1", Some(&token), &[]).status, 200);
    // Equal outside the shadow rule's reach too.
    assert_eq!(gw.get("/api/admin/x", Some(&access("2", "SELLER")), &[]).status, 403);
    // Anonymous: enforced public (200, unchanged), the shadow rule would ask for a token.
    let anonymous = gw.get("/api/products/2", None, &[("X-Request-Id", "shadow-probe-1")]);
    assert_eq!(anonymous.status, 200, "the shadow rule must not be enforced");
    assert!(up.last().header("x-user-id").is_none());

    let line = r#"nexora_shadow_decisions_total{enforced="allow",route="catalogue",shadow="unauthenticated",shadow_route="catalogue-login-only"} 1"#;
    let m = gw.metrics_with(line);
    assert!(m.contains(line), "missing {line} in\n{m}");
    let series: Vec<&str> = m.lines().filter(|l| l.starts_with(FAMILY)).collect();
    assert_eq!(series, vec![line], "only the differing request is counted");

    // One structured line for it, with both rules and decisions, never the token.
    let log = wait_for_log(&gw, "shadow-probe-1");
    let shadow_line = log.lines().find(|l| l.contains("shadow-probe-1") && l.contains("catalogue-login-only"));
    let shadow_line = shadow_line.unwrap_or_else(|| panic!("no shadow line in\n{log}"));
    for part in ["/api/products/2", "GET", "catalogue", "unauthenticated", "allow"] {
        assert!(shadow_line.contains(part), "{part} missing from {shadow_line}");
    }
    assert!(!log.contains(&token), "a token reached the log:\n{log}");
}

#[test]
fn a_candidate_policy_file_is_compared_with_the_enforced_policy() {
    let up = Upstream::start(Behaviour::Ok);
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("candidate.yaml");
    std::fs::write(
        &candidate,
        "routes:\n  - name: seller-read\n    match: { path: /api/seller/**, methods: [GET] }\n    allow: [SELLER, ADMIN]\n    upstream: shop\n  - name: seller-write\n    match: { path: /api/seller/** }\n    allow: [ADMIN]\n    upstream: shop\ndefault: deny\n",
    )
    .unwrap();
    let extra = format!("shadow:\n  policy: {}\n", candidate.display());
    let gw = Gateway::start_with(&up, SHOP_ROUTES, &extra);
    let seller = access("3", "SELLER");

    assert_eq!(gw.get("/api/seller/items", Some(&seller), &[]).status, 200);
    // Enforced: seller-area lets SELLER write. The candidate would refuse (403).
    assert_eq!(gw.request("POST", "/api/seller/items", Some(&seller), &[]).status, 200);
    // The candidate has no catalogue: its default would deny what is public today.
    assert_eq!(gw.get("/api/products/9", None, &[]).status, 200);

    let write = r#"nexora_shadow_decisions_total{enforced="allow",route="seller-area",shadow="deny",shadow_route="seller-write"} 1"#;
    let catalogue = r#"nexora_shadow_decisions_total{enforced="allow",route="catalogue",shadow="deny",shadow_route="(default)"} 1"#;
    let m = gw.metrics_with(catalogue);
    for needle in [write, catalogue] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }
    assert!(!m.contains(r#"shadow_route="seller-read""#), "equal decisions are not counted:\n{m}");
}

#[test]
fn without_a_shadow_policy_nothing_is_counted() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    gw.get("/api/products/1", None, &[]);
    let m = gw.metrics_with(r#"route="catalogue""#);
    assert!(m.contains(r#"route="catalogue""#), "{m}");
    assert!(!m.contains(FAMILY), "{m}");
}

/// The gateway's log once it mentions `needle` (lines are written after the response).
fn wait_for_log(gw: &Gateway, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = gw.log();
        if log.contains(needle) || std::time::Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_reload_reads_the_candidate_file_again() {
    let up = Upstream::start(Behaviour::Ok);
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("candidate.yaml");
    let write = |name: &str, methods: &str| {
        let text = format!(
            "routes:\n  - name: {name}\n    match: {{ path: /api/seller/**{methods} }}\n    allow: [ADMIN]\n    upstream: shop\ndefault: deny\n"
        );
        std::fs::write(&candidate, text).unwrap();
    };
    write("seller-write", ", methods: [POST]");
    let extra = format!("shadow:\n  policy: {}\n", candidate.display());
    let gw = Gateway::start_with(&up, SHOP_ROUTES, &extra);
    let seller = access("3", "SELLER");

    // Before: a GET is equal under both policies.
    assert_eq!(gw.get("/api/seller/items", Some(&seller), &[("X-Request-Id", "before-reload")]).status, 200);
    // The candidate now closes the whole area; the watcher only sees the config: SIGHUP.
    write("seller-closed", "");
    let status = std::process::Command::new("kill").args(["-HUP", &gw.pid().to_string()]).status().unwrap();
    assert!(status.success());
    let reloaded = r#"nexora_policy_reloads_total{result="ok"} 1"#;
    assert!(gw.metrics_with(reloaded).contains(reloaded), "{}", gw.log());

    assert_eq!(gw.get("/api/seller/items", Some(&seller), &[]).status, 200, "still not enforced");
    let line = r#"nexora_shadow_decisions_total{enforced="allow",route="seller-area",shadow="deny",shadow_route="seller-closed"} 1"#;
    let m = gw.metrics_with(line);
    assert!(m.contains(line), "missing {line} in\n{m}");
    assert!(!m.contains(r#"shadow_route="seller-write""#), "the GET before the reload was equal:\n{m}");
}

#[test]
fn saving_the_candidate_file_reloads_it() {
    let up = Upstream::start(Behaviour::Ok);
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("candidate.yaml");
    let write = |name: &str| {
        let text = format!("routes:\n  - name: {name}\n    match: {{ path: /api/seller/** }}\n    allow: [ADMIN]\n    upstream: shop\ndefault: deny\n");
        let tmp = dir.path().join("candidate.yaml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &candidate).unwrap();
    };
    write("seller-closed-v1");
    let extra = format!("shadow:\n  policy: {}\n", candidate.display());
    let gw = Gateway::start_with(&up, SHOP_ROUTES, &extra);
    let seller = access("3", "SELLER");

    // No SIGHUP: the watch sees the candidate replaced (after the look the
    // reload service takes 250 ms after start, which would see it too).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    write("seller-closed-v2");
    let reloaded = r#"nexora_policy_reloads_total{result="ok"} 1"#;
    assert!(gw.metrics_with(reloaded).contains(reloaded), "{}", gw.log());
    assert_eq!(gw.get("/api/seller/items", Some(&seller), &[]).status, 200, "still not enforced");
    let line = r#"shadow_route="seller-closed-v2"} 1"#;
    let m = gw.metrics_with(line);
    assert!(m.contains(line), "missing {line} in\n{m}");
    assert!(!m.contains(r#"shadow_route="seller-closed-v1""#), "{m}");
}
