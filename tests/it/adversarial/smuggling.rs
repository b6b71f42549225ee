//! Request smuggling over raw sockets (docs/REFERENCE.md#sec-framing): framing
//! ambiguities that could make the gateway and the backend disagree on where
//! a request ends. Each vector hides `GET /api/admin/smuggled` (no token)
//! where a desynchronised backend would read it as a request of its own; the
//! case fails if the upstream ever receives it. Where RFC 9112 says the
//! message MUST be rejected, the case also asserts the 400.

use super::*;

/// The request a desync would deliver to the backend without any check.
const SMUGGLED: &str = "GET /api/admin/smuggled HTTP/1.1\r\nHost: shop\r\n\r\n";

/// Sends `bytes` on one connection and returns every status answered on it;
/// then asserts the upstream never saw the smuggled request.
fn send(gw: &Gateway, up: &Upstream, bytes: &str) -> Vec<u16> {
    let raw = exchange_with_timeout(&gw.proxy_addr(), bytes.as_bytes(), Duration::from_millis(1500));
    // Give a desynchronised upstream connection time to read what it was sent.
    std::thread::sleep(Duration::from_millis(200));
    assert!(upstream_never_saw(up, "smuggled"), "SMUGGLED: the upstream saw {:?}\nanswer: {raw}", up.seen());
    statuses(&raw)
}

/// Asserts the first answer is a 400 (RFC 9112 "MUST reject").
fn assert_400(statuses: &[u16], what: &str) {
    assert_eq!(statuses.first(), Some(&400), "{what}: {statuses:?}");
}

// CL.TE: both headers; the front end must not use Content-Length, and must close
// the connection after answering. RFC 9112 §6.1 and §6.3; PortSwigger "HTTP
// Desync Attacks" (Kettle, 2019); cloudflare/pingora#945.
#[test]
fn cl_te_does_not_smuggle() {
    let (up, gw) = start();
    let body = format!("0\r\n\r\n{SMUGGLED}");
    let req = format!(
        "POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    let statuses = send(&gw, &up, &req);
    assert!(statuses.len() <= 1, "the connection stayed open for a second request: {statuses:?}");
    assert!(matches!(statuses.first(), Some(400) | Some(200) | None), "{statuses:?}");
    assert_alive(&gw);
}

// TE.CL: chunked body whose first chunk holds a request; a short Content-Length
// would end the body early at a CL-reading backend. RFC 9112 §6.3 rule 3;
// PortSwigger "HTTP request smuggling" (TE.CL).
#[test]
fn te_cl_does_not_smuggle() {
    let (up, gw) = start();
    let chunk = format!("{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n", SMUGGLED.len());
    let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n{chunk}");
    let statuses = send(&gw, &up, &req);
    assert!(statuses.len() <= 1, "{statuses:?}");
    assert_alive(&gw);
}

// CL.CL with different values: MUST be rejected. RFC 9112 §6.3 rule 5;
// RFC 9110 §8.6; HAProxy CVE-2023-40225 (empty Content-Length).
#[test]
fn differing_duplicate_content_lengths_are_rejected() {
    let (up, gw) = start();
    for cls in ["Content-Length: 5\r\nContent-Length: 50\r\n", "Content-Length: 50\r\nContent-Length: 5\r\n", "Content-Length: 5, 50\r\n"] {
        let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\n{cls}\r\nhello{SMUGGLED}");
        assert_400(&send(&gw, &up, &req), cls);
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// CL.CL with equal values is one length (RFC 9110 §8.6 allows either accepting or
// rejecting); the body still ends where both agree and nothing is smuggled.
// RFC 9112 §6.3; Http11Probe CL.CL cases.
#[test]
fn equal_duplicate_content_lengths_frame_one_body() {
    let (up, gw) = start();
    let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello{SMUGGLED}");
    let statuses = send(&gw, &up, &req);
    // Pingora does not serve pipelined requests: the one after the body is dropped
    // (or, if ever served, checked by the policy: 401). Never forwarded either way.
    match statuses.as_slice() {
        [400] => assert!(up.seen().is_empty()),
        [200] | [200, 401] => assert_eq!(up.seen().len(), 1, "{:?}", up.seen()),
        other => panic!("{other:?}"),
    }
}

// Malformed Content-Length values a lenient parser would read differently.
// RFC 9110 §8.6 (1*DIGIT); CVE-2023-40225 (HAProxy, empty CL); Http11Probe.
#[test]
fn malformed_content_length_is_rejected() {
    let (up, gw) = start();
    for cl in ["+5", "0x5", "-1", "5 5", "", "5.0", "05a", "99999999999999999999999"] {
        let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nContent-Length: {cl}\r\n\r\nhello{SMUGGLED}");
        assert_400(&send(&gw, &up, &req), &format!("Content-Length: {cl:?}"));
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// TE.TE obfuscation: codings whose last element is not `chunked` MUST get 400.
// RFC 9112 §6.3 rule 4; PortSwigger "Obfuscating the TE header";
// RUSTSEC-2026-0034 / CVE-2026-2835 (pingora multiple TE values).
#[test]
fn obfuscated_transfer_encoding_is_rejected() {
    let (up, gw) = start();
    for te in [
        "Transfer-Encoding: xchunked\r\n",
        "Transfer-Encoding: chunked, identity\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding: chunked-false\r\n",
        "Transfer-Encoding: \"chunked\"\r\n",
    ] {
        let body = format!("0\r\n\r\n{SMUGGLED}");
        let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\n{te}\r\n{body}", body.len());
        assert_400(&send(&gw, &up, &req), te);
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// TE spelled with whitespace: ` chunked` and a tab are OWS (the same coding), a
// space before the colon MUST be rejected. RFC 9112 §5.1 ("MUST respond 400 ...
// whitespace between field name and colon"); PortSwigger TE obfuscation list.
#[test]
fn whitespace_variants_of_transfer_encoding_do_not_smuggle() {
    let (up, gw) = start();
    let body = format!("0\r\n\r\n{SMUGGLED}");
    for te in ["Transfer-Encoding:  chunked\r\n", "Transfer-Encoding:\tchunked\r\n", "Transfer-Encoding: chunked \r\n"] {
        let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\n{te}\r\n{body}", body.len());
        let statuses = send(&gw, &up, &req);
        assert!(statuses.len() <= 1, "{te:?}: {statuses:?}");
    }
    for te in ["Transfer-Encoding : chunked\r\n", "Transfer-Encoding\t: chunked\r\n", " Transfer-Encoding: chunked\r\n"] {
        let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nX-A: b\r\n{te}Content-Length: {}\r\n\r\n{body}", body.len());
        assert_400(&send(&gw, &up, &req), te);
    }
}

// obs-fold (a header line starting with whitespace continues the previous one):
// a server MUST reject it or replace it with a space; folding must never create a
// header or hide Transfer-Encoding. RFC 9112 §5.2; PortSwigger "HTTP/1.1 must die".
#[test]
fn obs_fold_continuations_are_rejected() {
    let (up, gw) = start();
    for folded in [
        "X-Note: a\r\n X-User-Role: ADMIN\r\n",
        "X-Note: a\r\n\tTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding:\r\n chunked\r\n",
    ] {
        let body = format!("0\r\n\r\n{SMUGGLED}");
        let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\n{folded}Content-Length: {}\r\n\r\n{body}", body.len());
        assert_400(&send(&gw, &up, &req), folded);
    }
    assert!(up.seen().iter().all(|s| s.header_values("x-user-role").is_empty()), "{:?}", up.seen());
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}

// HTTP/1.0 with Transfer-Encoding: the recipient MUST treat the framing as faulty.
// RFC 9112 §6.1 ("... MUST treat it as faulty"); RUSTSEC-2026-0034.
#[test]
fn http10_with_transfer_encoding_is_rejected() {
    let (up, gw) = start();
    let body = format!("0\r\n\r\n{SMUGGLED}");
    let req = format!("POST /api/inbox/a HTTP/1.0\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    assert_400(&send(&gw, &up, &req), "HTTP/1.0 + TE");
    assert!(up.seen().is_empty());
}

// A second request hidden inside a correctly framed body is body, not a request:
// the upstream sees exactly one POST and then the pipelined request is checked on
// its own. RFC 9112 §6.3; PortSwigger "HTTP request smuggling" (basic CL).
#[test]
fn a_request_inside_a_body_stays_body() {
    let (up, gw) = start();
    let req = format!(
        "POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\n\r\n{SMUGGLED}GET /api/admin/smuggled HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n",
        SMUGGLED.len()
    );
    let statuses = send(&gw, &up, &req);
    // The pipelined request after the body is dropped by Pingora (no pipelining) or
    // answered 401 by the policy; it is never forwarded.
    assert!(statuses == [200] || statuses == [200, 401], "misframed: {statuses:?}");
    let seen = up.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].target, "/api/inbox/a");
}

// Chunk-size and chunk-extension tricks: bare `;`, LF-only line ends, overflowing
// sizes, signed or prefixed sizes. RFC 9112 §7.1; "TERM.EXT" and chunk-size
// overflow cases (Http11Probe; CVE-2021-40346 HAProxy integer overflow).
#[test]
fn malformed_chunks_do_not_smuggle() {
    let (up, gw) = start();
    for chunked in [
        format!("5;\r\nhello\r\n0\r\n\r\n{SMUGGLED}"),
        format!("5\nhello\n0\n\n{SMUGGLED}"),
        format!("ffffffffffffffffff1\r\nhello\r\n0\r\n\r\n{SMUGGLED}"),
        format!("+5\r\nhello\r\n0\r\n\r\n{SMUGGLED}"),
        format!("0x5\r\nhello\r\n0\r\n\r\n{SMUGGLED}"),
        format!("5 ;x=\"\r\n\"\r\nhello\r\n0\r\n\r\n{SMUGGLED}"),
        format!("3\r\nhello\r\n0\r\n\r\n{SMUGGLED}"),
    ] {
        let req = format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}");
        let statuses = send(&gw, &up, &req);
        assert!(statuses.iter().all(|s| *s != 500), "{chunked:?}: {statuses:?}");
    }
    assert_alive(&gw);
}

// Bytes after an Upgrade request whose upgrade the upstream did not accept (200,
// not 101) are the next request, checked by the policy, never tunnelled raw.
// RUSTSEC-2026-0033 / CVE-2026-2833 (pingora); PortSwigger "h2c smuggling" (Bishop Fox, 2020).
#[test]
fn bytes_after_a_refused_upgrade_are_not_tunnelled() {
    let (up, gw) = start();
    for upgrade in ["websocket", "h2c"] {
        let req = format!(
            "GET /api/inbox/ws HTTP/1.1\r\nHost: shop\r\nConnection: Upgrade\r\nUpgrade: {upgrade}\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n{SMUGGLED}"
        );
        let statuses = send(&gw, &up, &req);
        assert!(statuses.iter().all(|s| *s != 101), "{upgrade}: {statuses:?}");
    }
}

// Content-Length on a GET to a protected route: the body must not become a second
// request at the upstream, and the protected route stays protected.
// PortSwigger "CL.0 / 0.CL request smuggling" (Kettle, "Browser-powered desync", 2022).
#[test]
fn get_with_a_body_does_not_smuggle() {
    let (up, gw) = start();
    let token = access("5", "SELLER");
    let req = format!(
        "GET /api/seller/x HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
        SMUGGLED.len()
    );
    let statuses = send(&gw, &up, &req);
    assert!(matches!(statuses.first(), Some(200) | Some(400)), "{statuses:?}");
    assert!(up.seen().iter().all(|s| s.target == "/api/seller/x"), "{:?}", up.seen());
}

// An HTTP/1.0 request with no Content-Length has no body: what follows must not be
// read as a close-delimited body and forwarded (a backend would see a second request).
// RFC 9112 §6.3 rule 7 ("request ... zero"); RUSTSEC-2026-0034 / CVE-2026-2835.
#[test]
fn http10_request_without_length_has_no_body() {
    let (up, gw) = start();
    let statuses = send(&gw, &up, &format!("POST /api/inbox/a HTTP/1.0\r\nHost: shop\r\n\r\n{SMUGGLED}"));
    assert!(matches!(statuses.first(), Some(200) | Some(400)), "{statuses:?}");
    assert!(up.seen().len() <= 1, "{:?}", up.seen());
}

// `chunked` applied twice (one line or two): the gateway decodes it once and forwards
// a body it framed itself; nothing inside becomes a request upstream. RFC 9112 §6.1
// ("MUST NOT apply chunked more than once"); PortSwigger TE obfuscation list.
#[test]
fn doubled_chunked_does_not_smuggle() {
    let (up, gw) = start();
    let inner = format!("{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n", SMUGGLED.len());
    let outer = format!("{:x}\r\n{inner}\r\n0\r\n\r\n", inner.len());
    for te in ["Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked, chunked\r\n"] {
        let statuses = send(&gw, &up, &format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\n{te}Connection: close\r\n\r\n{outer}"));
        assert!(matches!(statuses.first(), Some(200) | Some(400)), "{te:?}: {statuses:?}");
    }
}

// Framing headers nominated as hop-by-hop (`Connection: Content-Length`,
// `Connection: Transfer-Encoding`): if the proxy dropped them and forwarded the body
// unframed, the backend would read the body as the next request. RFC 9110 §7.6.1;
// PortSwigger "Abusing HTTP hop-by-hop request headers" (Nathan Davison, 2019).
#[test]
fn hop_by_hop_nomination_of_framing_headers_does_not_smuggle() {
    let (up, gw) = start();
    let chunked = format!("{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n", SMUGGLED.len());
    for req in [
        format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\nConnection: Content-Length\r\n\r\n{SMUGGLED}", SMUGGLED.len()),
        format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n\r\n{chunked}"),
        format!("POST /api/inbox/a HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\nConnection: close, content-length, transfer-encoding\r\n\r\n{SMUGGLED}", SMUGGLED.len()),
    ] {
        let statuses = send(&gw, &up, &req);
        assert!(matches!(statuses.first(), Some(200) | Some(400)), "{req:?}: {statuses:?}");
    }
}

// An Upgrade (WebSocket, h2c) to a protected route is decided like any request: no
// token, no tunnel, nothing upstream. PortSwigger "h2c smuggling" (Bishop Fox, 2020);
// CVE-2021-32783-class upgrade bypasses; RUSTSEC-2026-0033.
#[test]
fn upgrades_to_protected_routes_need_the_token() {
    let (up, gw) = start();
    for upgrade in ["websocket", "h2c", "HTTP/2.0"] {
        let raw = gw.raw(
            format!(
                "GET /api/admin/ws HTTP/1.1\r\nHost: shop\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: {upgrade}\r\n\
                 HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        );
        assert_eq!(status_of(&raw), 401, "{upgrade}: {raw}");
    }
    assert!(up.seen().is_empty(), "{:?}", up.seen());
}
