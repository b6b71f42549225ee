//! One request on the fast lane, start to end: parsed by Pingora's HTTP/1
//! session, decided by [`Gateway::decide`] (the code `request_filter` runs),
//! relayed on an upstream connection of the lane's pool
//! ([`super::upstream_pool`]), logged and counted by
//! [`RequestCtx::record_outcome`].
//!
//! It mirrors what Pingora's proxy does for the same request — the retry
//! rules (a failed connect, or a reused upstream connection that failed
//! before answering, is tried again, up to `max_retries`), the response
//! framing (a close-delimited answer is sent on as chunked), the 502/504
//! answers of `fail_to_proxy` — without its general machinery. A request
//! body ([`super::classify`] lets through only small `Content-Length` ones)
//! is read whole, under `server.request_body_timeout`, once the request is
//! admitted and before any upstream is tried: a try that fails sends it
//! again, a client that stops halfway gets 408 and nothing reaches the
//! upstream, and a refused request's body is never read.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, Version};
use pingora::http::ResponseHeader;
use pingora::prelude::fast_timeout::fast_timeout;
use pingora::protocols::http::error_resp::gen_error_response;
use pingora::protocols::http::v1::client::{http_req_header_to_wire, HttpSession as UpstreamSession};
use pingora::protocols::http::v1::server::HttpSession;
use pingora::protocols::Stream;
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType};
use tokio::io::AsyncWriteExt;

use super::super::{client_failure_status, rewrite_path, Handling, RequestCtx};
use super::{classify, ProxyApp};
use crate::admission::Denial;
use crate::answer::{self, Answer};
use crate::drain::InFlight;

/// How many 1xx answers (other than 101) are skipped before the final one.
const MAX_INFORMATIONAL: usize = 8;

/// Serves the request whose first bytes `ds` holds as its prefix, with a
/// body of `body_len` bytes as classified, then gives back the connection
/// (and any bytes read past the request) when it can carry another request.
pub(super) async fn serve_and_reuse(
    app: &ProxyApp,
    mut ds: HttpSession,
    body_len: usize,
) -> Option<(pingora::protocols::Stream, Option<BytesMut>)> {
    serve(app, &mut ds, body_len).await;
    ds.reuse().await.ok().flatten().map(|reusable| reusable.into_parts())
}

/// Serves the request whose first bytes `ds` holds as its prefix. Leaves
/// `ds` reusable only when the exchange ended cleanly.
async fn serve(app: &ProxyApp, ds: &mut HttpSession, body_len: usize) {
    match ds.read_request().await {
        Ok(Some(_)) => {}
        Ok(None) => return ds.set_server_keepalive(None),
        Err(_) => return refuse_syntax(ds).await,
    }
    if classify::still_plain(ds.req_header()) != Some(body_len) {
        // The classifier and Pingora's parser disagree about this request:
        // neither path may guess. Close without an answer.
        tracing::warn!("fast lane: request head parsed differently than classified; closing");
        return ds.set_server_keepalive(None);
    }
    let gateway = &app.gateway;
    let mut ctx = RequestCtx::new();
    ctx.in_flight = Some(InFlight::enter(&gateway.metrics.requests_in_flight));
    let failed = match gateway.decide(ds.req_header(), &mut ctx) {
        // A refusal leaves the body unread, so the connection is kept only
        // when there is none.
        Handling::Answer(denial) => answer(ds, denial, &ctx, body_len == 0).await.is_err(),
        Handling::Identity(_) => {
            // The classifier keeps identity paths off the lane; should one
            // arrive anyway it is refused, never proxied.
            ctx.denial = Some(Denial::BadTarget);
            answer(ds, Denial::BadTarget, &ctx, false).await.is_err()
        }
        Handling::Proxy(rewritten) => {
            let deadline = match &ctx.generation {
                Some(generation) => generation.config.server.request_body_timeout,
                None => gateway.live.current().config.server.request_body_timeout,
            };
            match read_body(ds, body_len, deadline).await {
                Ok(body) => match relay(app, ds, &mut ctx, rewritten, &body).await {
                    Ok(()) => false,
                    Err(e) => {
                        fail(app, ds, &mut ctx, &e).await;
                        true
                    }
                },
                Err(BodyFailed::TooSlow) => {
                    ctx.denial = Some(Denial::RequestTimeout);
                    answer(ds, Denial::RequestTimeout, &ctx, false).await.is_err()
                }
                Err(BodyFailed::ClientGone) => {
                    ds.set_server_keepalive(None);
                    true
                }
            }
        }
    };
    let status = ds.response_written().map_or(0, |r| r.status.as_u16());
    ctx.record_outcome(ds.req_header().method.as_str(), status, failed, &gateway.metrics);
}

/// Why a request body was not read to its end.
enum BodyFailed {
    /// Not all of it arrived within `server.request_body_timeout`.
    TooSlow,
    /// The client closed or broke the connection before sending all of it.
    ClientGone,
}

/// The whole request body of `length` bytes (as framed by its one
/// `Content-Length`), read within `deadline` in all — however slowly it
/// trickles — so that it can be sent again if a try fails.
async fn read_body(ds: &mut HttpSession, length: usize, deadline: Duration) -> Result<Bytes, BodyFailed> {
    if length == 0 {
        return Ok(Bytes::new());
    }
    let whole = async {
        // A small body usually arrives in one piece: that piece is the
        // body, with no copy. Only a body in several is joined.
        let mut only: Option<Bytes> = None;
        let mut joined = BytesMut::new();
        while let Some(piece) = ds.read_body_bytes().await? {
            if only.is_none() && joined.is_empty() {
                only = Some(piece);
                continue;
            }
            if let Some(first) = only.take() {
                joined.reserve(length);
                joined.extend_from_slice(&first);
            }
            joined.extend_from_slice(&piece);
        }
        Ok::<Bytes, Box<Error>>(only.unwrap_or_else(|| joined.freeze()))
    };
    match fast_timeout(deadline, whole).await {
        Ok(Ok(body)) if body.len() == length => Ok(body),
        Ok(Err(e)) if matches!(e.etype(), ErrorType::ReadTimedout) => Err(BodyFailed::TooSlow),
        Ok(_) => Err(BodyFailed::ClientGone),
        Err(_) => Err(BodyFailed::TooSlow),
    }
}

/// Pingora's answer to a request head it cannot parse: 400, then close.
async fn refuse_syntax(ds: &mut HttpSession) {
    ds.set_server_keepalive(None);
    plain_status(ds, 400).await;
}

/// Pingora's bodiless error answer with status `code`.
async fn plain_status(ds: &mut HttpSession, code: u16) {
    if ds.write_response_header(Box::new(gen_error_response(code))).await.is_ok() {
        let _ = ds.finish_body().await;
    }
}

/// Writes `denial` as the whole answer, through the gateway's one writer;
/// the connection is kept only when `reusable` (the request was read to
/// its end) and the status allows it.
async fn answer(ds: &mut HttpSession, denial: Denial, ctx: &RequestCtx, reusable: bool) -> pingora::Result<()> {
    answer::send_h1(ds, &Answer::from(denial), ctx.request_id_str(), reusable).await
}

/// Proxies the admitted request with its `body`, trying again where
/// Pingora's proxy would.
///
/// The upstream request is the client's head, stripped in place once (the
/// gateway's header rules depend on the client and the token, never on the
/// upstream server tried) and put in wire form once, with the headers the
/// gateway adds written after its own lines ([`super::super::added`]):
/// every try sends the same bytes, and the parsed head is neither copied
/// nor grown.
async fn relay(
    app: &ProxyApp,
    ds: &mut HttpSession,
    ctx: &mut RequestCtx,
    rewritten: Option<String>,
    body: &Bytes,
) -> pingora::Result<()> {
    if let Some(path) = rewritten {
        rewrite_path(ds.req_header_mut(), &path)?;
    }
    let client_ip = ds.client_addr().and_then(|a| a.as_inet()).map(|a| a.ip());
    let req = ds.req_header_mut();
    req.remove_header(&CONNECTION);
    let added = app.gateway.prepare_upstream_request(req, client_ip, ctx)?;
    // A `HEAD` is sent through Pingora's client session, which must know
    // the request to read an answer that has no body.
    let wire = match ds.req_header().method {
        Method::HEAD => {
            added.insert_into(ds.req_header_mut())?;
            None
        }
        _ => {
            let mut wire = http_req_header_to_wire(ds.req_header()).ok_or_else(|| {
                Error::explain(ErrorType::InvalidHTTPHeader, "request target with a forbidden byte")
            })?;
            added.write_after(&mut wire)?;
            wire.extend_from_slice(body);
            Some(wire)
        }
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let peer = app.gateway.choose_peer(ctx)?;
        match attempt(app, ds, ctx, &peer, wire.as_deref()).await {
            Ok(()) => return Ok(()),
            Err(Attempt { error, retry }) if retry && tries < app.max_tries => {
                tracing::debug!(%error, tries, "fast lane: trying the upstream again");
            }
            Err(Attempt { error, .. }) => return Err(error),
        }
    }
}

/// Why one try failed, and whether another may be made.
struct Attempt {
    error: Box<Error>,
    retry: bool,
}

impl Attempt {
    fn upstream(error: Box<Error>, retry: bool) -> Attempt {
        Attempt { error: error.into_up(), retry }
    }
}

/// One try on one upstream server: `wire` is the whole request as sent,
/// None for a `HEAD`, whose prepared head Pingora's session writes. Nothing
/// has reached the client when it fails with `retry` set.
async fn attempt(
    app: &ProxyApp,
    ds: &mut HttpSession,
    ctx: &RequestCtx,
    peer: &HttpPeer,
    wire: Option<&[u8]>,
) -> Result<(), Attempt> {
    let (stream, reused) = match app.idle_upstreams.take(peer) {
        Some(idle) => (idle, true),
        // Connecting (TCP, TLS) takes kilobytes of state: boxed, so that
        // the request's future, moved into its box for every request, does
        // not carry it for the common case of a pooled connection.
        None => (Box::pin(app.connector.new_stream(peer)).await.map_err(|e| Attempt::upstream(e, true))?, false),
    };
    let mut up = match wire {
        Some(wire) => send_whole(stream, peer, wire).await.map_err(|e| Attempt::upstream(e, reused))?,
        None => {
            let mut up = upstream_session(stream, peer);
            let req = Box::new(ds.req_header().clone());
            up.write_request_header(req).await.map_err(|e| Attempt::upstream(e, reused))?;
            up
        }
    };

    // While the upstream thinks, watch the client: one that hangs up ends
    // the request (status 0), as on Pingora's path.
    let mut resp = tokio::select! {
        biased;
        resp = final_response(&mut up) => resp.map_err(|e| Attempt::upstream(e, reused))?,
        gone = ds.read_body_or_idle(true) => {
            let error = match gone {
                Err(e) => e,
                Ok(_) => Error::explain(ErrorType::ConnectionClosed, "client sent data while waiting"),
            };
            return Err(Attempt { error: error.into_down(), retry: false });
        }
    };
    frame_for_client(&mut resp, ds.req_header().method == Method::HEAD)
        .map_err(|error| Attempt { error, retry: false })?;
    app.gateway
        .prepare_client_response(&mut resp, ctx)
        .map_err(|error| Attempt { error, retry: false })?;
    // From here on the client has (part of) an answer: no more tries.
    ds.write_response_header(resp).await.map_err(|e| Attempt { error: e.into_down(), retry: false })?;
    while let Some(chunk) = up.read_body_bytes().await.map_err(|e| Attempt::upstream(e, false))? {
        ds.write_body(&chunk).await.map_err(|e| Attempt { error: e.into_down(), retry: false })?;
    }
    ds.finish_body().await.map_err(|e| Attempt { error: e.into_down(), retry: false })?;
    up.respect_keepalive();
    if let Some(stream) = up.reuse().await {
        app.idle_upstreams.put(peer, stream);
    }
    Ok(())
}

/// Sends `wire` (a request head and its body) to the upstream in one write
/// (under the peer's write timeout), and returns a session on the same
/// connection that reads the answer.
///
/// Pingora's client session flushes a request head before any body is
/// written: two sends per request, and on loopback each send also pays for
/// the receiver's TCP processing. The session returned has no record of
/// the request, which only matters for a `HEAD` (no body in the answer) or
/// an upgrade; the lane sends neither this way, and no `Connection` header
/// that would change whether the connection is kept.
async fn send_whole(mut stream: Stream, peer: &HttpPeer, wire: &[u8]) -> pingora::Result<UpstreamSession> {
    let write = async {
        stream.write_all(wire).await?;
        stream.flush().await
    };
    let written = match peer.options.write_timeout {
        Some(limit) => fast_timeout(limit, write)
            .await
            .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())),
        None => write.await,
    };
    written.map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut => Error::because(ErrorType::WriteTimedout, "writing the request", e),
        _ => Error::because(ErrorType::WriteError, "writing the request", e),
    })?;
    Ok(upstream_session(stream, peer))
}

/// Pingora's HTTP/1 client session on `stream`, with the peer's options and
/// its read and write timeouts, which the session does not take from the
/// peer by itself.
fn upstream_session(stream: Stream, peer: &HttpPeer) -> UpstreamSession {
    let mut session = UpstreamSession::new_with_options(stream, peer);
    session.read_timeout = peer.options.read_timeout;
    session.write_timeout = peer.options.write_timeout;
    session
}

/// The upstream's final answer, skipping informational ones; a `101` to a
/// request that asked for no upgrade is the upstream's error.
async fn final_response(up: &mut UpstreamSession) -> pingora::Result<Box<ResponseHeader>> {
    for _ in 0..=MAX_INFORMATIONAL {
        let resp = up.read_resp_header_parts().await?;
        if resp.status == 101 {
            return Error::e_explain(ErrorType::InvalidHTTPHeader, "101 to a request without Upgrade");
        }
        if !resp.status.is_informational() {
            return Ok(resp);
        }
    }
    Error::e_explain(ErrorType::InvalidHTTPHeader, "too many informational responses")
}

/// Pingora's conversion of a close-delimited answer (HTTP/1.0 style) to
/// chunked, so that the client's connection can stay open.
fn frame_for_client(resp: &mut ResponseHeader, head: bool) -> pingora::Result<()> {
    let no_body = head || matches!(resp.status.as_u16(), 204 | 304);
    if !no_body
        && !resp.headers.contains_key(TRANSFER_ENCODING)
        && !resp.headers.contains_key(CONTENT_LENGTH)
    {
        resp.set_version(Version::HTTP_11);
        resp.insert_header(TRANSFER_ENCODING, "chunked")?;
    }
    Ok(())
}

/// `fail_to_proxy` on the fast lane: the 502/504 JSON answer when the
/// upstream failed and nothing was sent yet; a closed connection otherwise.
async fn fail(app: &ProxyApp, ds: &mut HttpSession, ctx: &mut RequestCtx, e: &Error) {
    ds.set_server_keepalive(None);
    let Some(denial) = app.gateway.upstream_failure(ctx, e) else {
        return client_failure(ds, e).await;
    };
    tracing::error!(error = %e, "fail to proxy");
    if ds.response_written().is_none() {
        let _ = answer(ds, denial, ctx, false).await;
    }
}

/// `client_failure` on the fast lane: a plain status for a fault of the
/// client's or of the gateway's own (no body of ours), nothing when the
/// client is gone.
async fn client_failure(ds: &mut HttpSession, e: &Error) {
    let code = client_failure_status(e);
    if code > 0 && ds.response_written().is_none() {
        tracing::warn!(error = %e, "fast lane: request failed");
        plain_status(ds, code).await;
    }
}
