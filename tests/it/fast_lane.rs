//! The HTTP/1 fast lane (src/proxy/lane) beside Pingora's full proxy: both
//! serving requests on one client connection, and the upstream behaviours
//! the lane must handle as Pingora's proxy does — a pooled connection that
//! fails when reused, an answer delimited by closing the connection,
//! informational answers, and a `101` nobody asked for.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::common::tokens::access;
use crate::common::upstream::{Behaviour, Upstream};
use crate::common::{accept_counting, config_yaml, free_port, read_head, Gateway, SHOP_ROUTES};

/// What the scripted upstream does with the `n`th request (from 0) on a
/// connection: the bytes to answer, and whether to close after them.
type Script = fn(usize) -> (&'static str, bool);

/// An upstream that answers by `script`; counts the connections it accepted.
struct ScriptedUpstream {
    addr: String,
    connections: Arc<AtomicUsize>,
}

impl ScriptedUpstream {
    fn start(script: Script) -> ScriptedUpstream {
        let (addr, connections) = accept_counting(move |conn, _| serve_script(conn, script));
        ScriptedUpstream { addr, connections }
    }
}

fn serve_script(conn: TcpStream, script: Script) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    for n in 0.. {
        // Read one request head (the lane only sends bodiless requests).
        if read_head(&mut reader).is_none() {
            return;
        }
        let (answer, close) = script(n);
        if writer.write_all(answer.as_bytes()).is_err() || close {
            return;
        }
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body from `reader`:
/// (status line and headers, body).
fn read_response(reader: &mut BufReader<TcpStream>) -> (String, String) {
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "connection closed; head so far: {head}");
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (head, String::from_utf8(body).unwrap())
}

fn gateway_before(upstream: &str) -> Gateway {
    let (proxy, admin) = (free_port(), free_port());
    Gateway::start_yaml(&config_yaml(proxy, admin, upstream, SHOP_ROUTES, ""), proxy, admin)
}

#[test]
fn one_client_connection_mixes_lane_and_full_proxy_requests() {
    let upstream = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start(&upstream);
    let token = access("7", "SELLER");
    let stream = TcpStream::connect(gw.proxy_addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let auth = format!("Authorization: Bearer {token}\r\nX-User-Role: ADMIN\r\n");
    let requests = [
        // The lane: a plain GET, HEAD, GET with Connection: keep-alive.
        format!("GET /api/orders/1 HTTP/1.1\r\nHost: shop\r\n{auth}\r\n"),
        // Pingora's proxy: a body, then a header the lane leaves to it.
        format!("POST /api/seller/orders HTTP/1.1\r\nHost: shop\r\n{auth}Content-Length: 7\r\n\r\n{{\"a\":1}}"),
        format!("GET /api/orders/2 HTTP/1.1\r\nHost: shop\r\n{auth}TE: trailers\r\n\r\n"),
        format!("GET /api/orders/3 HTTP/1.1\r\nHost: shop\r\n{auth}Connection: keep-alive\r\n\r\n"),
        // A refusal on the lane, then the lane again.
        "GET /api/orders/4 HTTP/1.1\r\nHost: shop\r\n\r\n".to_owned(),
        format!("GET /api/orders/5 HTTP/1.1\r\nHost: shop\r\n{auth}\r\n"),
    ];
    let mut statuses = Vec::new();
    for request in &requests {
        writer.write_all(request.as_bytes()).unwrap();
        let (head, _) = read_response(&mut reader);
        statuses.push(head.lines().next().unwrap().to_owned());
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 401, 200].map(|s| format!("HTTP/1.1 {s} {}", if s == 200 { "OK" } else { "Unauthorized" })),
    );
    let seen = upstream.seen();
    let targets: Vec<_> = seen.iter().map(|s| format!("{} {}", s.method, s.target)).collect();
    assert_eq!(
        targets,
        ["GET /api/orders/1", "POST /api/seller/orders", "GET /api/orders/2", "GET /api/orders/3", "GET /api/orders/5"]
    );
    for s in &seen {
        assert_eq!(s.header_values("x-user-role"), ["SELLER"], "{s:?}");
        assert_eq!(s.header_values("x-user-id"), ["7"], "{s:?}");
        assert!(s.header("connection").is_none_or(|v| !v.contains("X-User")), "{s:?}");
    }
}

#[test]
fn a_reused_upstream_connection_that_fails_is_retried_on_a_new_one() {
    // Every connection answers its first request and drops the second
    // without a word: the gateway pools the connection after the first
    // answer, and the next request finds it dead.
    let upstream = ScriptedUpstream::start(|n| match n {
        0 => ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false),
        _ => ("", true),
    });
    let gw = gateway_before(&upstream.addr);
    let token = access("7", "SELLER");
    for i in 0..5 {
        let reply = gw.get(&format!("/api/orders/{i}"), Some(&token), &[]);
        assert_eq!((reply.status, reply.body.as_str()), (200, "ok"), "request {i}");
    }
    assert!(upstream.connections.load(Ordering::SeqCst) >= 5);
}

#[test]
fn an_answer_delimited_by_close_reaches_the_client_chunked_and_whole() {
    let upstream = ScriptedUpstream::start(|_| ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true));
    let gw = gateway_before(&upstream.addr);
    let token = access("7", "SELLER");
    let raw = gw.raw(
        format!("GET /api/orders/1 HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{raw}");
    assert!(raw.contains("until the end"), "{raw}");
    assert!(raw.ends_with("0\r\n\r\n"), "the chunked body must be terminated: {raw:?}");
}

#[test]
fn informational_answers_are_skipped_and_the_final_one_relayed() {
    let upstream = ScriptedUpstream::start(|_| {
        ("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal", false)
    });
    let gw = gateway_before(&upstream.addr);
    let token = access("7", "SELLER");
    let reply = gw.get("/api/orders/1", Some(&token), &[]);
    assert_eq!((reply.status, reply.body.as_str()), (200, "final"));
}

#[test]
fn a_101_to_a_request_without_upgrade_is_a_bad_gateway() {
    let upstream = ScriptedUpstream::start(|_| {
        ("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nSMUGGLED", false)
    });
    let gw = gateway_before(&upstream.addr);
    let token = access("7", "SELLER");
    let reply = gw.get("/api/orders/1", Some(&token), &[]);
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(reply.json()["code"], "bad_gateway");
    assert!(!reply.body.contains("SMUGGLED"));
}

/// The value of `nexora_proxy_connections_total{driver}` in `metrics`.
fn connections_served_by(metrics: &str, driver: &str) -> u64 {
    let line = format!("nexora_proxy_connections_total{{driver=\"{driver}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[test]
fn server_fast_lane_false_hands_every_connection_to_the_full_proxy() {
    let upstream = Upstream::start(Behaviour::Ok);
    let token = access("7", "SELLER");
    for (setting, driver, other) in [("true", "fast_lane", "full"), ("false", "full", "fast_lane")] {
        upstream.clear();
        let (proxy, admin) = (free_port(), free_port());
        let yaml = config_yaml(proxy, admin, &upstream.addr, SHOP_ROUTES, "")
            .replacen("server:\n", &format!("server:\n  fast_lane: {setting}\n"), 1);
        let gw = Gateway::start_yaml(&yaml, proxy, admin);
        for path in ["/api/orders/1", "/api/orders/2"] {
            let r = gw.get(path, Some(&token), &[("X-User-Role", "ADMIN")]);
            assert_eq!(r.status, 200, "fast_lane: {setting}");
        }
        assert_eq!(gw.get("/api/orders/3", None, &[]).status, 401, "fast_lane: {setting}");
        // The same decisions and identity headers on either driver.
        let seen = upstream.seen();
        assert_eq!(seen.len(), 2, "fast_lane: {setting}");
        for s in &seen {
            assert_eq!(s.header_values("x-user-role"), ["SELLER"], "fast_lane: {setting}: {s:?}");
        }
        let metrics = gw.metrics();
        assert!(connections_served_by(&metrics, driver) >= 1, "fast_lane: {setting}:\n{metrics}");
        assert_eq!(connections_served_by(&metrics, other), 0, "fast_lane: {setting}:\n{metrics}");
    }
}

#[test]
fn a_request_pipelined_while_the_previous_one_waits_is_never_served() {
    // Both drivers run Pingora's HTTP/1 sessions with pipelining off
    // (docs/REFERENCE.md, "Framing"): the early request ends the exchange,
    // and only the first request ever reaches the upstream.
    let upstream = Upstream::start(Behaviour::Slow(Duration::from_millis(600)));
    let token = access("7", "SELLER");
    for setting in ["true", "false"] {
        upstream.clear();
        let (proxy, admin) = (free_port(), free_port());
        let yaml = config_yaml(proxy, admin, &upstream.addr, SHOP_ROUTES, "")
            .replacen("server:\n", &format!("server:\n  fast_lane: {setting}\n"), 1);
        let gw = Gateway::start_yaml(&yaml, proxy, admin);
        let mut stream = TcpStream::connect(gw.proxy_addr()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let request = |n: u8| format!("GET /api/orders/{n} HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\n\r\n");
        stream.write_all(request(1).as_bytes()).unwrap();
        thread::sleep(Duration::from_millis(150));
        stream.write_all(request(2).as_bytes()).unwrap();
        let mut answered = Vec::new();
        // Closed, by FIN or (unread bytes in the gateway's buffer) by RST.
        if let Err(e) = stream.read_to_end(&mut answered) {
            let open = matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
            assert!(!open, "fast_lane: {setting}: the connection was left open");
        }
        let answered = String::from_utf8_lossy(&answered);
        assert!(answered.matches("HTTP/1.1 ").count() <= 1, "fast_lane: {setting}: {answered}");
        thread::sleep(Duration::from_millis(800));
        let targets: Vec<_> = upstream.seen().iter().map(|s| s.target.clone()).collect();
        assert_eq!(targets, ["/api/orders/1"], "fast_lane: {setting}");
    }
}
