//! Pingora's full proxy as a driver of the gateway's phases: `impl ProxyHttp`
//! maps each Pingora callback to one [`Gateway`] phase and adds nothing of its
//! own but Pingora's framing. It serves every request the fast lane does not
//! take — bodies, upgrades, HTTP/2, HTTP/1.0, the identity endpoints — and
//! every request when `server.fast_lane` is off.

use std::sync::Arc;

use async_trait::async_trait;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::FailToProxy;
use pingora::Error;

use crate::admission::Denial;
use crate::answer::{self, Answer};
use crate::drain::InFlight;

use super::{auth_route, client_failure_status, client_hung_up, headers, rewrite_path, Gateway, Handling, RequestCtx};

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
            Handling::Answer(denial) => {
                let reusable = !answer::has_request_body(&session.req_header().headers);
                ctx.grpc_answer = answer::send_denial(session, denial, ctx.request_id_str(), reusable).await?;
                Ok(true)
            }
            Handling::Identity(rest) => {
                let gen = Arc::clone(ctx.generation()?);
                auth_route::serve(&self.auth, session, ctx, gen, rest).await?;
                Ok(true)
            }
            Handling::Proxy(rewritten) => {
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
        self.prepare_upstream_request(upstream_request, peer, ctx)?.insert_into(upstream_request)?;
        // Pingora drops TE with the other hop-by-hop headers, but on HTTP/2
        // `te: trailers` is the one value allowed, and gRPC servers (Java's,
        // among others) refuse a call without it.
        if ctx.upstream_http2 && headers::accepts_trailers(session.req_header()) {
            upstream_request.insert_header(http::header::TE, "trailers")?;
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        self.prepare_client_response(upstream_response, ctx)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let Some(denial) = self.upstream_failure(ctx, e) else {
            // The client went away or sent something that breaks HTTP.
            return client_failure(session, ctx, e).await;
        };
        let code = match answer::send_denial(session, denial, ctx.request_id_str(), false).await {
            Ok(grpc) => {
                ctx.grpc_answer = grpc;
                denial.status()
            }
            Err(_) => 0,
        };
        FailToProxy { error_code: code, can_reuse_downstream: false }
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, e: &Error) -> bool {
        // A client hanging up is routine (timeouts, a closed tab, a load
        // test ending; the access line records it with status 0), and so is
        // client garbage: `client_failure` logs it at warn, never error.
        client_hung_up(e) || e.esource() == &pingora::ErrorSource::Downstream
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        ctx.record(session, e, &self.metrics);
    }
}

/// A failure that is not the upstream's: the client's broken framing gets
/// the JSON 400 every refusal gets, any other status Pingora's plain answer,
/// and a client that is gone nothing. The connection closes either way.
async fn client_failure(session: &mut Session, ctx: &mut RequestCtx, e: &Error) -> FailToProxy {
    let code = client_failure_status(e);
    if code == 400 {
        tracing::warn!(error = %e, "request refused: broken framing");
        ctx.denial = Some(Denial::BadFraming);
        let sent = answer::send(session, &Answer::from(Denial::BadFraming), ctx.request_id_str(), false).await;
        return FailToProxy { error_code: if sent.is_ok() { 400 } else { 0 }, can_reuse_downstream: false };
    }
    if code > 0 {
        let _ = session.respond_error(code).await;
    }
    FailToProxy { error_code: code, can_reuse_downstream: false }
}
