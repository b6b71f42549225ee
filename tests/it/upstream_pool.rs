//! Idle upstream connections between requests (src/proxy/lane/upstream_pool):
//! reused while they are quiet, never reused once the upstream has closed
//! them or sent bytes nobody asked for, and closed on the gateway's side
//! when the upstream closes them, even with no traffic to notice it.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::tokens::access;
use crate::common::{accept_counting, config_yaml, free_port, read_head, Gateway, SHOP_ROUTES};

/// What the upstream does on a connection once it has answered a request.
#[derive(Clone, Copy)]
enum AfterAnswer {
    /// Waits for the next request.
    Wait,
    /// Writes a whole second answer nobody asked for, then waits.
    SendUnasked,
    /// Closes its side once the connection is idle, then reports how long
    /// the gateway took to close its own.
    HalfClose,
}

/// An upstream that answers `200` with a body naming the connection and
/// the request (`c0r1`), counting the connections it accepted.
struct Upstream {
    addr: String,
    connections: Arc<AtomicUsize>,
}

impl Upstream {
    fn start(after: AfterAnswer, closed: Option<Sender<Duration>>) -> Upstream {
        let (addr, connections) = accept_counting(move |conn, n| serve(conn, n, after, closed.clone()));
        Upstream { addr, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(conn: TcpStream, n: usize, after: AfterAnswer, closed: Option<Sender<Duration>>) {
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    for r in 0.. {
        if read_head(&mut reader).is_none() {
            return;
        }
        let body = format!("c{n}r{r}");
        let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
        match after {
            AfterAnswer::Wait => {}
            AfterAnswer::SendUnasked => {
                thread::sleep(Duration::from_millis(100));
                let _ = writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged");
            }
            AfterAnswer::HalfClose => {
                // Later than the gateway puts the connection back, so that
                // only a check of an idle connection can see the close.
                thread::sleep(Duration::from_millis(300));
                let since = Instant::now();
                let _ = writer.shutdown(Shutdown::Write);
                // Whatever the gateway does next, this connection only
                // waits for its end to close.
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
                if let Some(closed) = &closed {
                    let _ = closed.send(since.elapsed());
                }
                return;
            }
        }
    }
}

fn gateway_before(upstream: &Upstream) -> Gateway {
    let (proxy, admin) = (free_port(), free_port());
    Gateway::start_yaml(&config_yaml(proxy, admin, &upstream.addr, SHOP_ROUTES, ""), proxy, admin)
}

#[test]
fn requests_one_after_another_share_one_upstream_connection() {
    let upstream = Upstream::start(AfterAnswer::Wait, None);
    let gw = gateway_before(&upstream);
    let token = access("7", "SELLER");
    for i in 0..20 {
        let reply = gw.get(&format!("/api/orders/{i}"), Some(&token), &[]);
        assert_eq!((reply.status, reply.body.as_str()), (200, format!("c0r{i}").as_str()));
    }
    assert_eq!(upstream.connections(), 1);
}

#[test]
fn bytes_an_upstream_sends_on_an_idle_connection_never_answer_the_next_request() {
    let upstream = Upstream::start(AfterAnswer::SendUnasked, None);
    let gw = gateway_before(&upstream);
    let token = access("7", "SELLER");
    for i in 0..4 {
        let reply = gw.get(&format!("/api/orders/{i}"), Some(&token), &[]);
        assert_eq!(reply.status, 200, "request {i}: {}", reply.body);
        assert_ne!(reply.body, "forged", "request {i} got the bytes sent before it was asked");
        assert_eq!(reply.body, format!("c{i}r0"), "request {i} went on a connection that was not quiet");
        // Let the unasked answer arrive while the connection is idle.
        thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(upstream.connections(), 4);
}

#[test]
fn an_upstream_closing_an_idle_connection_is_followed_without_new_traffic() {
    let (closed, closes) = channel();
    let upstream = Upstream::start(AfterAnswer::HalfClose, Some(closed));
    let gw = gateway_before(&upstream);
    let token = access("7", "SELLER");
    let reply = gw.get("/api/orders/1", Some(&token), &[]);
    assert_eq!((reply.status, reply.body.as_str()), (200, "c0r0"));
    // No request comes to notice the close; the gateway must still close
    // its end long before its 60 s idle timeout.
    let waited = closes.recv_timeout(Duration::from_secs(15));
    assert!(waited.is_ok(), "the gateway kept a connection its upstream had closed");
    let reply = gw.get("/api/orders/2", Some(&token), &[]);
    assert_eq!((reply.status, reply.body.as_str()), (200, "c1r0"));
    assert_eq!(upstream.connections(), 2);
}
