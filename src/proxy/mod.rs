//! The hot path. A bodiless HTTP/1 `GET` or `HEAD` — most of a gateway's
//! traffic — is served by the fast lane ([`lane`]); every other request by
//! Pingora's `ProxyHttp` phases below. Both decide, answer and log with the
//! same functions (`Gateway::decide`, `choose_peer`,
//! `prepare_upstream_request`, [`respond`], [`RequestCtx`]). The phases:
//!
//! ```text
//! request_filter ──► normalise ──► under auth.prefix / JWKS? ──► auth_route
//!      │                           (AuthService; never proxied)
//!      ▼
//!      admit (match, verify, revocation point, authorize)
//!      │ refused ──► respond::send (401/403/400 JSON) ──► logging
//!      ▼ admitted (path rewritten to its normalised form)
//! upstream_peer ──► the rule's upstream (round-robin, health-checked)
//! upstream_request_filter ──► strip forged identity, add verified, X-Forwarded-*, X-Request-Id
//! response_filter ──► X-Request-Id back to the client
//! fail_to_proxy ──► 502 / 504 JSON
//! logging ──► metrics + one access-log line
//! ```
//!
//! Each phase body is short and calls a named function; nothing here touches
//! the database, compiles a pattern or takes a lock of ours.

pub mod admit;
mod auth_route;
pub mod bearer;
mod ctx;
mod discovery;
pub mod forwarded;
pub mod headers;
mod host;
pub mod lane;
mod request_id;
pub mod respond;
pub mod shadow;
pub mod upstream;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::FailToProxy;
use pingora::{Error, ErrorType};

pub use ctx::RequestCtx;
pub use headers::IdentityHeaders;

use crate::auth::AuthService;
use crate::drain::InFlight;
use crate::generation::Live;
use crate::metrics::Metrics;
use crate::policy::normalize_path;
use admit::{admit_path, RequestFacts};
use respond::Denial;

/// What the gateway makes of a request before any upstream is involved.
enum Verdict {
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
    fn decide(&self, req: &RequestHeader, ctx: &mut RequestCtx) -> Verdict {
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
        if let Some(rest) = AuthService::claims_path(&gen, &path) {
            let rest = rest.to_owned();
            ctx.generation = Some(gen);
            return Verdict::Identity(rest);
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
                Verdict::Proxy(match admitted.path {
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
        let gen = ctx.generation()?;
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
        upstream
            .peer()
            .ok_or_else(|| Error::explain(ErrorType::HTTPStatus(502), "no healthy upstream server"))
    }

    /// Records an upstream failure answered with `denial` (502/504), by upstream.
    fn count_upstream_failure(&self, ctx: &mut RequestCtx, denial: Denial) {
        ctx.denial = Some(denial);
        if let Some(upstream) = &ctx.upstream {
            self.metrics.upstream_errors.with_label_values(&[upstream, denial.reason()]).inc();
        }
    }

    /// The upstream's copy of the request: forged identity and forwarding
    /// headers replaced by what the gateway verified, `X-Request-Id` set.
    /// `peer`: the client's TCP peer address.
    fn prepare_upstream_request(
        &self,
        upstream_request: &mut RequestHeader,
        peer: Option<std::net::IpAddr>,
        ctx: &RequestCtx,
    ) -> Result<()> {
        let gen = ctx.generation()?;
        let config = &gen.config;
        let tls = config.listen.tls.is_some();
        forwarded::apply(upstream_request, peer, &config.server.trusted_proxies, tls)?;
        config.identity_headers.apply(upstream_request, ctx.claims.as_deref())?;
        if !config.forward_authorization {
            upstream_request.remove_header(&http::header::AUTHORIZATION);
        }
        upstream_request.insert_header(headers::request_id_wire(), ctx.request_id_value())?;
        Ok(())
    }
}

/// Seconds since the Unix epoch (token `exp`/`iat` are in these units).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The host a request is for: the absolute-form authority, else `Host`.
fn request_host(req: &RequestHeader) -> Option<&str> {
    req.uri
        .host()
        .or_else(|| req.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()))
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        let mut ctx = RequestCtx::new();
        ctx.in_flight = Some(InFlight::enter(&self.metrics.requests_in_flight));
        ctx
    }

    fn init_downstream_modules(&self, _modules: &mut pingora::modules::http::HttpModules) {
        // Pingora's default adds a disabled compression module that still
        // runs on every request; the gateway never compresses, so none.
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        match self.decide(session.req_header(), ctx) {
            Verdict::Answer(denial) => {
                respond::send(session, denial, ctx.request_id_str()).await?;
                Ok(true)
            }
            Verdict::Identity(rest) => {
                let gen = ctx.generation()?;
                auth_route::serve(&self.auth, session, ctx, gen, rest).await?;
                Ok(true)
            }
            Verdict::Proxy(rewritten) => {
                if let Some(path) = rewritten {
                    rewrite_path(session.req_header_mut(), &path)?;
                }
                Ok(false)
            }
        }
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        self.choose_peer(ctx)
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        _ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        // Nothing was sent yet: another server (round-robin) may take it.
        e.set_retry(true);
        e
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let peer = session.client_addr().and_then(|a| a.as_inet()).map(|a| a.ip());
        self.prepare_upstream_request(upstream_request, peer, ctx)
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        upstream_response.insert_header(headers::request_id_wire(), ctx.request_id_value())?;
        Ok(())
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let Some(denial) = upstream_denial(e) else {
            // The client went away or sent something Pingora refused: let it answer.
            return client_failure(session, e).await;
        };
        self.count_upstream_failure(ctx, denial);
        let code = match respond::send(session, denial, ctx.request_id_str()).await {
            Ok(()) => denial.status(),
            Err(_) => 0,
        };
        FailToProxy { error_code: code, can_reuse_downstream: false }
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, e: &Error) -> bool {
        // A client hanging up is routine (timeouts, a closed tab, a load
        // test ending); the access line records it with status 0.
        client_hung_up(e)
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        ctx.record(session, e, &self.metrics);
    }
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

/// Pingora's own handling for errors caused by the client (bad request
/// syntax, a closed connection): a plain status, no body of ours.
async fn client_failure(session: &mut Session, e: &Error) -> FailToProxy {
    let code = client_failure_status(e);
    if code > 0 {
        let _ = session.respond_error(code).await;
    }
    FailToProxy { error_code: code, can_reuse_downstream: false }
}
