//! Which HTTP/1 requests the fast lane takes: decided from the bytes of the
//! request head, before anything parses them.
//!
//! The fast lane ([`super`]) proxies a request with none of the framing a
//! proxy must translate: a `GET` or `HEAD` in origin form, HTTP/1.1, whose
//! head arrived whole, with no body, no upgrade, no `Expect`, no trailers
//! and no hop-by-hop headers apart from `Connection: keep-alive` or
//! `Connection: close`. Everything else — bodies, WebSocket and h2c
//! upgrades, `100-continue`, HTTP/1.0, absolute-form targets, folded or
//! bare-LF lines, the identity endpoints — goes to Pingora's full proxy,
//! which handles all of it. The test is conservative: a header whose name
//! is on the list sends the request to Pingora whatever its value, and any
//! doubt about the line structure does too. Being wrong in the safe
//! direction costs speed, never correctness.

use std::sync::LazyLock;

use http::header::{
    HeaderName, CONTENT_LENGTH, EXPECT, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::{Method, Version};
use memchr::memmem;
use pingora::http::RequestHeader;

use crate::auth::AuthService;
use crate::generation::Generation;
use crate::policy::normalize_path;

/// Header names that take a request off the fast lane: the one list, read
/// both on the raw bytes ([`takes`]) and on Pingora's parse ([`still_plain`]).
/// `connection` is looked at separately: its two common plain values stay.
const NEEDS_FULL_PROXY: [HeaderName; 10] = [
    CONTENT_LENGTH,
    TRANSFER_ENCODING,
    UPGRADE,
    EXPECT,
    TE,
    TRAILER,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("http2-settings"),
    HeaderName::from_static("proxy-connection"),
    PROXY_AUTHORIZATION,
];

/// The most header lines a head the lane takes may have.
const MAX_PLAIN_HEADERS: usize = 100;

/// The end of a request head, searched with one prepared searcher.
static HEAD_END: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\r\n\r\n"));

/// True when `buf` (the first bytes read of a request) holds a whole
/// request head that the fast lane may take, as the module doc says.
/// `gen` tells which paths belong to the identity service.
pub(super) fn takes(buf: &[u8], gen: &Generation) -> bool {
    // The lane's connector speaks HTTP/1 only; with an HTTP/2 upstream in
    // the config, Pingora's proxy serves every request.
    if !gen.all_upstreams_http1 {
        return false;
    }
    let Some(target) = plain_target(buf) else { return false };
    // The identity endpoints read bodies and answer themselves: Pingora's
    // path serves them. A path the normaliser refuses is answered (400) on
    // the fast lane, as on the full path.
    let path = match target.iter().position(|&b| b == b'?') {
        Some(q) => &target[..q],
        None => target,
    };
    match std::str::from_utf8(path).map(normalize_path) {
        Ok(Ok(path)) => AuthService::identity_route(gen, &path).is_none(),
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

/// What [`takes`] promised, checked again on Pingora's parse of the same
/// bytes: a `GET` or `HEAD` over HTTP/1.1 with none of [`NEEDS_FULL_PROXY`].
pub fn still_plain(req: &RequestHeader) -> bool {
    (req.method == Method::GET || req.method == Method::HEAD)
        && req.version == Version::HTTP_11
        && NEEDS_FULL_PROXY.iter().all(|name| !req.headers.contains_key(name))
}

/// The request target when `buf` holds a whole head of the plain shape the
/// module doc describes; None otherwise. Paths are not looked at here.
/// Public for the fuzz target that holds it to `httparse` and Pingora's parse.
pub fn plain_target(buf: &[u8]) -> Option<&[u8]> {
    let end = HEAD_END.find(buf)?;
    let head = &buf[..end + 2];
    if !lines_are_crlf(head) {
        return None;
    }
    let line_end = memchr::memchr(b'\r', head)?;
    let target = origin_target(&head[..line_end])?;
    headers_are_plain(&head[line_end + 2..]).then_some(target)
}

/// Every LF is preceded by CR and every CR followed by LF: no line can be
/// read two ways.
fn lines_are_crlf(head: &[u8]) -> bool {
    memchr::memchr2_iter(b'\r', b'\n', head).enumerate().all(|(i, at)| {
        // CR and LF alternate, starting with CR, and each LF follows its CR.
        let want = if i % 2 == 0 { b'\r' } else { b'\n' };
        head[at] == want && (want == b'\r' || head[at - 1] == b'\r')
    }) && head.ends_with(b"\r\n")
}

/// The request target of `GET /… HTTP/1.1` or `HEAD /… HTTP/1.1`.
fn origin_target(line: &[u8]) -> Option<&[u8]> {
    let rest = line
        .strip_prefix(b"GET ")
        .or_else(|| line.strip_prefix(b"HEAD "))?;
    let target = rest.strip_suffix(b" HTTP/1.1")?;
    let plain = target.first() == Some(&b'/') && target.iter().all(|&b| is_target_byte(b));
    plain.then_some(target)
}

/// Each header line is `name: value` with a token name that is not on
/// [`NEEDS_FULL_PROXY`]; `Connection` only as `keep-alive` or `close`.
fn headers_are_plain(block: &[u8]) -> bool {
    let mut hosts = 0;
    let mut count = 0;
    block.split(|&b| b == b'\n').filter(|l| !l.is_empty()).all(|line| {
        // Far below the parsers' limits (Pingora's is 256 lines).
        count += 1;
        if count > MAX_PLAIN_HEADERS {
            return false;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else { return false };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return false;
        }
        if !value.iter().all(|&b| is_value_byte(b)) {
            return false;
        }
        if name.eq_ignore_ascii_case(b"host") {
            // Pingora refuses a second Host, and userinfo in one.
            hosts += 1;
            return hosts == 1 && !value.contains(&b'@');
        }
        if name.eq_ignore_ascii_case(b"connection") {
            let value = value.trim_ascii();
            return value.eq_ignore_ascii_case(b"keep-alive") || value.eq_ignore_ascii_case(b"close");
        }
        !NEEDS_FULL_PROXY.iter().any(|n| name.eq_ignore_ascii_case(n.as_str().as_bytes()))
    })
}

/// A byte of an RFC 3986 path or query (unreserved, sub-delims, `:@/?%`),
/// ASCII only: what every parser behind the lane reads alike. Anything else
/// (a backtick, braces, `#`, non-ASCII) may be refused, escaped or cut by
/// one of them, so it goes to the full proxy.
fn is_target_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b)
}

/// A byte the HTTP/1 parser accepts in a header value: tab, space, visible
/// ASCII and obs-text (RFC 9110 `field-value`). A control character makes
/// the parser refuse the head, so the lane must not take it.
fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(head: &str) -> bool {
        plain_target(head.as_bytes()).is_some()
    }

    #[test]
    fn plain_reads_take_the_lane() {
        assert!(plain("GET /orders/1 HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer x\r\n\r\n"));
        assert!(plain("HEAD /a?b=c HTTP/1.1\r\nHost: shop\r\nConnection: keep-alive\r\n\r\n"));
        assert!(plain("GET / HTTP/1.1\r\nhost: shop\r\nconnection:Close\r\n\r\n"));
        assert!(plain("GET /%2e%2e/admin HTTP/1.1\r\nHost: shop\r\n\r\n"), "the lane answers bad paths itself");
    }

    #[test]
    fn anything_with_framing_or_hop_by_hop_headers_does_not() {
        for head in [
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: 2\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\ntransfer-encoding : chunked\r\n\r\n",
            "GET /ws HTTP/1.1\r\nHost: s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nConnection: keep-alive, X-User-Id\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nExpect: 100-continue\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nTE: trailers\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nKeep-Alive: 5\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nProxy-Connection: keep-alive\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nHTTP2-Settings: x\r\n\r\n",
            "GET /a HTTP/1.0\r\nHost: s\r\n\r\n",
            "GET http://s/a HTTP/1.1\r\nHost: s\r\n\r\n",
            "GET * HTTP/1.1\r\nHost: s\r\n\r\n",
            "OPTIONS /a HTTP/1.1\r\nHost: s\r\n\r\n",
            "get /a HTTP/1.1\r\nHost: s\r\n\r\n",
            "GET /a b HTTP/1.1\r\nHost: s\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\n X-Folded: y\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\nContent-Length: 5\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\rX: y\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nNoColon\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nX-Odd: a\u{1}b\r\n\r\n",
            "GET /` HTTP/1.1\r\nHost: s\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nhost: t\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: user@s\r\n\r\n",
            "GET /a{b} HTTP/1.1\r\nHost: s\r\n\r\n",
            "GET /a#frag HTTP/1.1\r\nHost: s\r\n\r\n",
            "GET /caf\u{e9} HTTP/1.1\r\nHost: s\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\nX-Odd: a\u{7f}\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: s\r\n",
        ] {
            assert!(!plain(head), "{head:?}");
        }
    }
}
