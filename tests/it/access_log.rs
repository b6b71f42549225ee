//! The access log: one JSON line per proxied request with the fields an
//! operator needs, never a token; and which log level applies (`RUST_LOG`
//! over `logging.level`).

use crate::common::*;

/// The JSON lines of the gateway's log whose target is `target`.
fn lines_of(log: &str, target: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == target)
        .collect()
}

/// Waits until `/metrics` shows `count` requests of `route` (the access line
/// is written right after the counter moves), then a little longer.
fn settle(gw: &Gateway, needle: &str) {
    let m = gw.metrics_with(needle);
    assert!(m.contains(needle), "missing {needle} in\n{m}");
    std::thread::sleep(std::time::Duration::from_millis(200));
}

#[test]
fn every_proxied_request_writes_one_json_access_line_without_the_token() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start_with(&up, SHOP_ROUTES, "logging:\n  format: json\n");
    let token = access("42", "CUSTOMER");
    let ok = gw.get("/api/orders/5", Some(&token), &[("X-Request-Id", "log-probe-ok")]);
    assert_eq!(ok.status, 200);
    let denied = gw.get("/api/admin/users", Some(&token), &[("X-Request-Id", "log-probe-403")]);
    assert_eq!(denied.status, 403);
    settle(&gw, r#"nexora_requests_total{decision="deny",route="admin-area",status="403"} 1"#);

    let log = gw.log();
    assert!(!log.contains(&token), "the bearer token reached the log:\n{log}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "part of the token reached the log:\n{log}");
    let access_lines = lines_of(&log, "access");
    assert_eq!(access_lines.len(), 2, "one line per request:\n{log}");

    let line = access_lines.iter().find(|v| v["request_id"] == "log-probe-ok").unwrap();
    assert_eq!(line["route"], "order-by-id");
    assert_eq!(line["decision"], "allow");
    assert_eq!(line["user_id"], "42");
    assert_eq!(line["status"], 200);
    assert_eq!(line["upstream"], "shop");
    assert_eq!(line["method"], "GET");
    assert!(line["latency_us"].as_u64().is_some(), "{line}");
    assert!(line.get("reason").is_none(), "{line}");

    let line = access_lines.iter().find(|v| v["request_id"] == "log-probe-403").unwrap();
    assert_eq!(line["route"], "admin-area");
    assert_eq!(line["decision"], "deny");
    assert_eq!(line["reason"], "role_not_allowed");
    assert_eq!(line["user_id"], "42");
    assert_eq!(line["status"], 403);
    assert!(line.get("upstream").is_none(), "{line}");
}

#[test]
fn the_config_level_applies_when_rust_log_is_unset_and_rust_log_wins_when_set() {
    let up = Upstream::start(Behaviour::Ok);
    let start = |level: &str, rust_log: Option<&str>| {
        let (proxy, admin) = (free_port(), free_port());
        let extra = format!("logging:\n  format: json\n  level: {level}\n");
        let yaml = config_yaml(proxy, admin, &up.addr, SHOP_ROUTES, &extra);
        Gateway::start_yaml_env(&yaml, proxy, admin, rust_log)
    };
    let needle = r#"nexora_requests_total{decision="allow",route="catalogue",status="200"} 1"#;

    // No RUST_LOG: the config's level. `warn` hides the (info) access line; `info` shows it.
    let quiet = start("warn", None);
    quiet.get("/api/products/1", None, &[]);
    settle(&quiet, needle);
    assert!(lines_of(&quiet.log(), "access").is_empty(), "{}", quiet.log());

    let chatty = start("info", None);
    chatty.get("/api/products/1", None, &[]);
    settle(&chatty, needle);
    assert_eq!(lines_of(&chatty.log(), "access").len(), 1, "{}", chatty.log());

    // RUST_LOG set: it overrides the config's level, both ways.
    let overridden_up = start("warn", Some("info"));
    overridden_up.get("/api/products/1", None, &[]);
    settle(&overridden_up, needle);
    assert_eq!(lines_of(&overridden_up.log(), "access").len(), 1, "{}", overridden_up.log());

    let overridden_down = start("info", Some("warn"));
    overridden_down.get("/api/products/1", None, &[]);
    settle(&overridden_down, needle);
    assert!(lines_of(&overridden_down.log(), "access").is_empty(), "{}", overridden_down.log());
}
