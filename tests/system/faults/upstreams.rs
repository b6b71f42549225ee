//! Upstream faults under a steady stream of requests, each followed by recovery
//! without a gateway restart (tests/it/upstream_faults.rs has the single-request
//! status checks; these add load, the reset cases, the metric and the way back):
//! down (connection refused → 502 JSON), slow (read timeout → 504 JSON), reset before or
//! in the middle of the answer, garbage instead of HTTP (→ 502 JSON), and with health
//! checks a killed server taken out of rotation and brought back when it returns.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::fault_server::{FaultServer, Mode, DECLARED};
use super::*;
use crate::common::{config_yaml, free_port, Gateway, SHOP_ROUTES};

/// A gateway in front of `servers` (read timeout 500 ms), with `health` lines if given.
fn gateway(servers: &[&FaultServer], health: &str) -> Gateway {
    let (proxy, admin) = (free_port(), free_port());
    let list: Vec<String> = servers.iter().map(|s| s.addr.to_string()).collect();
    let yaml = config_yaml(proxy, admin, &list[0], SHOP_ROUTES, "")
        .replace(&format!("servers: [{}]", list[0]), &format!("servers: [{}]{health}", list.join(", ")))
        .replace("read_timeout: 2s", "read_timeout: 500ms");
    Gateway::start_yaml(&yaml, proxy, admin)
}

/// `n` requests from 4 threads; returns (requests, the statuses and codes that were not
/// `expect`), transport errors included as text.
fn burst(gw: &Gateway, n: usize, expect: u16, code: Option<&str>) -> (u64, Vec<String>) {
    let base = gw.url.clone();
    let per = n.div_ceil(4);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (base, code) = (base.clone(), code.map(str::to_owned));
            thread::spawn(move || {
                let mut bad = Vec::new();
                for _ in 0..per {
                    match try_get(&base, "/api/products/1", None) {
                        Ok(r) if r.status == expect => {
                            if let Some(code) = &code {
                                let got = serde_json::from_str::<serde_json::Value>(&r.body).ok();
                                if got.as_ref().and_then(|v| v["code"].as_str()) != Some(code.as_str()) {
                                    bad.push(format!("{expect} without code {code}: {}", r.body));
                                }
                            }
                        }
                        Ok(r) => bad.push(format!("{} {}", r.status, r.body)),
                        Err(e) => bad.push(format!("transport: {e}")),
                    }
                }
                bad
            })
        })
        .collect();
    let bad = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    ((per * 4) as u64, bad)
}

/// One fault: `n` requests answered `status`/`code` during it, then `n` answered 200
/// after `heal`; the metric counts the failures. Reports and asserts.
fn fault_then_recover(case: &str, server: &FaultServer, gw: &Gateway, n: usize, status: u16, code: &str, kind: &str) {
    let (during, bad_during) = burst(gw, n, status, Some(code));
    server.set(Mode::Ok);
    if case == "upstream-down" {
        server.restart();
    }
    let (after, bad_after) = burst(gw, n, 200, None);
    let needle = format!(r#"nexora_upstream_errors_total{{kind="{kind}",upstream="shop"}}"#);
    let metrics = gw.metrics_with(&needle);
    report(case, during + after, (bad_during.len() + bad_after.len()) as u64, 0);
    assert!(bad_during.is_empty(), "{case}, during: {bad_during:#?}");
    assert!(bad_after.is_empty(), "{case}, after recovery: {bad_after:#?}");
    assert!(metrics.contains(&needle), "{needle} missing:\n{metrics}");
}

#[test]
fn upstream_down_gives_502_json_then_recovers() {
    // Fault: the upstream process is gone (connection refused).
    let server = FaultServer::start(Mode::Ok);
    let gw = gateway(&[&server], "");
    assert_eq!(try_get(&gw.url, "/api/products/1", None).unwrap().status, 200);
    server.kill();
    fault_then_recover("upstream-down", &server, &gw, 40, 502, "bad_gateway", "bad_gateway");
}

#[test]
fn upstream_slow_gives_504_json_then_recovers() {
    // Fault: the upstream accepts and never answers within read_timeout (500 ms).
    let server = FaultServer::start(Mode::Slow(Duration::from_secs(3)));
    let gw = gateway(&[&server], "");
    fault_then_recover("upstream-slow", &server, &gw, 8, 504, "gateway_timeout", "gateway_timeout");
}

#[test]
fn upstream_garbage_gives_502_json_then_recovers() {
    // Fault: the upstream answers bytes that are not HTTP.
    let server = FaultServer::start(Mode::Garbage);
    let gw = gateway(&[&server], "");
    fault_then_recover("upstream-garbage", &server, &gw, 40, 502, "bad_gateway", "bad_gateway");
}

#[test]
fn upstream_reset_before_answer_gives_502_json_then_recovers() {
    // Fault: the upstream resets the connection (RST) after reading the request.
    let server = FaultServer::start(Mode::ResetBeforeAnswer);
    let gw = gateway(&[&server], "");
    fault_then_recover("upstream-reset-before-answer", &server, &gw, 40, 502, "bad_gateway", "bad_gateway");
}

#[test]
fn upstream_reset_mid_body_is_never_passed_off_as_complete() {
    // Fault: the upstream sends 200, its headers and part of the declared body, then
    // resets. The client has the status already; what it must get is a connection that
    // ends short of Content-Length (so it knows the body is cut), promptly — never a
    // hang and never a complete-looking answer. The gateway then serves on.
    let server = FaultServer::start(Mode::ResetMidBody);
    let gw = gateway(&[&server], "");
    let (mut bad, mut cut, mut refused) = (Vec::new(), 0, 0);
    let rounds = 10;
    for _ in 0..rounds {
        let start = Instant::now();
        let (head, body_len, closed) = raw_get(&gw.proxy_addr(), "/api/products/1");
        if head.starts_with("HTTP/1.1 200") {
            cut += 1;
            if body_len >= DECLARED || !closed {
                bad.push(format!("cut body passed on: {body_len} of {DECLARED} bytes, closed={closed}"));
            }
        } else if head.starts_with("HTTP/1.1 502") {
            refused += 1;
        } else {
            bad.push(format!("neither a cut 200 nor a 502: {head}"));
        }
        if start.elapsed() > Duration::from_secs(4) {
            bad.push(format!("took {:?}", start.elapsed()));
        }
    }
    server.set(Mode::Ok);
    let (after, bad_after) = burst(&gw, 40, 200, None);
    eprintln!("reset mid-body: {cut} cut 200s, {refused} 502s");
    report("upstream-reset-mid-body", rounds + after, (bad.len() + bad_after.len()) as u64, 0);
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(bad_after.is_empty(), "after recovery: {bad_after:#?}");
}

/// GET over a raw socket: (status line and headers, body bytes received, whether the
/// connection was closed by the gateway within 5 s).
fn raw_get(addr: &str, path: &str) -> (String, usize, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: shop\r\n\r\n").as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => break false,
            Err(_) => break true, // reset: closed too
        }
    };
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.len(), closed)
}

#[test]
fn health_checks_take_a_killed_server_out_and_bring_it_back() {
    // Fault: one of two servers is killed and later restarted. Requests keep succeeding
    // (a refused connect is retried on the other server; the health check then stops
    // choosing the dead one) and the restarted server gets traffic again.
    let a = FaultServer::start(Mode::Ok);
    let b = FaultServer::start(Mode::Ok);
    let gw = gateway(&[&a, &b], "\n    health_check: { path: /healthz, interval: 200ms, timeout: 300ms }");
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (base, stop, tally) = (gw.url.clone(), stop.clone(), tally.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match try_get(&base, "/api/products/1", None) {
                        Ok(r) if r.status == 200 => tally.count("200"),
                        Ok(r) => tally.error(format!("{} {}", r.status, r.body)),
                        Err(e) => tally.error(e),
                    }
                    thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    b.kill();
    let a_before = a.hits();
    thread::sleep(Duration::from_millis(1500)); // several health-check intervals
    let a_while_down = a.hits() - a_before;
    b.restart();
    let before = b.hits();
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.hits() < before + 20 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    let back = b.hits() - before;
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    report("upstream-health-check-failover", tally.total(""), tally.errors(), 0);
    assert!(a_while_down > 20, "the healthy server took only {a_while_down} requests while the other was down");
    assert!(back >= 20, "the restarted server got only {back} requests in 10 s");
    assert_eq!(tally.errors(), 0, "requests failed while a server was down: {}", tally.summary());
    assert!(tally.total("200") > 50, "too little load: {}", tally.summary());
}
