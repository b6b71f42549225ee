//! Upstream failures become JSON 502/504 (docs/REFERENCE.md#upstream-errors), and round-robin
//! with health checks routes around a dead server.

use std::time::Duration;

use crate::common::*;

#[test]
fn refused_upstream_gives_502_json() {
    let port = free_port(); // nothing listens here
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &format!("127.0.0.1:{port}"), SHOP_ROUTES, "");
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    let r = gw.get("/api/products/1", None, &[]);
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.json()["code"], "bad_gateway");
    let needle = r#"nexora_upstream_errors_total{kind="bad_gateway",upstream="shop"} 1"#;
    assert!(gw.metrics_with(needle).contains(needle));
}

#[test]
fn slow_upstream_gives_504_json() {
    let up = Upstream::start(Behaviour::Slow(Duration::from_secs(4)));
    let gw = Gateway::start(&up); // read_timeout: 2s
    let r = gw.get("/api/products/1", None, &[]);
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.json()["code"], "gateway_timeout");
}

#[test]
fn garbage_or_closed_upstream_gives_502_json() {
    for behaviour in [Behaviour::Garbage, Behaviour::Close] {
        let up = Upstream::start(behaviour);
        let gw = Gateway::start(&up);
        let r = gw.get("/api/products/1", None, &[]);
        assert_eq!(r.status, 502, "{behaviour:?}: {}", r.body);
        assert_eq!(r.json()["code"], "bad_gateway", "{behaviour:?}");
    }
}

#[test]
fn round_robin_spreads_and_health_checks_take_a_dead_server_out() {
    let a = Upstream::start(Behaviour::Ok);
    let b = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &a.addr, SHOP_ROUTES, "").replace(
        &format!("servers: [{}]", a.addr),
        &format!("servers: [{}, {}]\n    health_check: {{ path: /healthz, interval: 200ms, timeout: 500ms }}", a.addr, b.addr),
    );
    let gw = Gateway::start_yaml(&yaml, proxy, admin);
    for _ in 0..10 {
        assert_eq!(gw.get("/api/products/1", None, &[]).status, 200);
    }
    let count = |u: &Upstream| u.seen().iter().filter(|s| s.target == "/api/products/1").count();
    assert!(count(&a) >= 3 && count(&b) >= 3, "not balanced: a={} b={}", count(&a), count(&b));
    drop(b); // b stops accepting: its health check fails
    std::thread::sleep(Duration::from_millis(1200));
    a.clear();
    for _ in 0..10 {
        let r = gw.get("/api/products/2", None, &[]);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(count_path(&a, "/api/products/2"), 10);
}

fn count_path(u: &Upstream, path: &str) -> usize {
    u.seen().iter().filter(|s| s.target == path).count()
}

#[test]
fn a_client_hanging_up_is_not_counted_as_an_upstream_failure() {
    use std::io::Write;
    use std::net::TcpStream;

    let up = Upstream::start(Behaviour::Slow(Duration::from_millis(800)));
    let gw = Gateway::start(&up); // read_timeout: 2s
    let mut client = TcpStream::connect(gw.proxy_addr()).unwrap();
    client.write_all(b"GET /api/products/1 HTTP/1.1\r\nHost: shop\r\n\r\n").unwrap();
    // Hang up while the upstream is still thinking.
    std::thread::sleep(Duration::from_millis(200));
    drop(client);
    let needle = r#"nexora_requests_total{decision="error",route="catalogue",status="0"} 1"#;
    let metrics = gw.metrics_with(needle);
    assert!(metrics.contains(needle), "the hang-up is recorded as no answer:\n{metrics}");
    assert!(
        !metrics.contains("nexora_upstream_errors_total{"),
        "a client hanging up is not the upstream's fault:\n{metrics}"
    );
    assert!(!metrics.contains(r#"status="502""#), "{metrics}");
    // The upstream connection and the gateway are fine: the next client is served.
    assert_eq!(gw.get("/api/products/2", None, &[]).status, 200);
}
