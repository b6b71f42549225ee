//! The admin listener (docs/REFERENCE.md#admin-listener): health, readiness, metrics — and none of
//! it on the proxy port.

use crate::common::*;

#[test]
fn health_readiness_and_metrics_are_served_on_the_admin_port_only() {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&up);
    assert_eq!(agent().get(&format!("{}/healthz", gw.admin_url)).call().unwrap().status(), 200);
    assert_eq!(agent().get(&format!("{}/readyz", gw.admin_url)).call().unwrap().status(), 200);
    let proxy_ready = agent().get(&format!("{}/readyz/proxy", gw.admin_url)).call().unwrap();
    assert_eq!(proxy_ready.status(), 200);
    assert!(proxy_ready.into_string().unwrap().contains(r#""generation":1"#));
    // On the proxy port /metrics is just an unmatched path: default deny.
    assert_eq!(gw.get("/metrics", None, &[]).status, 403);
    gw.get("/api/products/1", None, &[]);
    gw.get("/api/admin/x", Some(&access("2", "SELLER")), &[]);
    gw.get("/api/orders/1", Some(&access("2", "SELLER")), &[]);
    gw.get("/api/orders/1", Some(&access("2", "SELLER")), &[]);
    gw.get("/api/orders/1", Some(&expired("2", "SELLER")), &[]);
    // Counters move in the logging phase, after the response: wait for the last one.
    let m = gw.metrics_with(r#"nexora_requests_total{decision="deny",route="order-by-id",status="401"} 1"#);
    for needle in [
        r#"nexora_requests_total{decision="allow",route="catalogue",status="200"} 1"#,
        r#"nexora_requests_total{decision="deny",route="admin-area",status="403"} 1"#,
        r#"nexora_requests_total{decision="allow",route="order-by-id",status="200"} 2"#,
        r#"nexora_requests_total{decision="deny",route="order-by-id",status="401"} 1"#,
        // The SELLER token was verified on admin-area, then served twice from the cache.
        "nexora_token_cache_hits_total 2",
        "nexora_token_cache_entries 1",
        r#"nexora_request_duration_seconds_count{route="catalogue"} 1"#,
        r#"nexora_token_verify_total{result="ok"}"#,
        r#"nexora_token_verify_total{result="expired"} 1"#,
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }
}
