//! The `X-Forwarded-*` headers the upstream receives, and who is believed
//! about them.
//!
//! A client can write anything into `X-Forwarded-For`, `X-Forwarded-Proto`,
//! `Forwarded` or `X-Real-IP`, and backends use them for audit logs, IP
//! allow-lists, rate limits and "is this request HTTPS?" (Django's
//! `SECURE_PROXY_SSL_HEADER`). So, as Traefik does with `trustedIPs`:
//!
//! - from a peer in `server.trusted_proxies` (a load balancer in front of the
//!   gateway), they are kept and the peer's address is appended to
//!   `X-Forwarded-For`; `X-Forwarded-Proto` is set only if absent;
//! - from any other peer, every one of them is removed, and the upstream
//!   gets `X-Forwarded-For: <peer address>`, plus `X-Forwarded-Proto: https`
//!   on a TLS listener (on a plain one its absence says `http`, which is what
//!   Django and most frameworks assume without it).
//!
//! Alias spellings (`X_Forwarded_For`) are removed for everyone by
//! [`super::headers`]. Per request this costs one comparing pass over the
//! header names and one added header: the address's header value is kept per
//! worker thread for the last peer seen, so a keep-alive client's requests
//! share one formatted value.

use std::cell::RefCell;
use std::io::Write as _;
use std::net::IpAddr;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use ipnet::IpNet;
use pingora::http::RequestHeader;
use pingora::prelude::*;

use crate::admission::{is_trusted, unmapped};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The forwarding headers a client may forge; believed only from trusted peers.
pub(super) const FORWARDING_HEADERS: [HeaderName; 6] = [
    X_FORWARDED_FOR,
    X_FORWARDED_PROTO,
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-forwarded-port"),
    HeaderName::from_static("x-real-ip"),
    HeaderName::from_static("forwarded"),
];

/// `X-Forwarded-For` and `X-Forwarded-Proto` as the gateway spells them on
/// the wire.
pub(super) static FORWARDED_FOR_WIRE: Bytes = Bytes::from_static(b"X-Forwarded-For");
pub(super) static FORWARDED_PROTO_WIRE: Bytes = Bytes::from_static(b"X-Forwarded-Proto");

/// The forwarding headers the gateway sets, each replacing the request's.
pub struct Forwarding {
    /// `X-Forwarded-For`.
    pub forwarded_for: Option<HeaderValue>,
    /// `X-Forwarded-Proto`.
    pub forwarded_proto: Option<HeaderValue>,
}

/// Removes from `req` the forwarding headers the gateway does not pass on
/// from `peer` (the client's TCP peer; None when unknown, which is never
/// trusted), including the copies of what it sets, and returns what it sets,
/// as the module doc says. `tls`: whether the client connected over TLS.
pub fn strip(req: &mut RequestHeader, peer: Option<IpAddr>, trusted: &[IpNet], tls: bool) -> Result<Forwarding> {
    let trusted_peer = peer.filter(|&ip| is_trusted(trusted, ip));
    match trusted_peer {
        Some(ip) => {
            let chain = appended(req, ip)?;
            req.remove_header(&X_FORWARDED_FOR);
            let proto = (!req.headers.contains_key(&X_FORWARDED_PROTO)).then(|| scheme(tls));
            Ok(Forwarding { forwarded_for: Some(chain), forwarded_proto: proto })
        }
        None => {
            if req.headers.keys().any(|k| FORWARDING_HEADERS.contains(k)) {
                for name in &FORWARDING_HEADERS {
                    req.remove_header(name);
                }
            }
            Ok(Forwarding {
                forwarded_for: peer.map(peer_value).transpose()?,
                forwarded_proto: tls.then(|| scheme(tls)),
            })
        }
    }
}

fn scheme(tls: bool) -> HeaderValue {
    HeaderValue::from_static(if tls { "https" } else { "http" })
}

thread_local! {
    /// The last peer this worker thread formatted, and its header value.
    static LAST_PEER: RefCell<Option<(IpAddr, HeaderValue)>> = const { RefCell::new(None) };
}

/// `ip` as a header value, formatted once per run of requests from one peer.
fn peer_value(ip: IpAddr) -> Result<HeaderValue> {
    let cached = LAST_PEER.with_borrow(|last| match last {
        Some((seen, value)) if *seen == ip => Some(value.clone()),
        _ => None,
    });
    if let Some(value) = cached {
        return Ok(value);
    }
    let value = address(ip, &[])?;
    LAST_PEER.with_borrow_mut(|last| *last = Some((ip, value.clone())));
    Ok(value)
}

/// The trusted chain: every `X-Forwarded-For` value sent, then `ip`.
fn appended(req: &RequestHeader, ip: IpAddr) -> Result<HeaderValue> {
    let mut chain = Vec::new();
    for value in req.headers.get_all(&X_FORWARDED_FOR) {
        let value = value.as_bytes();
        let value = value.trim_ascii();
        if !value.is_empty() {
            chain.extend_from_slice(value);
            chain.extend_from_slice(b", ");
        }
    }
    address(ip, &chain)
}

/// `prefix` followed by `ip` as a header value (no brackets around IPv6).
fn address(ip: IpAddr, prefix: &[u8]) -> Result<HeaderValue> {
    let mut text = Vec::with_capacity(prefix.len() + 45);
    text.extend_from_slice(prefix);
    // Writing into a Vec cannot fail.
    let _ = write!(text, "{}", unmapped(ip));
    HeaderValue::from_maybe_shared(Bytes::from(text))
        .or_err(ErrorType::InternalError, "forwarded address is not a header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> RequestHeader {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        for (k, v) in headers {
            req.append_header(k.to_string(), *v).unwrap();
        }
        req
    }

    fn values(req: &RequestHeader, name: &str) -> Vec<String> {
        req.headers.get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    /// The request as the upstream gets it: stripped, then what [`strip`]
    /// returned set under the gateway's spellings.
    fn apply(req: &mut RequestHeader, peer: Option<IpAddr>, trusted: &[IpNet], tls: bool) -> Result<()> {
        let Forwarding { forwarded_for, forwarded_proto } = strip(req, peer, trusted, tls)?;
        if let Some(value) = forwarded_for {
            req.insert_header(FORWARDED_FOR_WIRE.clone(), value)?;
        }
        if let Some(value) = forwarded_proto {
            req.insert_header(FORWARDED_PROTO_WIRE.clone(), value)?;
        }
        Ok(())
    }

    const FORGED: [(&str, &str); 7] = [
        ("X-Forwarded-For", "10.9.9.9"),
        ("x-forwarded-for", "1.2.3.4, 5.6.7.8"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "admin.internal"),
        ("X-Forwarded-Port", "443"),
        ("X-Real-IP", "127.0.0.1"),
        ("Forwarded", "for=127.0.0.1;proto=https"),
    ];

    #[test]
    fn an_untrusted_peer_gets_only_its_own_address_and_the_real_scheme() {
        let mut req = request(&FORGED);
        apply(&mut req, Some("203.0.113.7".parse().unwrap()), &nets(&["10.0.0.0/8"]), false).unwrap();
        assert_eq!(values(&req, "x-forwarded-for"), ["203.0.113.7"]);
        assert!(values(&req, "x-forwarded-proto").is_empty(), "a plain listener says http by omission");
        for gone in ["x-forwarded-host", "x-forwarded-port", "x-real-ip", "forwarded"] {
            assert!(values(&req, gone).is_empty(), "{gone} reached the upstream");
        }
    }

    #[test]
    fn a_trusted_peer_is_appended_to_the_chain_it_sent() {
        let mut req = request(&FORGED);
        apply(&mut req, Some("10.0.0.2".parse().unwrap()), &nets(&["10.0.0.0/8"]), false).unwrap();
        assert_eq!(values(&req, "x-forwarded-for"), ["10.9.9.9, 1.2.3.4, 5.6.7.8, 10.0.0.2"]);
        assert_eq!(values(&req, "x-forwarded-proto"), ["https"]);
        assert_eq!(values(&req, "x-forwarded-host"), ["admin.internal"]);
        let mut plain = request(&[]);
        apply(&mut plain, Some("10.0.0.2".parse().unwrap()), &nets(&["10.0.0.0/8"]), true).unwrap();
        assert_eq!(values(&plain, "x-forwarded-for"), ["10.0.0.2"]);
        assert_eq!(values(&plain, "x-forwarded-proto"), ["https"]);
    }

    #[test]
    fn mapped_ipv6_peers_are_their_ipv4_address_and_unknown_peers_are_untrusted() {
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(is_trusted(&nets(&["10.0.0.0/8"]), mapped));
        let mut req = request(&[]);
        apply(&mut req, Some(mapped), &[], false).unwrap();
        assert_eq!(values(&req, "x-forwarded-for"), ["10.1.2.3"]);
        let mut v6 = request(&[("X-Forwarded-Proto", "http")]);
        apply(&mut v6, Some("2001:db8::1".parse().unwrap()), &[], true).unwrap();
        assert_eq!(values(&v6, "x-forwarded-for"), ["2001:db8::1"]);
        assert_eq!(values(&v6, "x-forwarded-proto"), ["https"]);
        let mut again = request(&[]);
        apply(&mut again, Some("2001:db8::1".parse().unwrap()), &[], false).unwrap();
        assert_eq!(values(&again, "x-forwarded-for"), ["2001:db8::1"], "the per-thread value is reused");
        let mut other = request(&[]);
        apply(&mut other, Some("192.0.2.1".parse().unwrap()), &[], false).unwrap();
        assert_eq!(values(&other, "x-forwarded-for"), ["192.0.2.1"], "and replaced for another peer");
        let mut unknown = request(&FORGED);
        apply(&mut unknown, None, &nets(&["0.0.0.0/0"]), false).unwrap();
        assert!(values(&unknown, "x-forwarded-for").is_empty());
        assert!(values(&unknown, "x-forwarded-proto").is_empty());
    }
}
