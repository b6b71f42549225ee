//! `AuthRequest` and `AuthResponse`: what the proxy hands the identity endpoints and what
//! it writes back, free of Pingora types so the endpoints are tested without a socket.

use std::net::IpAddr;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use serde::Serialize;

/// One request to an identity endpoint, body already read (at most 64 KiB).
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// Request method.
    pub method: http::Method,
    /// Normalised path with the `auth.prefix` stripped, e.g. `/login`; `/.well-known/jwks.json`
    /// for the JWKS document.
    pub path: String,
    /// Query string, without `?`.
    pub query: Option<String>,
    /// Request headers as the client sent them.
    pub headers: http::HeaderMap,
    /// The request body.
    pub body: Bytes,
    /// The client's address: the TCP peer, or the address a trusted proxy forwarded for.
    pub client_ip: Option<IpAddr>,
    /// The TCP peer itself (decides whether `X-Forwarded-*` headers are believed).
    pub peer_ip: Option<IpAddr>,
}

/// A complete answer: status, extra headers and a body (JSON unless empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers besides `Content-Type`/`Content-Length`, which the writer sets.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body; empty for 204.
    pub body: Bytes,
}

impl AuthResponse {
    /// A JSON response from a serialisable value (struct field order is kept).
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> AuthResponse {
        // Serialising plain structs, strings and maps with string keys cannot fail.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        AuthResponse {
            status,
            headers: Vec::new(),
            body: Bytes::from(body),
        }
    }

    /// A JSON response from a fixed text.
    pub fn raw_json(status: u16, body: &'static str) -> AuthResponse {
        AuthResponse {
            status,
            headers: Vec::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    /// No body (204).
    pub fn empty(status: u16) -> AuthResponse {
        AuthResponse {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> AuthResponse {
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
        self.headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .and_then(|(_, v)| v.to_str().ok())
    }
}

/// The `{}` body of `/auth/verify` and `/auth/logout`.
#[derive(Serialize)]
pub(crate) struct Empty {}
