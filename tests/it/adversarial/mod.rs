//! The adversarial suite (issue 5, docs/REFERENCE.md#security-rules): a catalogue of attacks, each a
//! black-box case against the real gateway binary over HTTP or a raw socket.
//!
//! Every case names its threat and a public source, and asserts on the status
//! and on what the recording upstream did (or did not) receive, so it fails
//! if the gateway lets the attack through. `scripts/reliability-table.sh`
//! counts the cases per file for docs/RELIABILITY.md.

mod auth_endpoints;
mod framing;
mod headers;
mod limits;
mod paths;
mod slow_clients;
mod smuggling;
mod tokens;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;

/// The shop policy plus a public route that takes any method and a body, so
/// smuggling vectors have somewhere legitimate to go.
pub(crate) fn adversarial_routes() -> String {
    SHOP_ROUTES.replace(
        "default: deny",
        "  - name: inbox\n    match: { path: /api/inbox/** }\n    allow: public\n    upstream: shop\ndefault: deny",
    )
}

/// A recording upstream and a gateway with [`adversarial_routes`] in front of it.
pub(crate) fn start() -> (Upstream, Gateway) {
    let up = Upstream::start(Behaviour::Ok);
    let gw = Gateway::start_with(&up, &adversarial_routes(), "");
    (up, gw)
}

/// The status code of a raw HTTP/1.x answer, 0 when there was none (closed).
pub(crate) fn status_of(raw: &str) -> u16 {
    raw.strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Every status line in a raw answer stream (pipelined responses).
pub(crate) fn statuses(raw: &str) -> Vec<u16> {
    raw.match_indices("HTTP/1.")
        .filter_map(|(i, _)| Some(status_of(&raw[i..])).filter(|s| *s >= 100))
        .collect()
}

/// `GET path` over a raw socket with `Connection: close` and an optional token.
pub(crate) fn raw_get(gw: &Gateway, path: &str, token: Option<&str>) -> String {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    gw.raw(format!("GET {path} HTTP/1.1\r\nHost: shop\r\n{auth}Connection: close\r\n\r\n").as_bytes())
}

/// True when no request the upstream saw has `needle` in its target.
pub(crate) fn upstream_never_saw(up: &Upstream, needle: &str) -> bool {
    up.seen().iter().all(|s| !s.target.contains(needle))
}

/// Panics unless the gateway still serves a public request (it survived the attack).
pub(crate) fn assert_alive(gw: &Gateway) {
    let r = gw.get("/api/products/alive", None, &[]);
    assert_eq!(r.status, 200, "the gateway stopped answering after the attack: {}", r.body);
}

/// A listener that counts connections and never answers: a URL pointed at it
/// proves whether the gateway fetched something (`jku`, `x5u` ...).
pub(crate) struct Tripwire {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    hits: Arc<AtomicUsize>,
}

impl Tripwire {
    /// Starts listening on a free loopback port.
    pub(crate) fn start() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        Tripwire { url, hits }
    }

    /// Connections accepted so far.
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Opens a connection, writes `bytes`, and reads whatever comes back until
/// close or `quiet` of silence.
pub(crate) fn exchange_with_timeout(addr: &str, bytes: &[u8], quiet: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(quiet)).unwrap();
    // The gateway may answer and close before it read everything: ignore write errors.
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
