//! `AuthError`: every way an identity endpoint can fail, and the one `match` that turns
//! it into an [`Answer`] with a DRF/simplejwt-shaped JSON body (docs/REFERENCE.md#error-bodies);
//! [`crate::answer`] writes it, with the `WWW-Authenticate` challenge on every 401.
//!
//! Bodies never echo internal detail: 500s log theirs (`tracing::error!`) and answer a
//! fixed text; store outages answer 503 with `Retry-After`.

use http::header::{HeaderValue, ALLOW, RETRY_AFTER};
use serde::Serialize;

use crate::admission::Denial;
use crate::store::StoreError;
use crate::token::TokenError;

use super::fields::FieldErrors;
use crate::answer::Answer;
use super::runtime::RuntimeError;

/// simplejwt's message for a refresh token that was revoked or already used.
pub(crate) const BLACKLISTED: &str = "Token is blacklisted";

/// Seconds a client is told to wait after a 503.
const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// Why an identity endpoint refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Field validation failed: `{"field": ["message", ...], ...}` in serializer order.
    #[error("invalid fields")]
    Invalid(FieldErrors),
    /// The body is not parseable JSON (or form data): the parser's message.
    #[error("malformed body: {0}")]
    Parse(String),
    /// The top-level JSON value is not an object (DRF's `non_field_errors`).
    #[error("body is not an object")]
    NotAnObject(&'static str),
    /// A content type no parser accepts; the media type as sent.
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// The body is larger than the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// No endpoint at this path.
    #[error("no such endpoint")]
    NotFound,
    /// The endpoint exists but not for this method; `allow` lists the methods it takes.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The method the client used.
        method: http::Method,
        /// `Allow` header value.
        allow: &'static str,
    },
    /// Login failed: unknown user, wrong password or inactive account, indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Refresh for a user who no longer exists or is inactive.
    #[error("no active account for the token")]
    NoActiveAccount,
    /// A refresh/verify/logout token failed verification (`detail` is simplejwt's text).
    #[error("token not valid: {0}")]
    TokenNotValid(TokenError),
    /// A refresh token that was revoked, reused after rotation, or issued before the
    /// user's revocation point.
    #[error("token revoked")]
    TokenRevoked,
    /// The bearer-token outcome the hot path would answer (401 / 403 / 400).
    #[error("denied: {0:?}")]
    Denied(Denial),
    /// The access token names a user that does not exist.
    #[error("user not found")]
    UserNotFound,
    /// The access token's user is inactive.
    #[error("user inactive")]
    UserInactive,
    /// Too many failed attempts; retry after this many seconds.
    #[error("rate limited")]
    RateLimited {
        /// Whole seconds until the window resets (at least 1).
        retry_after: u64,
    },
    /// `/auth/decide` from a peer that is not a trusted proxy.
    #[error("forward-auth request from an untrusted peer")]
    UntrustedPeer,
    /// `/auth/decide` without a usable `X-Forwarded-Method`/`X-Forwarded-Uri`.
    #[error("missing or malformed forwarded request headers")]
    BadForwardedRequest,
    /// The user store cannot be reached, or too much identity work is queued.
    #[error("user store unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected; logged with its detail, answered with a generic text.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> AuthError {
        match e {
            StoreError::Duplicate { field } => AuthError::Invalid(FieldErrors::one(
                field,
                match field {
                    "email" => "user with this email address already exists.",
                    _ => "A user with that username already exists.",
                },
            )),
            StoreError::NotFound => AuthError::NotFound,
            StoreError::Unavailable(detail) => AuthError::Unavailable(detail),
            other => AuthError::Internal(other.to_string()),
        }
    }
}

impl From<RuntimeError> for AuthError {
    fn from(e: RuntimeError) -> AuthError {
        match e {
            RuntimeError::ShuttingDown => AuthError::Unavailable(e.to_string()),
            RuntimeError::Panicked => AuthError::Internal(e.to_string()),
        }
    }
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

#[derive(Serialize)]
struct DetailCode<'a> {
    detail: &'a str,
    code: &'a str,
}

#[derive(Serialize)]
struct NonField<'a> {
    non_field_errors: [&'a str; 1],
}

impl AuthError {
    /// The complete HTTP answer for this error.
    pub fn into_response(self) -> Answer {
        use AuthError as E;
        match self {
            E::Invalid(errors) => Answer::json(400, &errors),
            E::Parse(message) => Answer::json(
                400,
                &Detail {
                    detail: &format!("JSON parse error - {message}"),
                },
            ),
            E::NotAnObject(got) => Answer::json(
                400,
                &NonField {
                    non_field_errors: [&format!(
                        "Invalid data. Expected a dictionary, but got {got}."
                    )],
                },
            ),
            E::UnsupportedMediaType(media) => Answer::json(
                415,
                &Detail {
                    detail: &format!("Unsupported media type \"{media}\" in request."),
                },
            ),
            E::PayloadTooLarge => Answer::raw_json(
                413,
                r#"{"detail":"Request body is larger than 65536 bytes.","code":"payload_too_large"}"#,
            ),
            E::NotFound => {
                Answer::raw_json(404, r#"{"detail":"Not found.","code":"not_found"}"#)
            }
            E::MethodNotAllowed { method, allow } => Answer::json(
                405,
                &Detail {
                    detail: &format!("Method \"{method}\" not allowed."),
                },
            )
            .with_header(ALLOW, HeaderValue::from_static(allow)),
            E::InvalidCredentials => Answer::raw_json(
                401,
                r#"{"detail":"No active account found with the given credentials"}"#,
            ),
            E::NoActiveAccount => Answer::raw_json(
                401,
                r#"{"detail":"No active account found for the given token."}"#,
            ),
            E::TokenNotValid(e) => Answer::json(
                401,
                &DetailCode {
                    detail: e.simplejwt_message(),
                    code: "token_not_valid",
                },
            ),
            E::TokenRevoked => Answer::json(
                401,
                &DetailCode {
                    detail: BLACKLISTED,
                    code: "token_not_valid",
                },
            ),
            E::Denied(denial) => Answer::from(denial),
            E::UserNotFound => Answer::raw_json(
                401,
                r#"{"detail":"User not found","code":"user_not_found"}"#,
            ),
            E::UserInactive => Answer::raw_json(
                401,
                r#"{"detail":"User is inactive","code":"user_inactive"}"#,
            ),
            E::RateLimited { retry_after } => {
                let detail =
                    format!("Request was throttled. Expected available in {retry_after} seconds.");
                Answer::json(
                    429,
                    &DetailCode {
                        detail: &detail,
                        code: "throttled",
                    },
                )
                .with_header(RETRY_AFTER, HeaderValue::from(retry_after))
            }
            E::UntrustedPeer => Answer::raw_json(
                403,
                r#"{"detail":"Forward-auth requests are only accepted from trusted proxies.","code":"permission_denied"}"#,
            ),
            E::BadForwardedRequest => Answer::raw_json(
                400,
                r#"{"detail":"X-Forwarded-Method and X-Forwarded-Uri must each be sent once, with a method and an absolute path.","code":"bad_request"}"#,
            ),
            E::Unavailable(detail) => {
                // The link logs the outage once; per-request detail only when asked for.
                tracing::debug!(%detail, "identity endpoint answered 503");
                Answer::raw_json(
                    503,
                    r#"{"detail":"The user store is unavailable. Try again later.","code":"service_unavailable"}"#,
                )
                .with_header(RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_SECS))
            }
            E::Internal(detail) => {
                tracing::error!(%detail, "identity endpoint failed");
                Answer::raw_json(
                    500,
                    r#"{"detail":"A server error occurred.","code":"server_error"}"#,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_simplejwt() {
        let r = AuthError::InvalidCredentials.into_response();
        assert_eq!(r.status, 401);
        assert_eq!(
            &r.body[..],
            br#"{"detail":"No active account found with the given credentials"}"#
        );
        let head = crate::answer::response_header(&r, "").unwrap();
        assert_eq!(head.headers["www-authenticate"], r#"Bearer realm="api""#);

        let r = AuthError::TokenNotValid(TokenError::Expired).into_response();
        assert_eq!(
            &r.body[..],
            br#"{"detail":"Token is expired","code":"token_not_valid"}"#
        );

        let r = AuthError::UnsupportedMediaType("text/plain".into()).into_response();
        assert_eq!(r.status, 415);
        assert_eq!(
            &r.body[..],
            br#"{"detail":"Unsupported media type \"text/plain\" in request."}"#
        );

        let r = AuthError::MethodNotAllowed {
            method: http::Method::GET,
            allow: "POST, OPTIONS",
        }
        .into_response();
        assert_eq!(r.status, 405);
        assert_eq!(&r.body[..], br#"{"detail":"Method \"GET\" not allowed."}"#);
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    }

    #[test]
    fn rate_limits_and_outages_say_when_to_retry() {
        let r = AuthError::RateLimited { retry_after: 42 }.into_response();
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("42"));
        assert_eq!(r.json_body()["code"], "throttled");
        let r = AuthError::Unavailable("refused".into()).into_response();
        assert_eq!(r.status, 503);
        assert!(r.header("retry-after").is_some());
        assert!(!String::from_utf8_lossy(&r.body).contains("refused"));
    }

    #[test]
    fn internal_detail_never_reaches_the_body() {
        let r = AuthError::Internal("SELECT secret FROM users".into()).into_response();
        assert_eq!(r.status, 500);
        assert!(!String::from_utf8_lossy(&r.body).contains("secret"));
    }

    #[test]
    fn duplicates_become_field_errors() {
        let r = AuthError::from(StoreError::Duplicate { field: "username" }).into_response();
        assert_eq!(r.status, 400);
        assert_eq!(
            &r.body[..],
            br#"{"username":["A user with that username already exists."]}"#
        );
    }
}
