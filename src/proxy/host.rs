//! The `Host` header check RFC 9112 §3.2 requires of a server: an HTTP/1.1
//! request without `Host`, or with a value that is not `host[:port]`, is
//! answered 400. Pingora already refuses several `Host` lines and one that
//! disagrees with an absolute-form target; this covers the rest, so a
//! backend never builds links or routes from a `Host` such as
//! `shop/../admin` or `a b` (PortSwigger, "HTTP Host header attacks").

use http::Version;
use pingora::http::RequestHeader;

/// Whether the request's `Host` is acceptable: present on HTTP/1.1 unless the
/// target carries the authority, and shaped `host [":" port]`.
pub(crate) fn host_is_acceptable(req: &RequestHeader) -> bool {
    match req.headers.get(http::header::HOST) {
        Some(value) => is_host_and_port(value.as_bytes()),
        None => req.version != Version::HTTP_11 || req.uri.authority().is_some(),
    }
}

/// RFC 3986 §3.2.2–3.2.3 `host [ ":" port ]`: an IP literal in brackets or a name
/// of unreserved, percent and sub-delim bytes, then at most one `:` and digits.
/// Empty is accepted (RFC 9112 §3.2 allows an empty `Host`). Brackets anywhere but
/// around a whole literal, text after the literal, a second `:` or a port that is
/// not digits are refused: the policy's host rules read the name before the port,
/// and a shape such as `[x.example.com:80` (found by the `path_policy` fuzz
/// target) would otherwise be matched as a name other than the one it spells.
pub(crate) fn is_host_and_port(value: &[u8]) -> bool {
    let port = if let Some(rest) = value.strip_prefix(b"[") {
        let Some(end) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &rest[..end];
        if literal.is_empty() || !literal.iter().all(|&b| b == b':' || NAME_BYTE[usize::from(b)]) {
            return false;
        }
        match &rest[end + 1..] {
            [] => return true,
            [b':', port @ ..] => port,
            _ => return false,
        }
    } else {
        // One pass over the name (this runs on every request).
        let name_len = value.iter().position(|&b| !NAME_BYTE[usize::from(b)]).unwrap_or(value.len());
        match &value[name_len..] {
            [] => return true,
            [b':', port @ ..] => port,
            _ => return false,
        }
    };
    port.iter().all(u8::is_ascii_digit)
}

/// RFC 3986 `reg-name` bytes: unreserved, percent and sub-delims. No `/`, `\\`,
/// `@`, `?`, `#`, `:`, brackets, space or control.
const NAME_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'_' | b'~' | b'%' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
            );
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: Version, host: Option<&[u8]>) -> RequestHeader {
        let mut req = RequestHeader::build("GET", b"/x", None).unwrap();
        req.set_version(version);
        if let Some(h) = host {
            req.insert_header(http::header::HOST, h).unwrap();
        }
        req
    }

    #[test]
    fn host_shapes() {
        for ok in [
            &b"shop"[..], b"shop:8080", b"shop:", b"127.0.0.1:80", b"[::1]", b"[::1]:443",
            b"[fe80::1%25en0]:8443", b"[v1.fe80::a+en1]", b"xn--bcher-kva.example", b"",
        ] {
            assert!(host_is_acceptable(&request(Version::HTTP_11, Some(ok))), "{ok:?}");
        }
        for bad in [
            &b"a b"[..], b"shop/../admin", b"user@shop", b"shop\\x", b"shop?x", b"shop#x", b"shop\t",
            // Bracket and port shapes that are not `host[:port]`.
            b"[x.example.com", b"[x.example.com:80", b"x.example.com]", b"x[y].example.com",
            b"[::1]x", b"[::1]:80:80", b"[]", b"[]:80", b"[[::1]]", b"[::1/x]",
            b"shop:80:80", b"shop:abc", b"shop:8o", b"a:b@c",
        ] {
            assert!(!host_is_acceptable(&request(Version::HTTP_11, Some(bad))), "{bad:?}");
        }
    }

    #[test]
    fn host_is_required_on_http11_only() {
        assert!(!host_is_acceptable(&request(Version::HTTP_11, None)));
        assert!(host_is_acceptable(&request(Version::HTTP_10, None)));
        assert!(host_is_acceptable(&request(Version::HTTP_2, None)));
    }
}
