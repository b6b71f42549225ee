//! The only writer of synthetic responses on the proxy listener: denials,
//! bad requests and upstream failures.
//!
//! Every body is a fixed JSON document chosen by one `match` over [`Denial`],
//! so nothing a client sent and no internal detail is ever echoed back. The
//! shapes follow djangorestframework-simplejwt (SIMPLEJWT-WIRE.md): a 401
//! carries `WWW-Authenticate: Bearer realm="api"`, a 403 carries none.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;

use crate::policy::{DenyReason, PathError};
use crate::token::TokenError;

/// The simplejwt body for an invalid bearer token, with its one message.
macro_rules! token_body {
    ($message:literal) => {
        concat!(
            r#"{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":""#,
            $message,
            r#""}]}"#
        )
    };
}

/// Why the gateway answered a request itself instead of proxying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The request target failed normalisation (CONTRACT 4 step 1).
    BadPath(PathError),
    /// The request target is not in origin form (e.g. `OPTIONS *`).
    BadTarget,
    /// An HTTP/1.1 request without `Host`, or a `Host` that is not `host[:port]`.
    BadHost,
    /// No credentials (no `Authorization` header, or another scheme).
    NotAuthenticated,
    /// `Authorization: Bearer` with no token, or with more than one value.
    BadAuthorizationHeader,
    /// The bearer token failed verification.
    InvalidToken(TokenError),
    /// The user's revocation point is after the token was issued (CONTRACT 4.5).
    Revoked,
    /// Authenticated, but the policy does not allow this request.
    Forbidden(DenyReason),
    /// The upstream refused the connection, reset it or sent garbage.
    BadGateway,
    /// The upstream did not answer in time.
    GatewayTimeout,
    /// The rule names no upstream the gateway can reach (none healthy).
    NoHealthyUpstream,
}

impl Denial {
    /// The HTTP status this denial is answered with.
    pub fn status(self) -> u16 {
        match self {
            Denial::BadPath(_) | Denial::BadTarget | Denial::BadHost => 400,
            Denial::NotAuthenticated
            | Denial::BadAuthorizationHeader
            | Denial::InvalidToken(_)
            | Denial::Revoked => 401,
            Denial::Forbidden(_) => 403,
            Denial::BadGateway | Denial::NoHealthyUpstream => 502,
            Denial::GatewayTimeout => 504,
        }
    }

    /// A short machine-readable reason for logs and metrics labels.
    pub fn reason(self) -> &'static str {
        match self {
            Denial::BadPath(_) | Denial::BadTarget => "bad_path",
            Denial::BadHost => "bad_host",
            Denial::NotAuthenticated => "not_authenticated",
            Denial::BadAuthorizationHeader => "bad_authorization_header",
            Denial::InvalidToken(_) => "token_not_valid",
            Denial::Revoked => "token_revoked",
            Denial::Forbidden(DenyReason::RoleNotAllowed) => "role_not_allowed",
            Denial::Forbidden(DenyReason::DenyRule) => "deny_rule",
            Denial::Forbidden(DenyReason::DefaultDeny) => "default_deny",
            Denial::BadGateway => "bad_gateway",
            Denial::GatewayTimeout => "gateway_timeout",
            Denial::NoHealthyUpstream => "no_healthy_upstream",
        }
    }

    /// Whether the client's connection is closed after this answer: after
    /// the gateway's own 5xx answers (the upstream side is in doubt).
    pub fn closes_connection(self) -> bool {
        self.status() >= 500
    }

    /// The fixed JSON body.
    pub fn body(self) -> Bytes {
        Bytes::from(match self {
            Denial::BadPath(e) => path_error_body(e),
            Denial::BadTarget => {
                r#"{"detail":"The request target must be an absolute path.","code":"bad_request"}"#
            }
            Denial::BadHost => {
                r#"{"detail":"The request must carry one Host header of the form host[:port].","code":"bad_request"}"#
            }
            Denial::NotAuthenticated => {
                r#"{"detail":"Authentication credentials were not provided.","code":"not_authenticated"}"#
            }
            Denial::BadAuthorizationHeader => {
                r#"{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}"#
            }
            Denial::InvalidToken(e) => token_error_body(e),
            Denial::Revoked => token_body!("Token is invalid"),
            Denial::Forbidden(_) => {
                r#"{"detail":"You do not have permission to perform this action.","code":"permission_denied"}"#
            }
            Denial::BadGateway => {
                r#"{"detail":"The upstream service is unavailable.","code":"bad_gateway"}"#
            }
            Denial::NoHealthyUpstream => {
                r#"{"detail":"No healthy upstream server is available.","code":"bad_gateway"}"#
            }
            Denial::GatewayTimeout => {
                r#"{"detail":"The upstream service did not answer in time.","code":"gateway_timeout"}"#
            }
        })
    }
}


fn token_error_body(e: TokenError) -> &'static str {
    match e.simplejwt_message() {
        "Token is expired" => token_body!("Token is expired"),
        "Token has wrong type" => token_body!("Token has wrong type"),
        "Token has no type" => token_body!("Token has no type"),
        "Token has no id" => token_body!("Token has no id"),
        "Token has no 'exp' claim" => token_body!("Token has no 'exp' claim"),
        _ => token_body!("Token is invalid"),
    }
}

fn path_error_body(e: PathError) -> &'static str {
    // One fixed sentence per class of problem; the client's path is never echoed.
    match e {
        PathError::EscapesRoot => {
            r#"{"detail":"The request path climbs above the root.","code":"bad_request"}"#
        }
        PathError::NotOriginForm => {
            r#"{"detail":"The request target must be an absolute path.","code":"bad_request"}"#
        }
        _ => {
            r#"{"detail":"The request path contains a forbidden or malformed character sequence.","code":"bad_request"}"#
        }
    }
}

/// Writes `denial` as the complete response to the client.
///
/// The connection is kept alive only for 4xx answers to requests without a
/// body; anything else closes it, so a half-read body can never be taken as
/// the next request.
pub async fn send(session: &mut Session, denial: Denial, request_id: &str) -> Result<()> {
    let header = denial_header(denial, request_id)?;
    if denial.closes_connection() || has_request_body(session) {
        session.set_keepalive(None);
    }
    let head_only = session.req_header().method == http::Method::HEAD;
    session.write_response_header(header, head_only).await?;
    if !head_only {
        session.write_response_body(Some(denial.body()), true).await?;
    }
    Ok(())
}

/// The response header of `denial`'s answer; its body is [`Denial::body`].
pub(super) fn denial_header(denial: Denial, request_id: &str) -> Result<Box<ResponseHeader>> {
    let mut header = ResponseHeader::build(denial.status(), Some(6))?;
    header.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    header.insert_header(http::header::CONTENT_LENGTH, denial.body().len())?;
    header.insert_header(http::header::CACHE_CONTROL, "no-store")?;
    if denial.status() == 401 {
        header.insert_header(http::header::WWW_AUTHENTICATE, r#"Bearer realm="api""#)?;
    }
    if !request_id.is_empty() {
        header.insert_header(super::headers::request_id_wire(), request_id)?;
    }
    Ok(Box::new(header))
}

/// Writes an identity endpoint's answer (CONTRACT 3) as the complete response.
///
/// `Content-Type` is `application/json` whenever there is a body. The connection is
/// closed after 5xx answers and whenever the request body was not read to its end
/// (`body_consumed` false: refused as too large, or timed out).
pub async fn send_auth(
    session: &mut Session,
    response: crate::auth::AuthResponse,
    request_id: &str,
    body_consumed: bool,
) -> Result<()> {
    let crate::auth::AuthResponse { status, headers, body } = response;
    let mut header = ResponseHeader::build(status, Some(headers.len() + 4))?;
    if !body.is_empty() {
        header.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    }
    header.insert_header(http::header::CONTENT_LENGTH, body.len())?;
    for (name, value) in headers {
        header.append_header(name, value)?;
    }
    if !request_id.is_empty() {
        header.insert_header(super::headers::request_id_wire(), request_id)?;
    }
    if status >= 500 || !body_consumed {
        session.set_keepalive(None);
    }
    let head_only = session.req_header().method == http::Method::HEAD || body.is_empty();
    session.write_response_header(Box::new(header), head_only).await?;
    if !head_only {
        session.write_response_body(Some(body), true).await?;
    }
    Ok(())
}

fn has_request_body(session: &Session) -> bool {
    let headers = &session.req_header().headers;
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_is_valid_json_with_detail_and_code() {
        let all = [
            Denial::BadPath(PathError::EscapesRoot),
            Denial::BadTarget,
            Denial::NotAuthenticated,
            Denial::BadAuthorizationHeader,
            Denial::InvalidToken(TokenError::Expired),
            Denial::InvalidToken(TokenError::BadSignature),
            Denial::InvalidToken(TokenError::WrongType),
            Denial::Revoked,
            Denial::Forbidden(DenyReason::RoleNotAllowed),
            Denial::BadGateway,
            Denial::GatewayTimeout,
            Denial::NoHealthyUpstream,
        ];
        for d in all {
            let v: serde_json::Value = serde_json::from_slice(&d.body()).unwrap();
            assert!(v["detail"].is_string(), "{d:?}");
            assert!(v["code"].is_string(), "{d:?}");
        }
    }

    #[test]
    fn expired_token_body_matches_simplejwt() {
        let v: serde_json::Value =
            serde_json::from_slice(&Denial::InvalidToken(TokenError::Expired).body()).unwrap();
        assert_eq!(v["code"], "token_not_valid");
        assert_eq!(v["messages"][0]["message"], "Token is expired");
        assert_eq!(v["messages"][0]["token_type"], "access");
    }
}
