//! The one writer of the responses the gateway makes itself: refusals on
//! both proxy paths ([`Denial`]), upstream failures, and every answer of the
//! identity endpoints. Each is an [`Answer`] (status, extra headers, body);
//! [`send`] and [`send_h1`] put it on the wire with the same framing rules.
//!
//! Bodies are fixed JSON documents chosen by a `match` over a typed reason
//! (a [`Denial`] here, an `AuthError` in `auth::error`), so nothing a client
//! sent and no internal detail is ever echoed back. The shapes follow
//! djangorestframework-simplejwt (docs/REFERENCE.md#errors). Rules every
//! answer gets from [`response_header`]: `Content-Type: application/json`
//! when there is a body, `Content-Length`, `Cache-Control: no-store` unless
//! the answer sets its own, `WWW-Authenticate: Bearer realm="api"` on 401,
//! and the request id.

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, WWW_AUTHENTICATE};
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::protocols::http::v1::server::HttpSession;
use pingora::protocols::http::ServerSession;
use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

pub use crate::admission::Denial;

pub mod grpc;
use crate::admission::request_id::request_id_wire;
use crate::policy::PathError;
use crate::token::{SimplejwtReason, TokenError};

/// A complete answer: status, extra headers and a body (JSON unless empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers besides those [`response_header`] sets itself.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body; empty for 204.
    pub body: Bytes,
}

impl Answer {
    /// A JSON answer from a serialisable value (struct field order is kept).
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Answer {
        // Serialising plain structs, strings and maps with string keys cannot fail.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Answer { status, headers: Vec::new(), body: Bytes::from(body) }
    }

    /// A JSON answer from a fixed text.
    pub fn raw_json(status: u16, body: &'static str) -> Answer {
        Answer { status, headers: Vec::new(), body: Bytes::from_static(body.as_bytes()) }
    }

    /// No body (204).
    pub fn empty(status: u16) -> Answer {
        Answer { status, headers: Vec::new(), body: Bytes::new() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Answer {
        self.headers.push((name, value));
        self
    }

    /// The body parsed as JSON (tests).
    #[cfg(test)]
    pub(crate) fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// One header's value as text (tests).
    #[cfg(test)]
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.as_str() == name).and_then(|(_, v)| v.to_str().ok())
    }
}

impl From<Denial> for Answer {
    /// The fixed answer for a refusal or an upstream failure: a static body
    /// and no extra header, so building it allocates nothing.
    fn from(denial: Denial) -> Answer {
        Answer::raw_json(denial.status(), denial_body(denial))
    }
}

/// The response head of `answer`, by the rules in the module doc.
pub fn response_header(answer: &Answer, request_id: &str) -> Result<Box<ResponseHeader>> {
    let mut header = ResponseHeader::build(answer.status, Some(answer.headers.len() + 5))?;
    if !answer.body.is_empty() {
        header.insert_header(http::header::CONTENT_TYPE, "application/json")?;
    }
    header.insert_header(http::header::CONTENT_LENGTH, answer.body.len())?;
    let has = |name: &HeaderName| answer.headers.iter().any(|(n, _)| n == name);
    if !has(&CACHE_CONTROL) {
        header.insert_header(CACHE_CONTROL, "no-store")?;
    }
    if answer.status == 401 && !has(&WWW_AUTHENTICATE) {
        header.insert_header(WWW_AUTHENTICATE, r#"Bearer realm="api""#)?;
    }
    for (name, value) in &answer.headers {
        header.append_header(name.clone(), value.clone())?;
    }
    if !request_id.is_empty() {
        header.insert_header(request_id_wire(), request_id)?;
    }
    Ok(Box::new(header))
}

/// Refuses the request on Pingora's session with `denial`: in gRPC's terms
/// for a gRPC call ([`grpc`]), as the JSON [`Answer`] otherwise. Returns
/// whether the gRPC form was sent.
pub async fn send_denial(session: &mut Session, denial: Denial, request_id: &str, reusable: bool) -> Result<bool> {
    if !grpc::is_grpc(session.req_header()) {
        send(session, &Answer::from(denial), request_id, reusable).await?;
        return Ok(false);
    }
    keep_alive_only_if(session, denial.status(), reusable);
    let header = grpc::response_header(denial, request_id)?;
    match session.as_downstream_mut() {
        // Trailers-only: the HEADERS frame itself must end the stream, which
        // Pingora's session-level writer never does for HTTP/2.
        ServerSession::H2(h2) => h2.write_response_header(header, true)?,
        _ => session.write_response_header(header, true).await?,
    }
    Ok(true)
}

/// Writes `answer` as the complete response on Pingora's session.
///
/// The connection is kept only when `reusable` (the caller read the request
/// body to its end, or there was none) and [`closes_connection`] does not
/// say otherwise, so a half-read body can never be taken as the next request.
pub async fn send(session: &mut Session, answer: &Answer, request_id: &str, reusable: bool) -> Result<()> {
    let header = response_header(answer, request_id)?;
    keep_alive_only_if(session, answer.status, reusable);
    let head_only = session.req_header().method == http::Method::HEAD || answer.body.is_empty();
    session.write_response_header(header, head_only).await?;
    if !head_only {
        session.write_response_body(Some(answer.body.clone()), true).await?;
    }
    Ok(())
}

/// Ends the connection after an answer of `status` unless it stays usable:
/// `reusable` (the request was read to its end) and not a status that
/// [`closes_connection`].
fn keep_alive_only_if(session: &mut Session, status: u16, reusable: bool) {
    if closes_connection(status) || !reusable {
        session.set_keepalive(None);
    }
}

/// [`send`] on the fast lane's HTTP/1 session, with the same rule for
/// keeping the connection.
pub async fn send_h1(ds: &mut HttpSession, answer: &Answer, request_id: &str, reusable: bool) -> Result<()> {
    let header = response_header(answer, request_id)?;
    if closes_connection(answer.status) || !reusable {
        ds.set_server_keepalive(None);
    }
    ds.write_response_header(header).await?;
    if ds.req_header().method != http::Method::HEAD && !answer.body.is_empty() {
        ds.write_body(&answer.body).await?;
    }
    ds.finish_body().await?;
    Ok(())
}

/// Whether an answer with `status` ends the connection: the gateway's own
/// 5xx (the upstream side is in doubt) and 408 (what the client sent was not
/// all read, so nothing after it can be framed).
pub fn closes_connection(status: u16) -> bool {
    status >= 500 || status == 408
}

/// Writes `answer` straight onto a connection no HTTP session has parsed a
/// request from (a request head that never arrived whole), with
/// `Connection: close`; the caller closes the connection after it.
pub async fn send_raw<S: AsyncWrite + Unpin>(stream: &mut S, answer: &Answer, request_id: &str) -> std::io::Result<()> {
    let mut head = response_header(answer, request_id).map_err(std::io::Error::other)?;
    head.insert_header(http::header::CONNECTION, "close").map_err(std::io::Error::other)?;
    let mut wire = BytesMut::with_capacity(256 + answer.body.len());
    let reason = head.status.canonical_reason().unwrap_or("");
    wire.extend_from_slice(format!("HTTP/1.1 {} {reason}\r\n", head.status.as_u16()).as_bytes());
    // The header lines only: the status line above, the blank line below.
    head.header_to_h1_wire(&mut wire);
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(&answer.body);
    stream.write_all(&wire).await?;
    stream.flush().await
}

/// Whether the request announced a body (which a refusal leaves unread).
pub fn has_request_body(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers.get(http::header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
}

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

/// The fixed JSON body of `denial`.
fn denial_body(denial: Denial) -> &'static str {
        match denial {
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
            Denial::Forbidden(crate::policy::DenyReason::MissingScope | crate::policy::DenyReason::WrongAudience) => {
                r#"{"detail":"The token lacks a scope or audience this route requires.","code":"insufficient_scope"}"#
            }
            Denial::Forbidden(_) => {
                r#"{"detail":"You do not have permission to perform this action.","code":"permission_denied"}"#
            }
            Denial::BadFraming => {
                r#"{"detail":"The request is not framed correctly: one Content-Length or chunked Transfer-Encoding, well formed.","code":"bad_request"}"#
            }
            Denial::UnsupportedTransferCoding => {
                r#"{"detail":"The only transfer coding accepted is chunked.","code":"not_implemented"}"#
            }
            Denial::RequestTimeout => {
                r#"{"detail":"The request was not received in time.","code":"request_timeout"}"#
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
            Denial::IssuerUnavailable => {
                r#"{"detail":"The token's identity provider keys are not available yet; try again shortly.","code":"issuer_unavailable"}"#
            }
        }
}


/// The access-token refusal body for `e`. A token without a usable user id
/// is reported like any other invalid access token.
fn token_error_body(e: TokenError) -> &'static str {
    match e.simplejwt_reason() {
        SimplejwtReason::Expired => token_body!("Token is expired"),
        SimplejwtReason::WrongType => token_body!("Token has wrong type"),
        SimplejwtReason::NoType => token_body!("Token has no type"),
        SimplejwtReason::NoId => token_body!("Token has no id"),
        SimplejwtReason::NoExp => token_body!("Token has no 'exp' claim"),
        SimplejwtReason::NoUser | SimplejwtReason::Invalid => token_body!("Token is invalid"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DenyReason;

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
            Denial::BadFraming,
            Denial::UnsupportedTransferCoding,
            Denial::RequestTimeout,
            Denial::NoHealthyUpstream,
        ];
        for d in all {
            let v: serde_json::Value = serde_json::from_slice(&Answer::from(d).body).unwrap();
            assert!(v["detail"].is_string(), "{d:?}");
            assert!(v["code"].is_string(), "{d:?}");
        }
    }

    #[test]
    fn expired_token_body_matches_simplejwt() {
        let v: serde_json::Value =
            serde_json::from_slice(&Answer::from(Denial::InvalidToken(TokenError::Expired)).body).unwrap();
        assert_eq!(v["code"], "token_not_valid");
        assert_eq!(v["messages"][0]["message"], "Token is expired");
        assert_eq!(v["messages"][0]["token_type"], "access");
    }

    #[test]
    fn each_token_body_carries_its_reasons_simplejwt_message() {
        for e in [
            TokenError::Expired,
            TokenError::WrongType,
            TokenError::NoType,
            TokenError::NoId,
            TokenError::NoExp,
            TokenError::BadSignature,
        ] {
            let v: serde_json::Value =
                serde_json::from_slice(&Answer::from(Denial::InvalidToken(e)).body).unwrap();
            assert_eq!(v["messages"][0]["message"], e.simplejwt_message(), "{e:?}");
        }
    }

    #[test]
    fn the_writer_adds_the_challenge_no_store_and_request_id() {
        let head = response_header(&Answer::from(Denial::NotAuthenticated), "r-1").unwrap();
        assert_eq!(head.headers["www-authenticate"], r#"Bearer realm="api""#);
        assert_eq!(head.headers["cache-control"], "no-store");
        assert_eq!(head.headers["x-request-id"], "r-1");
        assert_eq!(head.headers["content-type"], "application/json");
        let mut wire = bytes::BytesMut::new();
        head.header_to_h1_wire(&mut wire);
        assert!(String::from_utf8_lossy(&wire).contains("X-Request-Id: r-1\r\n"), "{wire:?}");
        let forbidden = response_header(&Answer::from(Denial::Forbidden(DenyReason::DenyRule)), "").unwrap();
        assert!(forbidden.headers.get("www-authenticate").is_none());
        assert!(forbidden.headers.get("x-request-id").is_none());
        let cached = Answer::raw_json(200, "{}").with_header(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
        let head = response_header(&cached, "").unwrap();
        assert_eq!(head.headers.get_all("cache-control").iter().count(), 1);
        assert_eq!(head.headers["cache-control"], "max-age=300");
    }
}
