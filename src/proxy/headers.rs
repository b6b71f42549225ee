//! What the upstream receives in its request headers: client-forged identity
//! headers removed in every spelling, the verified identity added, request
//! override headers dropped, and a request id.
//!
//! Runs in `upstream_request_filter`, after Pingora has removed the headers a
//! client nominated in `Connection`, so a client cannot use `Connection:
//! X-User-Id` to delete what the gateway adds (THREATS 5).

use http::header::HeaderName;
use pingora::http::RequestHeader;
use pingora::prelude::*;

use crate::token::AccessClaims;

/// The request id header, read from clients and sent upstream and back.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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

/// The configured identity header names, compiled once per config.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    /// Carries the verified `user_id` claim.
    pub user_id: HeaderName,
    /// Carries the verified `username` claim.
    pub username: HeaderName,
    /// Carries the verified `role` claim.
    pub role: HeaderName,
}

impl IdentityHeaders {
    fn names(&self) -> [&HeaderName; 3] {
        [&self.user_id, &self.username, &self.role]
    }

    /// True when `name`, with alias characters read as `-`, is one of ours or
    /// an override header (`X_Original_URL` reaches a WSGI or PHP backend as
    /// `HTTP_X_ORIGINAL_URL`, exactly like `X-Original-URL`).
    fn is_alias_of_ours(&self, name: &str) -> bool {
        self.names().into_iter().chain(&OVERRIDE_HEADERS).any(|ours| is_alias(ours, name))
    }

    /// Removes every client-sent copy of the identity headers, including
    /// spellings that differ only by case (header maps are case-insensitive)
    /// or by `_`-style alias characters, and the request override headers in
    /// the same spellings.
    pub fn strip_forged(&self, req: &mut RequestHeader) {
        for name in self.names() {
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
                .filter(|k| self.is_alias_of_ours(k.as_str()))
                .cloned()
                .collect();
            for name in doomed {
                req.remove_header(&name);
            }
        }
    }

    /// Strips forged identity and sets the verified one on the upstream request.
    pub fn apply(&self, req: &mut RequestHeader, claims: Option<&AccessClaims>) -> Result<()> {
        self.strip_forged(req);
        if let Some(claims) = claims {
            req.insert_header(self.user_id.clone(), &*claims.user_id)?;
            if let Some(username) = claims.username.as_deref() {
                req.insert_header(self.username.clone(), username)?;
            }
            if let Some(role) = claims.role.as_deref() {
                req.insert_header(self.role.clone(), role)?;
            }
        }
        Ok(())
    }
}

/// A client-sent request id is kept when it is 1–128 characters of
/// `[A-Za-z0-9._:-]`; anything else is replaced.
pub fn is_well_formed_request_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> IdentityHeaders {
        IdentityHeaders {
            user_id: HeaderName::from_static("x-user-id"),
            username: HeaderName::from_static("x-username"),
            role: HeaderName::from_static("x-user-role"),
        }
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
            ("x-user-idx", "kept"),
            ("accept", "kept"),
        ] {
            req.append_header(k.to_owned(), v).unwrap();
        }
        identity().strip_forged(&mut req);
        let mut left: Vec<&str> = req.headers.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, vec!["accept", "x-user-idx"]);
    }

    #[test]
    fn request_id_shape() {
        assert!(is_well_formed_request_id(b"abc-123_x.y:z"));
        assert!(!is_well_formed_request_id(b""));
        assert!(!is_well_formed_request_id(b"a b"));
        assert!(!is_well_formed_request_id(&[b'a'; 129]));
    }
}
