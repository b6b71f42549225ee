//! What the upstream receives in its request headers: client-forged identity
//! headers removed in every spelling, the verified identity added (by the
//! driver that sends the request, [`super::added`]), request override
//! headers dropped, and a request id.
//!
//! On Pingora's proxy it runs in `upstream_request_filter`, after Pingora has
//! removed the headers a client nominated in `Connection`, so a client cannot
//! use `Connection: X-User-Id` to delete what the gateway adds
//! (docs/REFERENCE.md#sec-headers). The fast lane takes no request whose
//! `Connection` names a header.

use http::header::HeaderName;
use pingora::http::RequestHeader;

use super::forwarded::FORWARDING_HEADERS;

/// Headers that ask a backend framework to route or dispatch differently from
/// the request line the policy decided on (Symfony CVE-2018-14773 and kin).
/// Never forwarded.
const OVERRIDE_HEADERS: [HeaderName; 6] = [
    HeaderName::from_static("x-original-url"),
    HeaderName::from_static("x-rewrite-url"),
    HeaderName::from_static("x-http-method-override"),
    HeaderName::from_static("x-http-method"),
    HeaderName::from_static("x-method-override"),
    HeaderName::from_static("x-forwarded-prefix"),
];

/// Framing and hop-by-hop headers, whose alias spellings (`Transfer_Encoding`,
/// `Content.Length`) a server that folds `_` into `-` would read as the real
/// thing beside the framing the gateway chose: never forwarded. Their real
/// spellings are the HTTP layer's business.
const FRAMING_HEADERS: [HeaderName; 10] = [
    http::header::TRANSFER_ENCODING,
    http::header::CONTENT_LENGTH,
    http::header::CONNECTION,
    http::header::UPGRADE,
    http::header::TE,
    http::header::TRAILER,
    http::header::HOST,
    http::header::EXPECT,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

/// Whether the client's `TE` names `trailers` (a comma-separated list of
/// codings, each possibly with parameters), as every gRPC client sends.
pub(super) fn accepts_trailers(req: &RequestHeader) -> bool {
    req.headers.get_all(http::header::TE).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|item| item.split(|&b| b == b';').next().is_some_and(|c| c.trim_ascii().eq_ignore_ascii_case(b"trailers")))
    })
}

/// Characters some servers fold into `-` when they map header names to
/// variables (CGI/WSGI `HTTP_X_USER_ID`, Traefik's alias list).
fn is_alias_char(b: u8) -> bool {
    matches!(
        b,
        b'_' | b'.' | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'^' | b'`' | b'|'
            | b'~'
    )
}

/// True when `name` equals `ours` (a lower-case header name) once case is
/// ignored and alias characters are read as `-`.
fn is_alias(ours: &HeaderName, name: &str) -> bool {
    let ours = ours.as_str().as_bytes();
    ours.len() == name.len()
        && ours
            .iter()
            .zip(name.as_bytes())
            .all(|(&o, &n)| o == n.to_ascii_lowercase() || (o == b'-' && is_alias_char(n)))
}

pub use crate::admission::request_id::request_id_wire;

pub use crate::config::IdentityHeaders;

/// The gateway's work with the configured identity header names: strip what
/// a client forged (what the gateway sets in their place is
/// [`super::added::Identity`]).
pub trait IdentityHeadersExt {
    /// Removes every client-sent copy of the identity headers, including
    /// spellings that differ only by case (header maps are case-insensitive)
    /// or by `_`-style alias characters, and the request override headers in
    /// the same spellings.
    fn strip_forged(&self, req: &mut RequestHeader);
}

/// True when the client sent a header the gateway must remove: one of
/// ours or an override header by its own name, or any name with an alias
/// character (which might spell one of them). One pass over the names,
/// comparing, without hashing.
fn may_carry_forged(ours: &IdentityHeaders, req: &RequestHeader) -> bool {
    req.headers.keys().any(|k| {
        ours.names().contains(&k)
            || ours.claim_headers().contains(k)
            || OVERRIDE_HEADERS.contains(k)
            || k.as_str().bytes().any(is_alias_char)
    })
}

/// True when `name`, with alias characters read as `-`, is one of ours, an
/// override header, or an alias spelling of a forwarding, framing or
/// hop-by-hop header (`X_Original_URL` reaches a WSGI or PHP backend as
/// `HTTP_X_ORIGINAL_URL`, exactly like `X-Original-URL`; `Transfer_Encoding`
/// as `HTTP_TRANSFER_ENCODING`). The real spellings of the forwarding headers
/// are [`super::forwarded`]'s business, those of the framing headers the
/// HTTP layer's.
fn is_alias_of_ours(ours: &IdentityHeaders, name: &str) -> bool {
    ours.names()
        .into_iter()
        .chain(ours.claim_headers())
        .chain(&OVERRIDE_HEADERS)
        .any(|h| is_alias(h, name))
        || (name.bytes().any(is_alias_char)
            && FORWARDING_HEADERS.iter().chain(&FRAMING_HEADERS).any(|h| is_alias(h, name)))
}

impl IdentityHeadersExt for IdentityHeaders {
    fn strip_forged(&self, req: &mut RequestHeader) {
        // Most requests carry none of them: one comparing pass, no removal.
        if !may_carry_forged(self, req) {
            return;
        }
        for name in self.names().into_iter().chain(self.claim_headers()) {
            req.remove_header(name);
        }
        for name in &OVERRIDE_HEADERS {
            req.remove_header(name);
        }
        // Alias spellings are rare: look for them only when some header name
        // has an alias character at all, so the common case allocates nothing.
        let has_alias = req.headers.keys().any(|k| k.as_str().bytes().any(is_alias_char));
        if has_alias {
            let doomed: Vec<HeaderName> = req
                .headers
                .keys()
                .filter(|k| is_alias_of_ours(self, k.as_str()))
                .cloned()
                .collect();
            for name in doomed {
                req.remove_header(&name);
            }
        }
    }

}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::request_id::is_well_formed_request_id;
    use crate::proxy::added::Identity;
    use pingora::prelude::*;
    use crate::token::AccessClaims;
    use crate::token::IdentityValues;

    #[test]
    fn te_trailers_is_found_in_any_list_spelling() {
        let with_te = |values: &[&str]| {
            let mut req = RequestHeader::build("POST", b"/shop.Orders/Get", None).unwrap();
            for v in values {
                req.append_header(http::header::TE, *v).unwrap();
            }
            accepts_trailers(&req)
        };
        assert!(with_te(&["trailers"]));
        assert!(with_te(&["gzip;q=0.5, Trailers"]));
        assert!(with_te(&["deflate", " trailers ;q=1"]));
        assert!(!with_te(&[]));
        assert!(!with_te(&["gzip", "trailersx"]));
    }

    fn identity() -> IdentityHeaders {
        IdentityHeaders::new("X-User-Id", "X-Username", "X-User-Role").unwrap()
    }

    #[test]
    fn strips_every_spelling_and_copy() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        for (k, v) in [
            ("X-User-Id", "1"),
            ("x-user-id", "2"),
            ("X_User_Id", "3"),
            ("x.user.role", "ADMIN"),
            ("X-USER-ROLE", "ADMIN"),
            ("x-username", "root"),
            ("X-Original-URL", "/api/admin"),
            ("X-HTTP-Method-Override", "DELETE"),
            ("X_Original_URL", "/api/admin"),
            ("x.rewrite.url", "/api/admin"),
            ("X_HTTP_Method_Override", "DELETE"),
            ("X_Forwarded_Prefix", "/api/admin"),
            ("X_Forwarded_Proto", "https"),
            ("Transfer_Encoding", "chunked"),
            ("content_length", "5"),
            ("Connection_", "kept: no header of that name"),
            ("Proxy_Connection", "close"),
            ("x.forwarded.for", "127.0.0.1"),
            ("X-Forwarded-For", "kept here, decided in forwarded.rs"),
            ("x-user-idx", "kept"),
            ("accept", "kept"),
        ] {
            req.append_header(k.to_owned(), v).unwrap();
        }
        identity().strip_forged(&mut req);
        let mut left: Vec<&str> = req.headers.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, vec!["accept", "connection_", "x-forwarded-for", "x-user-idx"]);
    }

    fn claims(role: Option<&str>) -> AccessClaims {
        AccessClaims {
            user_id: "7".into(),
            username: Some("ana".into()),
            role: role.map(Into::into),
            iat: 0,
            exp: 0,
            jti: "j".into(),
            header_values: IdentityValues::new("7", Some("ana"), role).unwrap(),
            roles: role.iter().map(|r| Box::from(*r)).collect(),
            issuer: None,
            extra_headers: Box::default(),
            scopes: Box::default(),
            audiences: Box::default(),
        }
    }

    /// The request as the upstream gets it: forged identity stripped, then
    /// the verified one set as Pingora's proxy sets it.
    fn apply(ids: &IdentityHeaders, req: &mut RequestHeader, claims: Option<&AccessClaims>) -> Result<()> {
        ids.strip_forged(req);
        if let Some(claims) = claims {
            Identity { names: ids, claims }.each(|name, value| name.insert(req, value))?;
        }
        Ok(())
    }

    fn wire(req: &RequestHeader) -> String {
        let mut buf = bytes::BytesMut::new();
        req.header_to_h1_wire(&mut buf);
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn verified_identity_is_set_in_title_case_and_replaces_forged_copies() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        req.append_header("x-user-role", "ADMIN").unwrap();
        req.append_header("Accept", "*/*").unwrap();
        apply(&identity(), &mut req, Some(&claims(Some("SELLER")))).unwrap();
        insert_request_id(&mut req);
        let wire = wire(&req);
        for line in ["X-User-Id: 7\r\n", "X-Username: ana\r\n", "X-User-Role: SELLER\r\n", "X-Request-Id: r-1\r\n", "Accept: */*\r\n"] {
            assert!(wire.contains(line), "{line:?} not in {wire:?}");
        }
        assert!(!wire.contains("ADMIN"), "{wire:?}");
        assert_eq!(req.headers.get_all("x-user-role").iter().count(), 1);
    }

    #[test]
    fn a_missing_claim_leaves_its_header_absent_and_no_claims_add_nothing() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        apply(&identity(), &mut req, Some(&claims(None))).unwrap();
        assert!(req.headers.get("x-user-role").is_none());
        assert_eq!(req.headers.get("x-user-id").unwrap(), "7");
        let mut anonymous = RequestHeader::build("GET", b"/", None).unwrap();
        anonymous.append_header("X-User-Id", "1").unwrap();
        apply(&identity(), &mut anonymous, None).unwrap();
        assert_eq!(anonymous.headers.len(), 0);
    }

    fn insert_request_id(req: &mut RequestHeader) {
        req.insert_header(request_id_wire(), http::HeaderValue::from_static("r-1")).unwrap();
    }

    #[test]
    fn request_id_shape() {
        assert!(is_well_formed_request_id(b"abc-123_x.y:z"));
        assert!(!is_well_formed_request_id(b""));
        assert!(!is_well_formed_request_id(b"a b"));
        assert!(!is_well_formed_request_id(&[b'a'; 129]));
    }
}
