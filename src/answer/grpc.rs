//! Refusals in gRPC's own terms. A gRPC client reads an HTTP 401 with a JSON
//! body as a protocol error it cannot explain; what it understands is HTTP
//! 200 with a `grpc-status` and a `grpc-message` and no body, sent as a
//! trailers-only response (one HEADERS frame that ends the stream). So a
//! request whose `Content-Type` is `application/grpc` or one of its
//! `+proto`/`+json` variants is refused that way, with the code gRPC's
//! HTTP mapping gives the HTTP status the gateway would have answered.
//! Logs and metrics still count the HTTP equivalent (`RequestCtx::record`).

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;

use crate::admission::request_id::request_id_wire;
use crate::admission::Denial;

/// gRPC status codes the gateway answers with (grpc/doc/statuscodes.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum GrpcCode {
    /// The request is malformed: a refused path, host or framing.
    InvalidArgument = 3,
    /// The client was too slow to send its request.
    DeadlineExceeded = 4,
    /// A verified identity is allowed, but not this one.
    PermissionDenied = 7,
    /// The upstream (or the token issuer's keys) cannot be reached.
    Unavailable = 14,
    /// No valid credentials.
    Unauthenticated = 16,
}

/// Whether the request is a gRPC call (`Content-Type: application/grpc`,
/// `application/grpc+proto`, `application/grpc+json`, any parameters).
pub fn is_grpc(req: &RequestHeader) -> bool {
    req.headers.get(CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        let base = v.get(..16).is_some_and(|b| b.eq_ignore_ascii_case(b"application/grpc"));
        base && matches!(v.get(16), None | Some(b'+' | b';'))
    })
}

/// The gRPC code and message for `denial`.
pub fn status_of(denial: Denial) -> (GrpcCode, &'static str) {
    match denial {
        Denial::NotAuthenticated | Denial::BadAuthorizationHeader => {
            (GrpcCode::Unauthenticated, "authentication credentials were not provided")
        }
        Denial::InvalidToken(_) | Denial::Revoked => (GrpcCode::Unauthenticated, "the token is not valid"),
        Denial::Forbidden(_) => (GrpcCode::PermissionDenied, "not allowed to call this method"),
        Denial::BadPath(_) | Denial::BadTarget => (GrpcCode::InvalidArgument, "the method path is refused"),
        Denial::BadHost => (GrpcCode::InvalidArgument, "the authority is refused"),
        Denial::BadFraming | Denial::UnsupportedTransferCoding => {
            (GrpcCode::InvalidArgument, "the request is not framed correctly")
        }
        Denial::RequestTimeout => (GrpcCode::DeadlineExceeded, "the request did not arrive in time"),
        Denial::BadGateway | Denial::GatewayTimeout | Denial::NoHealthyUpstream => {
            (GrpcCode::Unavailable, "the service is unavailable")
        }
        Denial::IssuerUnavailable => (GrpcCode::Unavailable, "the token issuer's keys are unavailable"),
    }
}

/// The trailers-only response head refusing a gRPC call with `denial`.
/// The messages are plain ASCII without `%`, so they need no percent-encoding.
pub fn response_header(denial: Denial, request_id: &str) -> Result<Box<ResponseHeader>> {
    let (code, message) = status_of(denial);
    let mut header = ResponseHeader::build(200, Some(5))?;
    header.insert_header(CONTENT_TYPE, "application/grpc")?;
    header.insert_header("grpc-status", (code as u8).to_string())?;
    header.insert_header("grpc-message", message)?;
    header.insert_header(CACHE_CONTROL, "no-store")?;
    if !request_id.is_empty() {
        header.insert_header(request_id_wire(), request_id)?;
    }
    Ok(Box::new(header))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DenyReason;
    use crate::token::TokenError;

    fn request(content_type: &str) -> RequestHeader {
        let mut req = RequestHeader::build("POST", b"/shop.Orders/Get", None).unwrap();
        req.insert_header(CONTENT_TYPE, content_type).unwrap();
        req
    }

    #[test]
    fn grpc_content_types_are_recognised_and_others_are_not() {
        for ct in ["application/grpc", "application/grpc+proto", "Application/GRPC+json", "application/grpc; charset=x"] {
            assert!(is_grpc(&request(ct)), "{ct}");
        }
        for ct in ["application/json", "application/grpc-web", "application/grpcx", "text/plain"] {
            assert!(!is_grpc(&request(ct)), "{ct}");
        }
        assert!(!is_grpc(&RequestHeader::build("GET", b"/", None).unwrap()));
    }

    #[test]
    fn refusals_map_to_the_codes_of_their_http_statuses() {
        let cases = [
            (Denial::NotAuthenticated, GrpcCode::Unauthenticated),
            (Denial::InvalidToken(TokenError::Expired), GrpcCode::Unauthenticated),
            (Denial::Revoked, GrpcCode::Unauthenticated),
            (Denial::Forbidden(DenyReason::RoleNotAllowed), GrpcCode::PermissionDenied),
            (Denial::Forbidden(DenyReason::MissingScope), GrpcCode::PermissionDenied),
            (Denial::BadTarget, GrpcCode::InvalidArgument),
            (Denial::BadGateway, GrpcCode::Unavailable),
            (Denial::GatewayTimeout, GrpcCode::Unavailable),
            (Denial::IssuerUnavailable, GrpcCode::Unavailable),
        ];
        for (denial, code) in cases {
            assert_eq!(status_of(denial).0, code, "{denial:?}");
        }
        let head = response_header(Denial::NotAuthenticated, "rid-1").unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.headers["grpc-status"], "16");
        assert_eq!(head.headers["content-type"], "application/grpc");
        assert!(head.headers.get("content-length").is_none(), "trailers-only: no body framing");
    }
}
