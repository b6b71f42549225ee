//! Resource abuse at the protocol level (docs/REFERENCE.md#sec-framing, docs/REFERENCE.md#sec-limits): oversized and
//! excessive headers, huge request lines, garbage and slow clients. Each is
//! answered with a 4xx (or a closed connection), never a crash, and the
//! gateway keeps serving other clients.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use super::*;

/// Sends `bytes` and returns the status (0 when the connection was just closed).
fn status_for(gw: &Gateway, bytes: &[u8]) -> u16 {
    status_of(&exchange_with_timeout(&gw.proxy_addr(), bytes, Duration::from_secs(3)))
}

/// Asserts a refusal: a 4xx, or the connection closed without an answer.
fn assert_refused(status: u16, what: &str) {
    assert!(status == 0 || (400..500).contains(&status), "{what}: {status}");
}

// Many header fields (500, over Pingora's 256-field limit). CVE-2023-44487-class
// resource exhaustion; OWASP ASVS V12.1 / V13.1.3; nginx large_client_header_buffers.
#[test]
fn too_many_headers_are_refused_and_the_gateway_survives() {
    let (up, gw) = start();
    let headers: String = (0..500).map(|i| format!("X-Filler-{i}: v\r\n")).collect();
    let s = status_for(&gw, format!("GET /api/products/1 HTTP/1.1\r\nHost: shop\r\n{headers}Connection: close\r\n\r\n").as_bytes());
    assert_refused(s, "500 headers");
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    assert_alive(&gw);
}

// One huge header value (1.5 MiB, over Pingora's 1 MiB header budget) and a large
// one that fits (200 KiB). HAProxy CVE-2021-40346 (header length overflow); RFC 9110
// §15.5.20 (431 for oversized header fields).
#[test]
fn one_huge_header_is_refused_and_the_gateway_survives() {
    let (up, gw) = start();
    let huge = "a".repeat(1536 * 1024);
    let s = status_for(&gw, format!("GET /api/admin/users HTTP/1.1\r\nHost: shop\r\nX-Big: {huge}\r\nConnection: close\r\n\r\n").as_bytes());
    assert_refused(s, "1.5 MiB header");
    let large = "a".repeat(200 * 1024);
    let s = status_for(&gw, format!("GET /api/admin/users HTTP/1.1\r\nHost: shop\r\nX-Big: {large}\r\nConnection: close\r\n\r\n").as_bytes());
    assert_refused(s, "200 KiB header on a protected route");
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    assert_alive(&gw);
}

// A 900 KiB Authorization header: refused before any decoding work, fast.
// docs/REFERENCE.md#sec-limits (jsonwebtoken decodes a 1.3 MB token); OWASP JWT CS.
#[test]
fn huge_authorization_header_is_refused_fast() {
    let (up, gw) = start();
    let token = format!("eyJ{}.eyJ{}.sig", "A".repeat(450 * 1024), "B".repeat(450 * 1024));
    let started = Instant::now();
    let s = status_for(&gw, format!("GET /api/admin/users HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").as_bytes());
    assert_refused(s, "900 KiB Authorization");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(up.seen().is_empty());
    assert_alive(&gw);
}

// A huge request line (2 MiB URI). RFC 9112 §3 (414/400 for long request-lines);
// Apache CVE-2004-0942-class line-length DoS.
#[test]
fn huge_request_line_is_refused_and_the_gateway_survives() {
    let (up, gw) = start();
    let long = format!("/api/products/{}", "a".repeat(2 * 1024 * 1024));
    let s = status_for(&gw, format!("GET {long} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n").as_bytes());
    assert_refused(s, "2 MiB request line");
    assert!(up.seen().is_empty(), "{:?}", up.seen().len());
    assert_alive(&gw);
}

// Binary garbage, an HTTP/2 preface on the HTTP/1 port, a bare CRLF flood and an
// invalid method: 400 or a close, never a crash. CVE-2023-25725 (HAProxy empty
// header name); RFC 9112 §2.2 (robustness); OWASP ASVS V13.1.
#[test]
fn garbage_is_refused_and_the_gateway_survives() {
    let (up, gw) = start();
    let crlf = "\r\n".repeat(10_000);
    let inputs: Vec<Vec<u8>> = vec![
        (0u8..=255).cycle().take(4096).collect(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        format!("{crlf}GET /api/admin/users HTTP/1.1\r\nHost: shop\r\n\r\n").into_bytes(),
        b"G\x00T /api/products/1 HTTP/1.1\r\nHost: shop\r\n\r\n".to_vec(),
        b"GET /api/products/1 HTTP/9.9\r\nHost: shop\r\n\r\n".to_vec(),
        b"GET /api/products/1 HTTP/1.1\r\n: empty-name\r\nHost: shop\r\n\r\n".to_vec(),
    ];
    for input in &inputs {
        let raw = exchange_with_timeout(&gw.proxy_addr(), input, Duration::from_secs(2));
        let s = status_of(&raw);
        assert!(s == 0 || (400..500).contains(&s) || s == 505 || s == 401, "{:?}: {raw}", String::from_utf8_lossy(&input[..input.len().min(40)]));
    }
    assert!(up.seen().iter().all(|s| s.target != "/api/admin/users"), "{:?}", up.seen());
    assert_alive(&gw);
}

// Slowloris: one client trickles a header byte by byte; other clients are served
// meanwhile, promptly. CVE-2007-6750 (Apache slowloris); OWASP ASVS V12.1.
#[test]
fn a_slow_client_does_not_block_others() {
    let (_up, gw) = start();
    let addr = gw.proxy_addr();
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        let bytes = b"GET /api/products/slow HTTP/1.1\r\nHost: shop\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let started = Instant::now();
        for b in bytes {
            if s.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(4) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    // While the slow client trickles, ten ordinary requests each answer promptly.
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..10 {
        let started = Instant::now();
        let r = gw.get("/api/products/1", None, &[]);
        assert_eq!(r.status, 200);
        assert!(started.elapsed() < Duration::from_secs(2), "blocked behind a slow client: {:?}", started.elapsed());
    }
    slow.join().unwrap();
}

// Many idle connections (200 opened, nothing sent) do not stop service to a new
// client. CVE-2007-6750-class connection exhaustion; RFC 9112 §9.6.
#[test]
fn idle_connections_do_not_block_new_clients() {
    let (_up, gw) = start();
    let idle: Vec<TcpStream> = (0..200).filter_map(|_| TcpStream::connect(gw.proxy_addr()).ok()).collect();
    assert!(idle.len() >= 150, "only {} connections opened", idle.len());
    let started = Instant::now();
    let r = gw.get("/api/products/1", None, &[]);
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // Half-sent requests on some of them, then everything dropped.
    for mut s in idle.into_iter().take(20) {
        let _ = s.write_all(b"GET /api/products/1 HTTP/1.1\r\nHost:");
        let mut buf = [0u8; 1];
        let _ = s.set_read_timeout(Some(Duration::from_millis(10)));
        let _ = s.read(&mut buf);
    }
    assert_alive(&gw);
}

// Slow request bodies on the identity endpoints (R-U-Dead-Yet / slow POST): clients
// that trickle a login body hold no slot a real login needs, and are cut off by the
// body timeout. CVE-2007-6750-class; OWASP ASVS V12.1; OWASP Denial of Service CS.
#[test]
fn slow_login_bodies_do_not_block_real_logins() {
    use crate::common::auth::{uniq, AuthGw, Db};
    let gw = AuthGw::start(&Db::Sqlite);
    let name = uniq("patient");
    gw.create_user(&name, "correct-horse-battery-staple-42", "CUSTOMER");
    let slow: Vec<TcpStream> = (0..30)
        .filter_map(|_| {
            let mut s = TcpStream::connect(gw.gw.proxy_addr()).ok()?;
            s.write_all(b"POST /auth/login HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user").ok()?;
            Some(s)
        })
        .collect();
    assert!(slow.len() >= 25, "{}", slow.len());
    let started = Instant::now();
    let r = gw.login(&name, "correct-horse-battery-staple-42");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(5), "a login waited behind slow bodies: {:?}", started.elapsed());
    drop(slow);
    assert_eq!(gw.gw.get("/api/products/1", None, &[]).status, 200);
}
