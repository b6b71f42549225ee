//! `AuthRequest`: what the proxy hands the identity endpoints, free of Pingora
//! types so the endpoints are tested without a socket. They answer with a
//! [`crate::answer::Answer`].

use std::net::IpAddr;

use bytes::Bytes;
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

/// The `{}` body of `/auth/verify` and `/auth/logout`.
#[derive(Serialize)]
pub(crate) struct Empty {}
