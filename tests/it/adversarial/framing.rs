//! Framing errors on every path — the identity endpoints, forward-auth and
//! proxied routes — answer the JSON 400 every refusal answers (501 for a
//! transfer coding the gateway does not implement) and close the
//! connection; a head whose framing could be read two ways is refused before
//! any byte of it reaches an upstream. Never a 500, never an empty body.

use super::*;

/// The JSON body of a raw answer.
fn json_of(raw: &str) -> serde_json::Value {
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {raw}"))
}

/// Sends `bytes` on its own connection: the whole answer, once the gateway closed.
fn answer_to(gw: &Gateway, bytes: &str) -> String {
    exchange_with_timeout(&gw.proxy_addr(), bytes.as_bytes(), Duration::from_secs(3))
}

/// Asserts `raw` is one JSON refusal with `status` and `code`, after which
/// the gateway closed the connection.
fn assert_refused(raw: &str, status: u16, code: &str, what: &str) {
    assert_eq!(statuses(raw), [status], "{what}: {raw}");
    assert_eq!(json_of(raw)["code"], code, "{what}: {raw}");
    assert!(raw.to_ascii_lowercase().contains("content-type: application/json"), "{what}: {raw}");
}

// The exact bytes of the finding: `Content-Length: 5` beside a chunked
// `Transfer-Encoding`, then a chunk that is not one. Before, the identity
// endpoints answered 500 with an empty body, and a proxied route passed a
// partial request upstream first.
#[test]
fn content_length_beside_chunked_with_a_broken_chunk_is_a_json_400_everywhere() {
    let (up, gw) = start();
    for path in ["/auth/login", "/auth/refresh", "/auth/register", "/auth/decide", "/api/inbox/x", "/api/seller/x"] {
        let raw = answer_to(
            &gw,
            &format!("POST {path} HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"),
        );
        assert_refused(&raw, 400, "bad_request", path);
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    let metrics = gw.metrics();
    assert!(!metrics.lines().any(|l| l.starts_with("nexora_requests_total") && l.contains("status=\"500\"")), "{metrics}");
    assert_alive(&gw);
}

// RFC 9112 §6.1: a transfer coding the server does not understand is 501;
// doubled `chunked`, or an empty coding, is broken framing (400).
#[test]
fn unknown_or_doubled_transfer_codings_are_refused_before_the_upstream() {
    let (up, gw) = start();
    let chunked = "2\r\n{}\r\n0\r\n\r\n";
    for (te, status, code) in [
        ("Transfer-Encoding: cow, chunked\r\n", 501, "not_implemented"),
        ("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501, "not_implemented"),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400, "bad_request"),
        ("Transfer-Encoding: chunked, chunked\r\n", 400, "bad_request"),
        ("Transfer-Encoding: chunked,\r\n", 400, "bad_request"),
    ] {
        for path in ["/api/inbox/x", "/auth/login"] {
            let raw = answer_to(&gw, &format!("POST {path} HTTP/1.1\r\nHost: shop\r\n{te}\r\n{chunked}"));
            assert_refused(&raw, status, code, &format!("{te:?} {path}"));
        }
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    assert_alive(&gw);
}

// A chunked body whose syntax breaks after the head was accepted: the
// identity endpoints read the body themselves and answer the JSON 400; a
// proxied route answers it too (its upstream may have seen the head).
#[test]
fn a_broken_chunk_is_a_json_400_not_a_500() {
    let (_up, gw) = start();
    for path in ["/auth/login", "/api/inbox/x"] {
        for broken in ["zz\r\n{}\r\n0\r\n\r\n", "2\r\n{}XX0\r\n\r\n", "ffffffffffffffffff\r\n"] {
            let raw = answer_to(
                &gw,
                &format!("POST {path} HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{broken}"),
            );
            assert_refused(&raw, 400, "bad_request", &format!("{path} {broken:?}"));
        }
    }
    let metrics = gw.metrics();
    assert!(!metrics.lines().any(|l| l.starts_with("nexora_requests_total") && l.contains("status=\"500\"")), "{metrics}");
    let log = gw.log();
    assert!(!log.lines().any(|l| l.contains("ERROR")), "client garbage logged as an error:\n{log}");
}
