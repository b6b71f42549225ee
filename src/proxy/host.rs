//! The `Host` header check RFC 9112 §3.2 requires of a server: an HTTP/1.1
//! request without `Host`, or with a value that is not `host[:port]`, is
//! answered 400. Pingora already refuses several `Host` lines and one that
//! disagrees with an absolute-form target; this covers the rest, so a
//! backend never builds links or routes from a `Host` such as
//! `shop/../admin` or `a b` (PortSwigger, "HTTP Host header attacks").

use http::Version;
use pingora::http::RequestHeader;

use crate::policy::is_host_and_port;

/// Whether the request's `Host` is acceptable: present on HTTP/1.1 unless the
/// target carries the authority, and shaped `host [":" port]`.
pub(crate) fn host_is_acceptable(req: &RequestHeader) -> bool {
    match req.headers.get(http::header::HOST) {
        Some(value) => is_host_and_port(value.as_bytes()),
        None => req.version != Version::HTTP_11 || req.uri.authority().is_some(),
    }
}

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
