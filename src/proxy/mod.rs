//! The hot path: the gateway's phases, and the two drivers that run them.
//!
//! [`Gateway`]'s methods here are the phases — everything the gateway does to
//! a proxied request. Two drivers call them and nothing else: Pingora's full
//! proxy ([`full`], `impl ProxyHttp`) for every request, and the fast lane
//! ([`lane`]) for plain HTTP/1 reads and small `Content-Length` writes when
//! `server.fast_lane` is on. A filter added to a phase therefore runs on
//! both paths; a driver adds framing, never policy.
//!
//! ```text
//! decide ──► normalise ──► under auth.prefix / JWKS? ──► Handling::Identity (auth_route)
//!      │                                                 (AuthService; never proxied)
//!      ▼
//!      admission (match, verify, revocation point, the one Ruling)
//!      │ refused ──► Handling::Answer ──► answer::send (400/401/403 JSON)
//!      ▼ admitted ──► Handling::Proxy (path rewritten to its normalised form)
//! choose_peer ──► the rule's upstream (round-robin, health-checked)
//! prepare_upstream_request ──► strip forged identity, add verified, X-Forwarded-*, X-Request-Id
//! prepare_client_response ──► X-Request-Id back to the client
//! upstream_failure ──► 502 / 504 JSON
//! RequestCtx::record_outcome ──► metrics + one access-log line
//! ```
//!
//! Nothing here touches the database, compiles a pattern or takes a lock of ours.

mod added;
mod auth_route;
mod ctx;
pub mod full;
pub mod forwarded;
mod framing;
pub mod headers;
mod host;
pub mod lane;

use std::sync::Arc;

use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::{Error, ErrorType};

use added::AddedHeaders;
pub use ctx::RequestCtx;
pub use headers::IdentityHeaders;

use crate::admission::request_id::REQUEST_ID;
use crate::admission::{admit_path, Denial, RequestFacts};
use crate::auth::AuthService;
use crate::generation::Live;
use crate::metrics::Metrics;
use crate::policy::normalize_path;
use crate::token::unix_now;

/// What the gateway makes of a request before any upstream is involved.
enum Handling {
    /// Answered by the gateway itself (400, 401, 403): the denial to send.
    Answer(Denial),
    /// Under `auth.prefix` or the JWKS path: the identity service's path.
    Identity(String),
    /// Admitted: proxy it, with the normalised path when it differs.
    Proxy(Option<String>),
}

/// The proxy application: shared, immutable apart from the generation slot.
/// Cheap to clone: the fast lane and Pingora's proxy each hold one.
#[derive(Clone)]
pub struct Gateway {
    live: Arc<Live>,
    metrics: Metrics,
    auth: AuthService,
}

impl Gateway {
    /// A gateway reading its compiled state from `live`, serving the identity
    /// endpoints through `auth`.
    pub fn new(live: Arc<Live>, metrics: Metrics, auth: AuthService) -> Gateway {
        Gateway { live, metrics, auth }
    }

    /// What `request_filter` decides, free of Pingora's session so that the
    /// HTTP/1 fast lane ([`lane`]) decides exactly alike. Records the
    /// generation, request id, rule, claims and any denial in `ctx`.
    fn decide(&self, req: &RequestHeader, ctx: &mut RequestCtx) -> Handling {
        let gen = self.live.current();
        ctx.adopt_request_id(req);
        if !host::host_is_acceptable(req) {
            ctx.generation = Some(gen);
            return ctx.refuse(Denial::BadHost);
        }
        let path = match normalize_path(req.uri.path()) {
            Ok(path) => path,
            Err(e) => {
                ctx.generation = Some(gen);
                return ctx.refuse(Denial::BadPath(e));
            }
        };
        if let Some(rest) = AuthService::identity_route(&gen, &path) {
            let rest = rest.to_owned();
            ctx.generation = Some(gen);
            return Handling::Identity(rest);
        }
        let facts = RequestFacts {
            method: req.method.as_str(),
            host: request_host(req),
            raw_path: req.uri.path(),
            headers: &req.headers,
            request_id: ctx.request_id_str(),
        };
        let revocations = self.auth.revocations();
        let verdict = admit_path(&gen, &facts, path, unix_now(), &self.metrics, revocations);
        match verdict {
            Ok(admitted) => {
                ctx.rule = admitted.rule;
                ctx.claims = admitted.claims;
                ctx.generation = Some(gen);
                Handling::Proxy(match admitted.path {
                    std::borrow::Cow::Owned(path) => Some(path),
                    std::borrow::Cow::Borrowed(_) => None,
                })
            }
            Err(refused) => {
                ctx.rule = refused.rule;
                ctx.claims = refused.claims;
                ctx.generation = Some(gen);
                ctx.refuse(refused.denial)
            }
        }
    }

    /// The server an admitted request goes to: its rule's upstream (or the
    /// default one), round-robin among the healthy servers.
    fn choose_peer(&self, ctx: &mut RequestCtx) -> Result<Box<HttpPeer>> {
        let gen = Arc::clone(ctx.generation()?);
        let index = match ctx.rule {
            Some(rule) => gen.config.rules.rules()[rule].upstream(),
            None => gen.config.default_upstream.ok_or_else(|| {
                Error::explain(ErrorType::HTTPStatus(502), "no upstream for unmatched requests")
            })?,
        };
        // Deny rules carry no upstream (index usize::MAX) and never get here;
        // a checked lookup keeps a policy bug from becoming a panic.
        let upstream = gen.upstreams.get(index).ok_or_else(|| {
            Error::explain(ErrorType::HTTPStatus(502), "rule has no upstream")
        })?;
        ctx.upstream = Some(upstream.name().clone());
        ctx.upstream_http2 = !upstream.protocol().is_http1();
        upstream
            .peer()
            .ok_or_else(|| Error::explain(ErrorType::HTTPStatus(502), "no healthy upstream server"))
    }

    /// The client's copy of the upstream's response head: the request id added.
    fn prepare_client_response(&self, response: &mut ResponseHeader, ctx: &RequestCtx) -> Result<()> {
        response.insert_header(headers::request_id_wire(), ctx.request_id_value())?;
        Ok(())
    }

    /// What to answer for a failed proxy attempt: the 502/504 denial when the
    /// upstream failed (counted by upstream), `None` when the fault is the client's.
    fn upstream_failure(&self, ctx: &mut RequestCtx, e: &Error) -> Option<Denial> {
        let denial = upstream_denial(e)?;
        self.count_upstream_failure(ctx, denial);
        Some(denial)
    }

    /// Records an upstream failure answered with `denial` (502/504), by upstream.
    fn count_upstream_failure(&self, ctx: &mut RequestCtx, denial: Denial) {
        ctx.denial = Some(denial);
        if let Some(upstream) = &ctx.upstream {
            self.metrics.upstream_errors.with_label_values(&[upstream, denial.reason()]).inc();
        }
    }

    /// The upstream's copy of the request, in two halves: removes from
    /// `upstream_request` what the upstream must not see (forged identity,
    /// override and forwarding headers, `Authorization` unless forwarded,
    /// the client's `X-Request-Id`), and returns the headers the gateway
    /// adds in their place (verified identity, `X-Forwarded-*`,
    /// `X-Request-Id`). Each driver adds them where it sends from: Pingora's
    /// proxy into the head ([`AddedHeaders::insert_into`]), the lane after
    /// the head it serialised ([`AddedHeaders::write_after`]). `peer`: the
    /// client's TCP peer address.
    fn prepare_upstream_request<'c>(
        &self,
        upstream_request: &mut RequestHeader,
        peer: Option<std::net::IpAddr>,
        ctx: &'c RequestCtx,
    ) -> Result<AddedHeaders<'c>> {
        let config = &ctx.generation()?.config;
        let tls = config.listen.tls.is_some();
        let forwarding = forwarded::strip(upstream_request, peer, &config.server.trusted_proxies, tls)?;
        headers::IdentityHeadersExt::strip_forged(&config.identity_headers, upstream_request);
        if !config.forward_authorization {
            upstream_request.remove_header(&http::header::AUTHORIZATION);
        }
        upstream_request.remove_header(&REQUEST_ID);
        Ok(AddedHeaders {
            forwarded_for: forwarding.forwarded_for,
            forwarded_proto: forwarding.forwarded_proto,
            identity: ctx.claims.as_deref().map(|claims| added::Identity { names: &config.identity_headers, claims }),
            request_id: ctx.request_id_value(),
        })
    }
}

/// The host a request is for: the absolute-form authority, else `Host`.
fn request_host(req: &RequestHeader) -> Option<&str> {
    req.uri
        .host()
        .or_else(|| req.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()))
}

/// Replaces the request target's path by its normalised form, keeping the query.
fn rewrite_path(req: &mut RequestHeader, path: &str) -> Result<()> {
    let uri = match req.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let uri = uri
        .parse::<http::Uri>()
        .or_err(ErrorType::HTTPStatus(400), "normalised path is not a valid URI")?;
    req.set_uri(uri);
    Ok(())
}

/// The JSON answer for an upstream failure, or None if the fault is the client's.
fn upstream_denial(e: &Error) -> Option<Denial> {
    use ErrorType::*;
    if client_hung_up(e) {
        // Pingora reports a client that closed its connection while the
        // upstream was answering as ConnectionClosed too: not an upstream fault.
        return None;
    }
    match e.etype() {
        ConnectTimedout | ReadTimedout | WriteTimedout => Some(Denial::GatewayTimeout),
        HTTPStatus(502) => Some(Denial::NoHealthyUpstream),
        HTTPStatus(_) => None,
        _ if e.esource() == &pingora::ErrorSource::Upstream => Some(Denial::BadGateway),
        ConnectRefused | ConnectNoRoute | ConnectError | ConnectionClosed => {
            Some(Denial::BadGateway)
        }
        _ => None,
    }
}

/// The client closed its connection before it got its answer (nginx's 499).
fn client_hung_up(e: &Error) -> bool {
    e.esource() == &pingora::ErrorSource::Downstream && e.etype() == &ErrorType::ConnectionClosed
}

/// The plain status for a failure that is not the upstream's: the client's
/// syntax (400), an explicit status, the gateway's own fault (500), or 0
/// when the client is gone and nothing can be sent.
fn client_failure_status(e: &Error) -> u16 {
    match e.etype() {
        ErrorType::HTTPStatus(code) => *code,
        ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed => 0,
        _ if e.esource() == &pingora::ErrorSource::Downstream => 400,
        _ => 500,
    }
}

