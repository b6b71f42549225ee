//! Request bodies on the HTTP/1 fast lane (src/proxy/lane): small writes
//! framed by one `Content-Length` are read whole once admitted, then relayed,
//! and sent again when a pooled upstream connection fails; a refused write's
//! body is never read; a body that stalls gets 408 and never reaches the
//! upstream. Bodies the lane leaves to Pingora's proxy (over 64 KiB,
//! chunked) arrive as whole as those it takes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::tokens::access;
use crate::common::{accept_counting, config_yaml, free_port, read_head, Gateway, SHOP_ROUTES};

/// The lane's body limit (`classify::MAX_LANE_BODY`).
const LANE_LIMIT: usize = 64 * 1024;

/// One request as the echoing upstream read it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    content_length: Option<String>,
    body: Vec<u8>,
}

/// An upstream that reads each request's `Content-Length` or chunked body,
/// records it, and answers with the body's length and first bytes. With
/// `drop_second`, every connection closes silently on its second request, as
/// an upstream whose idle connection timed out would.
struct EchoUpstream {
    addr: String,
    received: Arc<Mutex<Vec<Received>>>,
    connections: Arc<AtomicUsize>,
}

impl EchoUpstream {
    fn start(drop_second: bool) -> EchoUpstream {
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let (addr, connections) = accept_counting(move |conn, _| echo(conn, &log, drop_second));
        EchoUpstream { addr, received, connections }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn echo(conn: TcpStream, log: &Mutex<Vec<Received>>, drop_second: bool) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    for n in 0.. {
        let Some(head) = read_head(&mut reader) else { return };
        if drop_second && n == 1 {
            return;
        }
        let method = head[0].split(' ').next().unwrap_or("").to_owned();
        let header = |name: &str| {
            head[1..].iter().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        let content_length = header("content-length");
        let body = match (&content_length, header("transfer-encoding")) {
            (_, Some(_)) => read_chunked(&mut reader),
            (Some(n), None) => {
                let mut body = vec![0; n.parse().unwrap()];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                body
            }
            (None, None) => Vec::new(),
        };
        let answer = format!("{} {}", body.len(), String::from_utf8_lossy(&body[..body.len().min(16)]));
        log.lock().unwrap().push(Received { method, content_length, body });
        let wire = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
        if writer.write_all(wire.as_bytes()).is_err() {
            return;
        }
    }
}


fn read_chunked(reader: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).unwrap();
        body.extend_from_slice(&chunk[..size]);
        if size == 0 {
            return body;
        }
    }
}

/// One response with a `Content-Length` body: (status, body).
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, String) {
    let head = read_head(reader).expect("a response");
    let status = head[0].split(' ').nth(1).unwrap().parse().unwrap();
    let length = head[1..]
        .iter()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .map_or(0, |(_, v)| v.trim().parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

/// A gateway before `upstream` with `server.request_body_timeout` set.
fn gateway(upstream: &str, body_timeout: &str) -> Gateway {
    let (proxy, admin) = (free_port(), free_port());
    let yaml = config_yaml(proxy, admin, upstream, SHOP_ROUTES, "")
        .replacen("server:\n", &format!("server:\n  request_body_timeout: {body_timeout}\n"), 1);
    Gateway::start_yaml(&yaml, proxy, admin)
}

/// An echoing upstream (see [`EchoUpstream::start`]), a gateway before it
/// with `server.request_body_timeout: body_timeout`, and a SELLER's token.
fn rig(drop_second: bool, body_timeout: &str) -> (EchoUpstream, Gateway, String) {
    let upstream = EchoUpstream::start(drop_second);
    let gw = gateway(&upstream.addr, body_timeout);
    (upstream, gw, access("7", "SELLER"))
}

fn connect(gw: &Gateway) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(gw.proxy_addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (stream.try_clone().unwrap(), BufReader::new(stream))
}

/// A body of `len` bytes that is not the same byte over and over, so a
/// shifted or truncated copy cannot pass for it.
fn body_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]).collect()
}

fn write_request(method: &str, path: &str, token: &str, body: &[u8]) -> Vec<u8> {
    let mut wire = format!(
        "{method} {path} HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(body);
    wire
}

#[test]
fn writes_of_every_size_reach_the_upstream_whole_on_one_connection() {
    let (upstream, gw, token) = rig(false, "5s");
    let (mut writer, mut reader) = connect(&gw);
    let cases: [(&str, usize); 7] = [
        ("POST", 13),
        ("PUT", 0),
        ("PATCH", 1500),
        ("DELETE", 7),
        ("POST", LANE_LIMIT),
        // Past the lane's limit: Pingora's proxy streams it.
        ("POST", LANE_LIMIT + 1),
        ("PUT", 300_000),
    ];
    for (i, (method, len)) in cases.iter().enumerate() {
        let body = body_of(*len);
        writer.write_all(&write_request(method, &format!("/api/seller/items/{i}"), &token, &body)).unwrap();
        let (status, answer) = read_response(&mut reader);
        assert_eq!(status, 200, "{method} of {len} bytes");
        assert!(answer.starts_with(&format!("{len} ")), "{method} of {len} bytes: {answer}");
    }
    let received = upstream.received();
    assert_eq!(received.len(), cases.len());
    for ((method, len), got) in cases.iter().zip(&received) {
        assert_eq!(&got.method, method);
        assert_eq!(got.body, body_of(*len), "{method} of {len} bytes arrived changed");
        assert_eq!(got.content_length.as_deref(), Some(len.to_string().as_str()), "{method} of {len} bytes");
    }
    // The lane and Pingora's proxy pool their upstream connections apart.
    assert!(upstream.connections.load(Ordering::SeqCst) <= 2, "upstream connections were not reused");
}

#[test]
fn a_body_in_pieces_is_joined_and_a_request_pipelined_behind_a_body_is_never_smuggled() {
    let (upstream, gw, token) = rig(false, "5s");
    let (mut writer, mut reader) = connect(&gw);
    let body = body_of(4000);
    let wire = write_request("POST", "/api/seller/pieces", &token, &body);
    // The head and the body's first bytes, then the rest in two late pieces.
    let cut = wire.len() - body.len() + 10;
    writer.write_all(&wire[..cut]).unwrap();
    thread::sleep(Duration::from_millis(100));
    writer.write_all(&wire[cut..cut + 1000]).unwrap();
    thread::sleep(Duration::from_millis(100));
    writer.write_all(&wire[cut + 1000..]).unwrap();
    assert_eq!(read_response(&mut reader).0, 200);

    // A body that looks like a request, and a request pipelined right
    // behind it in the same write: the first is passed on as data; the
    // second is never served (pipelining is off, as on Pingora's proxy), and
    // the connection closes after the first answer so the client retries it.
    let inner = format!("GET /api/admin/users HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\n\r\n");
    let mut pipelined = write_request("POST", "/api/seller/notes", &token, inner.as_bytes());
    pipelined.extend_from_slice(&write_request("PUT", "/api/seller/notes/2", &token, b"second"));
    writer.write_all(&pipelined).unwrap();
    assert_eq!(read_response(&mut reader).0, 200);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "an answer to the pipelined request: {}", String::from_utf8_lossy(&rest));

    let received = upstream.received();
    let summary: Vec<_> = received.iter().map(|r| (r.method.as_str(), r.body.len())).collect();
    assert_eq!(summary, [("POST", 4000), ("POST", inner.len())]);
    assert_eq!(received[0].body, body);
    assert_eq!(received[1].body, inner.as_bytes(), "the body that looks like a request is passed on as data");
}

#[test]
fn a_write_on_a_pooled_connection_that_died_is_sent_again_with_its_body() {
    let (upstream, gw, token) = rig(true, "5s");
    for i in 0..4 {
        let body = body_of(100 + i);
        let (mut writer, mut reader) = connect(&gw);
        writer.write_all(&write_request("POST", "/api/seller/retry", &token, &body)).unwrap();
        let (status, answer) = read_response(&mut reader);
        assert_eq!((status, answer.split(' ').next().unwrap()), (200, (100 + i).to_string().as_str()), "request {i}");
    }
    let received = upstream.received();
    assert_eq!(received.len(), 4, "each write reached the upstream once, whole: {received:?}");
    for (i, got) in received.iter().enumerate() {
        assert_eq!(got.body, body_of(100 + i));
    }
    assert!(upstream.connections.load(Ordering::SeqCst) >= 4, "the dead pooled connections were replaced");
}

#[test]
fn a_refused_write_is_answered_unread_and_its_connection_closed() {
    let upstream = EchoUpstream::start(false);
    let gw = gateway(&upstream.addr, "5s");
    let customer = access("9", "CUSTOMER");
    for (token, status) in [(None, 401), (Some(customer.as_str()), 403)] {
        let (mut writer, mut reader) = connect(&gw);
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        // Announced but never sent: the refusal must not wait for it.
        let head = format!("POST /api/seller/items HTTP/1.1\r\nHost: shop\r\n{auth}Content-Length: 5000\r\n\r\n");
        writer.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        assert_eq!(read_response(&mut reader).0, status);
        assert!(started.elapsed() < Duration::from_secs(4), "the refusal waited for the body");
        // The body that follows can never be taken for a request: the
        // gateway has closed the connection.
        let _ = writer.write_all(b"GET /api/seller/smuggled HTTP/1.1\r\nHost: shop\r\n\r\n");
        reader.get_ref().set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut rest = Vec::new();
        match reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "an answer after an unread body: {}", String::from_utf8_lossy(&rest)),
            Err(e) => assert!(
                !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
                "the connection was left open"
            ),
        }
    }
    assert!(upstream.received().is_empty());
}

#[test]
fn a_body_that_stalls_gets_408_and_nothing_reaches_the_upstream() {
    let (upstream, gw, token) = rig(false, "1s");
    // Half a body, then silence; and a body trickled a byte at a time,
    // which a per-read timeout would wait for forever.
    for trickle in [false, true] {
        let (mut writer, mut reader) = connect(&gw);
        let wire = write_request("POST", "/api/seller/slow", &token, &body_of(200));
        let sent = wire.len() - 100;
        writer.write_all(&wire[..sent]).unwrap();
        let trickler = trickle.then(|| {
            let mut writer = writer.try_clone().unwrap();
            thread::spawn(move || {
                for _ in 0..40 {
                    thread::sleep(Duration::from_millis(100));
                    if writer.write_all(b"x").is_err() {
                        return;
                    }
                }
            })
        });
        let started = Instant::now();
        let (status, answer) = read_response(&mut reader);
        assert_eq!(status, 408, "trickle: {trickle}: {answer}");
        assert!(started.elapsed() < Duration::from_secs(3), "trickle: {trickle}: took {:?}", started.elapsed());
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
        if let Some(t) = trickler {
            t.join().unwrap();
        }
    }
    assert!(upstream.received().is_empty(), "a partial body reached the upstream");
    // The gateway keeps serving.
    let (mut writer, mut reader) = connect(&gw);
    writer.write_all(&write_request("POST", "/api/seller/after", &token, b"ok")).unwrap();
    assert_eq!(read_response(&mut reader).0, 200);
}

#[test]
fn a_client_that_hangs_up_mid_body_sends_nothing_upstream() {
    let (upstream, gw, token) = rig(false, "5s");
    {
        let (mut writer, _reader) = connect(&gw);
        let wire = write_request("POST", "/api/seller/cut", &token, &body_of(3000));
        writer.write_all(&wire[..wire.len() - 1000]).unwrap();
    }
    thread::sleep(Duration::from_millis(300));
    assert!(upstream.received().is_empty(), "a partial body reached the upstream");
    let (mut writer, mut reader) = connect(&gw);
    writer.write_all(&write_request("POST", "/api/seller/after", &token, b"ok")).unwrap();
    assert_eq!(read_response(&mut reader).0, 200);
    assert_eq!(upstream.received().len(), 1);
}

#[test]
fn a_chunked_write_goes_to_the_full_proxy_and_arrives_whole() {
    let (upstream, gw, token) = rig(false, "5s");
    let (mut writer, mut reader) = connect(&gw);
    let head = format!(
        "POST /api/seller/chunks HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).unwrap();
    writer.write_all(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").unwrap();
    let (status, answer) = read_response(&mut reader);
    assert_eq!((status, answer.as_str()), (200, "11 hello world"));
    assert_eq!(upstream.received()[0].body, b"hello world");
}

#[test]
fn a_grpc_call_over_http1_is_refused_in_grpcs_terms_not_the_lanes_json() {
    let upstream = EchoUpstream::start(false);
    let gw = gateway(&upstream.addr, "5s");
    let raw = gw.raw(
        b"POST /api/seller/pkg.Orders/Create HTTP/1.1\r\nHost: shop\r\nContent-Type: application/grpc\r\nContent-Length: 5\r\nConnection: close\r\n\r\n\0\0\0\0\0",
    );
    let lower = raw.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{raw}");
    assert!(lower.contains("grpc-status: 16"), "{raw}");
    assert!(!raw.contains("not_authenticated"), "the JSON refusal: {raw}");
    assert!(upstream.received().is_empty());
}
