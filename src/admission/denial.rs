//! [`Denial`]: why the gateway answers a request itself instead of proxying
//! it, with the status and the metric reason of each case. The bodies are
//! the `answer` module's: this is the decision's vocabulary, not its wire form.

use crate::policy::{DenyReason, PathError};
use crate::token::TokenError;

/// Why the gateway answered a request itself instead of proxying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The request target failed normalisation (docs/REFERENCE.md#path-normalisation).
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
    /// The user's revocation point is after the token was issued (docs/REFERENCE.md#revocation).
    Revoked,
    /// Authenticated, but the policy does not allow this request.
    Forbidden(DenyReason),
    /// The request's body framing is invalid: both `Content-Length` and
    /// `Transfer-Encoding`, a `Content-Length` that is not one number, a
    /// chunked body that breaks its syntax, or a head that does not parse.
    BadFraming,
    /// A `Transfer-Encoding` other than `chunked` (RFC 9112 §6.1: 501).
    UnsupportedTransferCoding,
    /// The client did not send its request head (or a body the gateway reads
    /// itself) within the deadline.
    RequestTimeout,
    /// The upstream refused the connection, reset it or sent garbage.
    BadGateway,
    /// The upstream did not answer in time.
    GatewayTimeout,
    /// The rule names no upstream the gateway can reach (none healthy).
    NoHealthyUpstream,
    /// The token's issuer has no usable key set (never fetched yet, or the
    /// last good one is older than `max_stale`).
    IssuerUnavailable,
}

impl Denial {
    /// The HTTP status this denial is answered with.
    pub fn status(self) -> u16 {
        match self {
            Denial::BadPath(_) | Denial::BadTarget | Denial::BadHost | Denial::BadFraming => 400,
            Denial::NotAuthenticated
            | Denial::BadAuthorizationHeader
            | Denial::InvalidToken(_)
            | Denial::Revoked => 401,
            Denial::Forbidden(_) => 403,
            Denial::RequestTimeout => 408,
            Denial::UnsupportedTransferCoding => 501,
            Denial::BadGateway | Denial::NoHealthyUpstream => 502,
            Denial::GatewayTimeout => 504,
            Denial::IssuerUnavailable => 503,
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
            Denial::Forbidden(DenyReason::MissingScope) => "missing_scope",
            Denial::Forbidden(DenyReason::WrongAudience) => "wrong_audience",
            Denial::RequestTimeout => "request_timeout",
            Denial::BadFraming => "bad_framing",
            Denial::UnsupportedTransferCoding => "unsupported_transfer_coding",
            Denial::BadGateway => "bad_gateway",
            Denial::GatewayTimeout => "gateway_timeout",
            Denial::NoHealthyUpstream => "no_healthy_upstream",
            Denial::IssuerUnavailable => "issuer_unavailable",
        }
    }
}
