//! Slow clients (slowloris and its kin) never hold a connection past the
//! deadlines: a request head trickled a byte at a time or left unfinished
//! gets 408 by `server.request_header_timeout`, a trickled body to an
//! identity endpoint by `server.request_body_timeout`, an idle kept-alive
//! connection is closed by `server.keepalive_timeout` — while ordinary
//! requests keep being answered at once, and a slow upload streamed to an
//! upstream is not cut off. Run with the fast lane on and off.

use std::thread;
use std::time::Instant;

use super::*;

/// A gateway with short deadlines: 1 s for a head, 1 s for a body it reads,
/// 2 s of keep-alive idleness.
fn start_with_short_deadlines() -> (Upstream, Gateway) {
    let up = Upstream::start(Behaviour::Ok);
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, &up.addr, &adversarial_routes(), "").replacen(
        "server:\n",
        "server:\n  request_header_timeout: 1s\n  request_body_timeout: 1s\n  keepalive_timeout: 2s\n",
        1,
    );
    (up, Gateway::start_yaml(&yaml, proxy, admin))
}

/// What one slow connection saw: the bytes answered, and how long after it
/// started the gateway closed it (None: still open at the end).
struct Outcome {
    answer: String,
    closed_after: Option<Duration>,
}

/// Opens a connection, writes `first`, then one of `trickle`'s bytes every
/// 200 ms (at most 40, then nothing), and reads until the gateway closes
/// the connection or 8 s have passed.
fn slow_connection(addr: String, first: &'static str, trickle: &'static str) -> thread::JoinHandle<Outcome> {
    thread::spawn(move || {
        let start = Instant::now();
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(first.as_bytes()).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let feeder = thread::spawn(move || {
            for byte in trickle.bytes().cycle().take(if trickle.is_empty() { 0 } else { 40 }) {
                thread::sleep(Duration::from_millis(200));
                if writer.write_all(&[byte]).is_err() {
                    return;
                }
            }
        });
        stream.set_read_timeout(Some(Duration::from_millis(250))).unwrap();
        let (mut answer, mut buf) = (Vec::new(), [0u8; 4096]);
        let mut closed_after = None;
        while start.elapsed() < Duration::from_secs(8) {
            match stream.read(&mut buf) {
                Ok(0) => {
                    closed_after = Some(start.elapsed());
                    break;
                }
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => {
                    closed_after = Some(start.elapsed());
                    break;
                }
            }
        }
        let _ = feeder.join();
        Outcome { answer: String::from_utf8_lossy(&answer).into_owned(), closed_after }
    })
}

/// Asserts every outcome is a 408 JSON answer on a connection the gateway
/// closed within `within`.
fn assert_cut_off(outcomes: &[Outcome], within: Duration, what: &str) {
    for (i, o) in outcomes.iter().enumerate() {
        let closed = o.closed_after.unwrap_or_else(|| panic!("{what} #{i}: still open after 8 s; got {:?}", o.answer));
        assert!(closed <= within, "{what} #{i}: closed only after {closed:?}");
        assert_eq!(status_of(&o.answer), 408, "{what} #{i}: {:?}", o.answer);
        assert!(o.answer.contains(r#""code":"request_timeout""#), "{what} #{i}: {:?}", o.answer);
    }
}

#[test]
fn trickled_and_unfinished_heads_are_cut_off_while_normal_requests_flow() {
    let (up, gw) = start_with_short_deadlines();
    let addr = gw.proxy_addr();
    let mut trickling = Vec::new();
    let mut silent = Vec::new();
    for _ in 0..16 {
        trickling.push(slow_connection(addr.clone(), "GET /api/products/1 HTTP/1.1\r\nHost: shop\r\n", "X-Pad: aaaaaaaa\r\n"));
        silent.push(slow_connection(addr.clone(), "GET /api/products/1 HTTP/1.1\r\nHo", ""));
    }
    // Meanwhile ordinary requests are answered at once.
    for i in 0..10 {
        let start = Instant::now();
        let raw = raw_get(&gw, &format!("/api/products/{i}"), None);
        assert_eq!(status_of(&raw), 200, "{raw}");
        assert!(start.elapsed() < Duration::from_secs(1), "an ordinary request took {:?}", start.elapsed());
        thread::sleep(Duration::from_millis(100));
    }
    let trickling: Vec<Outcome> = trickling.into_iter().map(|h| h.join().unwrap()).collect();
    let silent: Vec<Outcome> = silent.into_iter().map(|h| h.join().unwrap()).collect();
    // The deadline is 1 s; scheduling on a busy machine gets generous room.
    assert_cut_off(&trickling, Duration::from_secs(4), "trickling head");
    assert_cut_off(&silent, Duration::from_secs(4), "unfinished head");
    assert_eq!(up.seen().len(), 10, "only the ordinary requests reached the upstream");
    let metrics = gw.metrics_with("status=\"408\"");
    assert!(metrics.contains("status=\"408\""), "{metrics}");
}

#[test]
fn a_connection_that_sends_nothing_is_cut_off_by_the_head_deadline() {
    let (_up, gw) = start_with_short_deadlines();
    let outcomes: Vec<Outcome> =
        (0..4).map(|_| slow_connection(gw.proxy_addr(), "", "")).map(|h| h.join().unwrap()).collect();
    assert_cut_off(&outcomes, Duration::from_secs(4), "silent connection");
}

#[test]
fn an_idle_kept_alive_connection_is_closed_by_the_keepalive_timeout() {
    let (_up, gw) = start_with_short_deadlines();
    let mut stream = TcpStream::connect(gw.proxy_addr()).unwrap();
    stream.write_all(b"GET /api/products/1 HTTP/1.1\r\nHost: shop\r\n\r\n").unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), 200);
    // Well within the keep-alive timeout the connection still serves.
    thread::sleep(Duration::from_millis(500));
    stream.write_all(b"GET /api/products/2 HTTP/1.1\r\nHost: shop\r\n\r\n").unwrap();
    let n = stream.read(&mut buf).unwrap();
    assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), 200);
    // Idle past it: closed, without an answer.
    let start = Instant::now();
    let closed = match stream.read(&mut buf) {
        Ok(0) | Err(_) => start.elapsed(),
        Ok(n) => panic!("unexpected bytes on an idle connection: {:?}", String::from_utf8_lossy(&buf[..n])),
    };
    assert!(closed >= Duration::from_millis(1500) && closed < Duration::from_secs(5), "closed after {closed:?}");
}

#[test]
fn a_trickled_body_to_an_identity_endpoint_is_cut_off_by_the_body_deadline() {
    let (_up, gw) = start_with_short_deadlines();
    let mut outcomes = Vec::new();
    for path in ["/auth/login", "/auth/register"] {
        let head: &'static str = if path == "/auth/login" {
            "POST /auth/login HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{"
        } else {
            "POST /auth/register HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{"
        };
        outcomes.push(slow_connection(gw.proxy_addr(), head, "\"a"));
    }
    let outcomes: Vec<Outcome> = outcomes.into_iter().map(|h| h.join().unwrap()).collect();
    assert_cut_off(&outcomes, Duration::from_secs(4), "trickled identity body");
}

#[test]
fn a_slow_upload_streamed_to_an_upstream_is_not_cut_off() {
    let (up, gw) = start_with_short_deadlines();
    let mut stream = TcpStream::connect(gw.proxy_addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // A chunked body is streamed upstream on either driver (the fast lane
    // reads whole, under the body deadline, only small Content-Length
    // bodies: tests/it/lane_bodies.rs). 12 bytes over about 2.4 s: longer
    // than every deadline of this gateway.
    stream
        .write_all(b"POST /api/inbox/upload HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        .unwrap();
    for byte in b"slow-upload!" {
        thread::sleep(Duration::from_millis(200));
        stream.write_all(format!("1\r\n{}\r\n", *byte as char).as_bytes()).unwrap();
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_eq!(up.last().target, "/api/inbox/upload");
}
