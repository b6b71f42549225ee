//! Which HTTP/1 requests the fast lane takes: decided from the bytes of the
//! request head, before anything parses them.
//!
//! The fast lane ([`super`]) proxies a request with none of the framing a
//! proxy must translate: in origin form, HTTP/1.1, whose head arrived whole,
//! with no upgrade, no `Expect`, no trailers and no hop-by-hop headers apart
//! from `Connection: keep-alive` or `Connection: close`; and either a `GET`
//! or `HEAD` with no body, or a `POST`, `PUT`, `PATCH` or `DELETE` whose
//! body is framed by one `Content-Length` of at most [`MAX_LANE_BODY`] bytes
//! (or has none). Everything else — chunked or larger bodies, WebSocket and
//! h2c upgrades, `100-continue`, HTTP/1.0, absolute-form targets, folded or
//! bare-LF lines, the identity endpoints, gRPC content types (whose
//! refusals Pingora's path writes in gRPC's terms) — goes to Pingora's full
//! proxy, which handles all of it. The test is conservative: a header whose
//! name is on the list sends the request to Pingora whatever its value, and
//! any doubt about the line structure does too. Being wrong in the safe
//! direction costs speed, never correctness.

use std::sync::LazyLock;

use http::header::{
    HeaderName, CONTENT_LENGTH, EXPECT, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::Version;
use memchr::memmem;
use pingora::http::RequestHeader;

use crate::answer::grpc;
use crate::auth::AuthService;
use crate::generation::Generation;
use crate::policy::normalize_path;

/// The largest request body the lane takes. It reads such a body whole
/// before going upstream, so that a failed try can be made again with it;
/// a larger one is streamed by Pingora's proxy.
pub const MAX_LANE_BODY: usize = 64 * 1024;

/// Header names that take a request off the fast lane: the one list, read
/// both on the raw bytes ([`takes`]) and on Pingora's parse ([`still_plain`]).
/// `connection` and `content-length` are looked at separately: the first
/// keeps its two common plain values, the second frames the bodies the lane
/// takes.
const NEEDS_FULL_PROXY: [HeaderName; 9] = [
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

/// A request head of the shape the lane takes, as read from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainHead<'b> {
    /// The request target, in origin form.
    pub target: &'b [u8],
    /// The body's length: its `Content-Length`, 0 when there is none.
    pub body: usize,
}

/// The body length of the request when `buf` (the first bytes read of a
/// request) holds a whole request head that the fast lane may take, as the
/// module doc says; None when the full proxy must serve it. `gen` tells
/// which paths belong to the identity service.
pub(super) fn takes(buf: &[u8], gen: &Generation) -> Option<usize> {
    // The lane's connector speaks HTTP/1 only; with an HTTP/2 upstream in
    // the config, Pingora's proxy serves every request.
    if !gen.all_upstreams_http1 {
        return None;
    }
    let PlainHead { target, body } = plain_head(buf)?;
    // The identity endpoints read bodies and answer themselves: Pingora's
    // path serves them. A path the normaliser refuses is answered (400) on
    // the fast lane, as on the full path.
    let path = match target.iter().position(|&b| b == b'?') {
        Some(q) => &target[..q],
        None => target,
    };
    let lane = match std::str::from_utf8(path).map(normalize_path) {
        Ok(Ok(path)) => AuthService::identity_route(gen, &path).is_none(),
        Ok(Err(_)) => true,
        Err(_) => false,
    };
    lane.then_some(body)
}

/// What [`takes`] promised, checked again on Pingora's parse of the same
/// bytes: the body length of a request of a method the lane takes, over
/// HTTP/1.1, with none of [`NEEDS_FULL_PROXY`] and at most one
/// `Content-Length` (none on a `GET` or `HEAD`) within [`MAX_LANE_BODY`].
pub fn still_plain(req: &RequestHeader) -> Option<usize> {
    let shape = Shape::of(req.method.as_str().as_bytes())?;
    if req.version != Version::HTTP_11
        || req.headers.keys().any(|name| NEEDS_FULL_PROXY.contains(name))
        || grpc::is_grpc(req)
    {
        return None;
    }
    let mut lengths = req.headers.get_all(CONTENT_LENGTH).iter();
    match (lengths.next(), lengths.next()) {
        (None, _) => Some(0),
        (Some(value), None) if shape == Shape::Write => body_length(value.as_bytes()),
        _ => None,
    }
}

/// The methods the lane takes, by whether they may carry a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `GET`, `HEAD`: no body, and no `Content-Length` at all.
    Read,
    /// `POST`, `PUT`, `PATCH`, `DELETE`: a `Content-Length` body or none.
    Write,
}

impl Shape {
    fn of(method: &[u8]) -> Option<Shape> {
        match method {
            b"GET" | b"HEAD" => Some(Shape::Read),
            b"POST" | b"PUT" | b"PATCH" | b"DELETE" => Some(Shape::Write),
            _ => None,
        }
    }
}

/// A `Content-Length` value the lane takes: 1 to 5 ASCII digits (optional
/// whitespace around them) naming at most [`MAX_LANE_BODY`] bytes. Signs,
/// lists and anything longer go to the full proxy.
fn body_length(value: &[u8]) -> Option<usize> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let length = digits.iter().fold(0usize, |n, &d| n * 10 + usize::from(d - b'0'));
    (length <= MAX_LANE_BODY).then_some(length)
}

/// The head when `buf` holds a whole head of the plain shape the module doc
/// describes; None otherwise. Paths are not looked at here. Public for the
/// fuzz target that holds it to `httparse` and Pingora's parse.
pub fn plain_head(buf: &[u8]) -> Option<PlainHead<'_>> {
    let end = HEAD_END.find(buf)?;
    let head = &buf[..end + 2];
    if !lines_are_crlf(head) {
        return None;
    }
    let line_end = memchr::memchr(b'\r', head)?;
    let (shape, target) = origin_target(&head[..line_end])?;
    let body = plain_headers(&head[line_end + 2..], shape)?;
    Some(PlainHead { target, body })
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

/// The method's shape and the request target of `METHOD /… HTTP/1.1`, for
/// a method [`Shape`] knows.
fn origin_target(line: &[u8]) -> Option<(Shape, &[u8])> {
    let space = memchr::memchr(b' ', line)?;
    let shape = Shape::of(&line[..space])?;
    let target = line[space + 1..].strip_suffix(b" HTTP/1.1")?;
    let plain = target.first() == Some(&b'/') && target.iter().all(|&b| TARGET_BYTES[usize::from(b)]);
    plain.then_some((shape, target))
}

/// The body length when each header line is `name: value` with a token name
/// that is not on [`NEEDS_FULL_PROXY`]; `Connection` only as `keep-alive` or
/// `close`; `Content-Length` at most once, only for a [`Shape::Write`], as
/// [`body_length`] reads it.
fn plain_headers(block: &[u8], shape: Shape) -> Option<usize> {
    let mut hosts = 0;
    let mut count = 0;
    let mut length = None;
    let plain = lines(block).all(|line| {
        // Far below the parsers' limits (Pingora's is 256 lines).
        count += 1;
        if count > MAX_PLAIN_HEADERS {
            return false;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else { return false };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return false;
        }
        if !all_value_bytes(value) {
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
        if name.eq_ignore_ascii_case(b"content-type") {
            return !names_grpc(value);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            if shape != Shape::Write || length.is_some() {
                return false;
            }
            length = body_length(value);
            return length.is_some();
        }
        !NEEDS_FULL_PROXY.iter().any(|n| name.eq_ignore_ascii_case(n.as_str().as_bytes()))
    });
    plain.then_some(length.unwrap_or(0))
}

/// Whether a `Content-Type` value may name a gRPC call: anything that starts
/// with `application/grpc`, a wider net than [`grpc::is_grpc`] so that the
/// lane never takes what Pingora's path would answer in gRPC's terms.
fn names_grpc(value: &[u8]) -> bool {
    let value = value.trim_ascii_start();
    value.get(..16).is_some_and(|v| v.eq_ignore_ascii_case(b"application/grpc"))
}

/// The bytes of an RFC 3986 path or query (unreserved, sub-delims, `:@/?%`),
/// ASCII only: what every parser behind the lane reads alike. Anything else
/// (a backtick, braces, `#`, non-ASCII) may be refused, escaped or cut by
/// one of them, so it goes to the full proxy. A table: one load per byte.
static TARGET_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let others = b"-._~!$&'()*+,;=:@/?%";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

/// The non-empty lines of a header block, split at each LF (a line keeps
/// its CR), as `split` would give them but found with a vectorised search
/// rather than byte by byte.
fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(block);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\n', current) {
            Some(end) => {
                rest = Some(&current[end + 1..]);
                Some(&current[..end])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
    .filter(|line| !line.is_empty())
}

/// Whether every byte of a header value is one [`is_value_byte`] allows.
/// Values (a bearer token is hundreds of bytes) are read without an early
/// exit, which lets the compiler check many bytes at once.
fn all_value_bytes(value: &[u8]) -> bool {
    value.iter().fold(true, |ok, &b| ok & is_value_byte(b))
}

/// A byte the HTTP/1 parser accepts in a header value: tab, space, visible
/// ASCII and obs-text (RFC 9110 `field-value`). A control character makes
/// the parser refuse the head, so the lane must not take it.
fn is_value_byte(b: u8) -> bool {
    (b == b'\t') | ((b >= b' ') & (b != 0x7f))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_tables_and_the_line_split_say_what_their_definitions_say() {
        for b in 0..=255u8 {
            let rfc3986 = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
            assert_eq!(TARGET_BYTES[usize::from(b)], rfc3986, "target byte {b:#04x}");
            let field_value = b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80;
            assert_eq!(is_value_byte(b), field_value, "value byte {b:#04x}");
            assert_eq!(all_value_bytes(&[b'a', b, b'z']), field_value, "value byte {b:#04x} in a value");
        }
        for block in [&b""[..], b"\n", b"a\r\nb\r\n", b"a\n\nb", b"no end", b"x: 1\r\ny: 2\r\n\r\n", b"\n\n\n"] {
            let split: Vec<&[u8]> = block.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
            assert_eq!(lines(block).collect::<Vec<_>>(), split, "{:?}", String::from_utf8_lossy(block));
        }
    }

    fn plain(head: &str) -> bool {
        plain_head(head.as_bytes()).is_some()
    }

    fn body(head: &str) -> Option<usize> {
        plain_head(head.as_bytes()).map(|h| h.body)
    }

    #[test]
    fn plain_reads_take_the_lane() {
        assert!(plain("GET /orders/1 HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer x\r\n\r\n"));
        assert!(plain("HEAD /a?b=c HTTP/1.1\r\nHost: shop\r\nConnection: keep-alive\r\n\r\n"));
        assert!(plain("GET / HTTP/1.1\r\nhost: shop\r\nconnection:Close\r\n\r\n"));
        assert!(plain("GET /%2e%2e/admin HTTP/1.1\r\nHost: shop\r\n\r\n"), "the lane answers bad paths itself");
    }

    #[test]
    fn small_writes_framed_by_one_content_length_take_the_lane() {
        assert_eq!(body("POST /orders HTTP/1.1\r\nHost: s\r\nContent-Length: 17\r\n\r\n"), Some(17));
        assert_eq!(body("PUT /a HTTP/1.1\r\nHost: s\r\ncontent-length:  0 \r\n\r\n"), Some(0));
        assert_eq!(body("PATCH /a HTTP/1.1\r\nContent-Length: 65536\r\nHost: s\r\n\r\n"), Some(65536));
        assert_eq!(body("DELETE /a/1 HTTP/1.1\r\nHost: s\r\n\r\n"), Some(0));
        assert_eq!(body("GET /a HTTP/1.1\r\nHost: s\r\n\r\n"), Some(0));
    }

    #[test]
    fn bodies_framed_any_other_way_do_not() {
        for head in [
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: 65537\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: 0000000001\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: 2, 2\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: +2\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: -1\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: \r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: 0x10\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
            "POST /a HTTP/1.0\r\nHost: s\r\nContent-Length: 3\r\n\r\n",
            "OPTIONS /a HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n\r\n",
            "CONNECT s:443 HTTP/1.1\r\nHost: s\r\n\r\n",
            "PROPFIND /a HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n\r\n",
            "post /a HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n\r\n",
            "POST  /a HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n\r\n",
            "POST /pkg.Svc/Call HTTP/1.1\r\nHost: s\r\nContent-Type: application/grpc\r\nContent-Length: 5\r\n\r\n",
            "POST /pkg.Svc/Call HTTP/1.1\r\nHost: s\r\ncontent-type:  Application/GRPC-web+proto\r\nContent-Length: 5\r\n\r\n",
        ] {
            assert!(!plain(head), "{head:?}");
        }
    }

    #[test]
    fn anything_with_framing_or_hop_by_hop_headers_does_not() {
        for head in [
            "GET /a HTTP/1.1\r\nHost: s\r\nContent-Length: 0\r\n\r\n",
            "HEAD /a HTTP/1.1\r\nHost: s\r\nContent-Length: 4\r\n\r\n",
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
