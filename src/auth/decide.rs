//! `/auth/decide`: forward-auth (docs/REFERENCE.md#decide) for nginx `auth_request`, Traefik
//! ForwardAuth and Envoy ext_authz — the decision the hot path would make for the request
//! described by `X-Forwarded-Method`, `X-Forwarded-Uri` and `X-Forwarded-Host`, with the
//! client's `Authorization`.
//!
//! Those headers are believed only from a peer in `server.trusted_proxies`; any other
//! peer gets 403 whatever it sends (docs/REFERENCE.md#sec-headers: oauth2-proxy CVE-2026-40575). With the
//! default empty list, forward-auth is therefore off. The forwarded URI goes through the
//! same [`admit`] as a proxied request: normalised, matched, verified, revocation-checked.

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use crate::admission::{admit, RequestFacts};
use crate::admission::is_trusted;
use crate::policy::is_host_and_port;

use super::error::AuthError;
use super::request::Empty;
use crate::answer::Answer;
use super::service::{Call, Shared};

const FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

pub(crate) fn serve(shared: &Shared, call: &Call) -> Result<Answer, AuthError> {
    let config = &call.gen.config;
    let trusted = call
        .req
        .peer_ip
        .is_some_and(|ip| is_trusted(&config.server.trusted_proxies, ip));
    if !trusted {
        return Err(AuthError::UntrustedPeer);
    }
    let headers = &call.req.headers;
    let method = single(headers, &FORWARDED_METHOD)
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()))
        .ok_or(AuthError::BadForwardedRequest)?;
    let uri = single(headers, &FORWARDED_URI).ok_or(AuthError::BadForwardedRequest)?;
    let raw_path = path_of(uri).ok_or(AuthError::BadForwardedRequest)?;
    let host = match headers.get_all(&FORWARDED_HOST).iter().count() {
        0 => None,
        1 => Some(
            single(headers, &FORWARDED_HOST)
                .filter(|h| is_host_and_port(h.as_bytes()))
                .ok_or(AuthError::BadForwardedRequest)?,
        ),
        _ => return Err(AuthError::BadForwardedRequest),
    };
    let request_id = headers
        .get(crate::admission::request_id::REQUEST_ID)
        .filter(|v| crate::admission::request_id::is_well_formed_request_id(v.as_bytes()))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let facts = RequestFacts {
        method,
        host,
        raw_path,
        headers,
        request_id,
    };
    match admit(
        &call.gen,
        &facts,
        call.now,
        &shared.metrics,
        &shared.revocations,
    ) {
        Ok(admitted) => {
            let mut response = Answer::json(200, &Empty {});
            if let Some(claims) = admitted.claims {
                let names = &config.identity_headers;
                let mut add = |name: &HeaderName, value: &str| {
                    if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
                        response.headers.push((name.clone(), v));
                    }
                };
                add(&names.user_id, &claims.user_id);
                if let Some(username) = claims.username.as_deref() {
                    add(&names.username, username);
                }
                if let Some(role) = claims.role.as_deref() {
                    add(&names.role, role);
                }
            }
            Ok(response)
        }
        Err(refused) => Err(AuthError::Denied(refused.denial)),
    }
}

/// The value of a header sent exactly once, as text.
fn single<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok()
}

/// The path of an origin-form (`/a/b?q`) or absolute (`https://h/a/b?q`) URI; the query
/// plays no part in the decision, as on the hot path.
fn path_of(uri: &str) -> Option<&str> {
    let without_query = uri.split(['?', '#']).next()?;
    if without_query.starts_with('/') {
        return Some(without_query);
    }
    let rest = without_query
        .strip_prefix("https://")
        .or_else(|| without_query.strip_prefix("http://"))?;
    match rest.find('/') {
        Some(i) => Some(&rest[i..]),
        None => Some("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_uris_give_their_path() {
        assert_eq!(path_of("/api/x?y=1"), Some("/api/x"));
        assert_eq!(path_of("https://shop.example/api/x?y"), Some("/api/x"));
        assert_eq!(path_of("http://shop.example"), Some("/"));
        assert_eq!(path_of("api/x"), None);
        assert_eq!(path_of("ftp://x/y"), None);
    }

    #[test]
    fn trust_is_by_network() {
        let nets = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        assert!(is_trusted(&nets, "127.0.0.1".parse().unwrap()));
        assert!(is_trusted(&nets, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(!is_trusted(&nets, "192.168.0.1".parse().unwrap()));
        assert!(!is_trusted(&[], "127.0.0.1".parse().unwrap()));
    }
}
