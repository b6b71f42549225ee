//! The proxy listener's connection loop: an HTTP/1 fast lane beside
//! Pingora's full proxy.
//!
//! Pingora's `HttpProxy` runs every request through a general machine: the
//! downstream and upstream halves as two futures joined over a channel, a
//! boxed future per request, cache and module phases we do not use. For the
//! requests that dominate an API gateway's traffic — a `GET` or `HEAD`, or a
//! write with a small `Content-Length` body — that machinery is most of the
//! CPU. So each HTTP/1 connection is served here:
//!
//! 1. read the next request's head whole, under the idle and head deadlines
//!    ([`head`]: a slow client gets 408 and the connection closes), and
//!    refuse a head whose body framing could be read two ways
//!    ([`super::framing`]: 400, or 501 for an unknown transfer coding);
//! 2. if [`classify::takes`] it, the request goes to [`exchange`]: Pingora's
//!    own HTTP/1 session parses it, the gateway decides it with the same code
//!    as `request_filter`, and it is relayed on a pooled upstream connection;
//! 3. otherwise the bytes are handed back to Pingora's `HttpProxy` as the
//!    start of its session, and it serves the request as it always did.
//!
//! The next request on the connection starts again at 1, in a task of the
//! connection's own once the first is answered ([`ProxyApp::process_new`]
//! says why). HTTP/2 (ALPN `h2`) connections go to `HttpProxy` whole, and
//! so, with `listen.h2c`, does a cleartext connection whose first bytes are
//! the HTTP/2 preface: it is read like any first head (same deadlines),
//! then handed back unread. With `server.fast_lane: false` (read when the
//! connection is accepted) step 2 never takes a request: every one goes to
//! `HttpProxy`, after the same step 1. Neither path sees a request the
//! other has half read, and both answer, log and count alike.

pub mod classify;
mod client_stream;
mod exchange;
mod head;
mod upstream_pool;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use pingora::apps::{HttpServerApp, ServerApp};
use prometheus::IntCounter;
use pingora::connectors::{ConnectorOptions, TransportConnector};
use pingora::protocols::http::v1::server::HttpSession;
use pingora::protocols::http::ServerSession;
use pingora::apps::HttpServerOptions;
use pingora::protocols::{Stream, ALPN};
use pingora::proxy::HttpProxy;
use pingora::server::configuration::ServerConf;
use pingora::server::ShutdownWatch;
use tokio::sync::Notify;

use super::{framing, Gateway, RequestCtx};
use crate::admission::Denial;
use crate::answer::{self, Answer};
use client_stream::ClientStream;
use head::Head;
use upstream_pool::UpstreamPool;

/// The first head-shaped part of the HTTP/2 connection preface: what the
/// head reader stops at when a client speaks HTTP/2 by prior knowledge.
const H2_PREFACE_LINE: &[u8] = b"PRI * HTTP/2.0\r\n\r\n";

/// `stream` with `bytes` put back in front of what it reads next, for a
/// driver that must read the connection from its first byte. Every
/// connection is a [`ClientStream`] from accept on, which can take bytes
/// back; anything else is closed.
fn unread(stream: Stream, bytes: &[u8]) -> Option<Stream> {
    match stream.into_any().downcast::<ClientStream>() {
        Ok(mut client) => {
            client.unread(bytes);
            Some(client)
        }
        Err(_) => {
            tracing::warn!("h2c: the connection cannot take its first bytes back; closing it");
            None
        }
    }
}

/// The proxy listener's application: the fast lane, and Pingora's proxy
/// for the rest.
pub struct ProxyApp {
    gateway: Gateway,
    full: Arc<HttpProxy<Gateway>>,
    /// Makes new upstream connections (TCP, TLS).
    connector: TransportConnector,
    /// Keeps them between requests.
    idle_upstreams: Arc<UpstreamPool>,
    max_tries: usize,
    /// `nexora_proxy_connections_total{driver="fast_lane"}`, resolved once.
    lane_connections: IntCounter,
    /// `nexora_proxy_connections_total{driver="full"}`, resolved once.
    full_connections: IntCounter,
    /// `listen.h2c`: cleartext HTTP/2 by prior knowledge is accepted.
    h2c: bool,
    stopping: AtomicBool,
    stop: Notify,
}

impl ProxyApp {
    /// The next request head, or why there is none; cut short when the
    /// gateway starts shutting down.
    async fn next_head(&self, stream: &mut Stream, carried: Option<BytesMut>, deadlines: &head::Deadlines) -> Head {
        let stopping = self.stop.notified();
        if self.stopping.load(Ordering::Acquire) {
            return Head::Gone;
        }
        tokio::select! {
            biased;
            head = head::read(stream, carried, deadlines) => head,
            _ = stopping => Head::Gone,
        }
    }

    /// Answers `denial` on a connection whose request head was not handed
    /// to either driver (too slow, or framed two ways), counts and logs it
    /// like any refusal, and closes the connection.
    async fn refuse(&self, stream: &mut Stream, denial: Denial) -> Option<Stream> {
        let mut ctx = RequestCtx::new();
        ctx.generation = Some(self.gateway.live.current());
        ctx.adopt_minted_request_id();
        ctx.denial = Some(denial);
        let sent = answer::send_raw(stream, &Answer::from(denial), ctx.request_id_str()).await.is_ok();
        tracing::debug!(reason = denial.reason(), "request refused before parsing");
        ctx.record_outcome("-", if sent { denial.status() } else { 0 }, false, &self.gateway.metrics);
        None
    }

    /// The fast lane for `gateway`, and Pingora's proxy of the same gateway
    /// (built on `conf`) for what the lane does not take.
    pub fn new(gateway: Gateway, conf: &Arc<ServerConf>) -> ProxyApp {
        let connections = &gateway.metrics.proxy_connections;
        let h2c = gateway.live.current().config.listen.h2c;
        let mut full = pingora::proxy::http_proxy(conf, gateway.clone());
        if h2c {
            let mut options = HttpServerOptions::default();
            options.h2c = true;
            full.server_options = Some(options);
        }
        ProxyApp {
            lane_connections: connections.with_label_values(&["fast_lane"]),
            full_connections: connections.with_label_values(&["full"]),
            h2c,
            full: Arc::new(full),
            gateway,
            connector: TransportConnector::new(Some(ConnectorOptions::from_server_conf(conf))),
            idle_upstreams: UpstreamPool::new(conf.upstream_keepalive_pool_size, conf.threads),
            max_tries: conf.max_retries.max(1),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
        }
    }
}

/// How far one request took a connection.
enum Step {
    /// The request was answered and the connection stays open for the next.
    Next(Stream, Option<BytesMut>),
    /// The connection is finished here; a driver may hand it back to
    /// Pingora for reuse.
    Done(Option<Stream>),
}

#[async_trait]
impl ServerApp for ProxyApp {
    /// Serves the connection's first request in the task Pingora spawned at
    /// accept, then moves a kept-alive connection to a task of its own.
    ///
    /// Pingora's task is sized for its largest state, the handshake under a
    /// timeout: about 12 KB even on a plain listener, held for as long as
    /// the task lives. A connection that waits between requests lives in a
    /// task sized for [`ProxyApp::kept_alive`] alone, and Pingora's is freed.
    /// A connection that closes after one answer (`Connection: close`, a
    /// refusal) never pays for the second task.
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        // A connection Pingora hands back for reuse is wrapped already.
        let stream: Stream = if stream.as_any().is::<ClientStream>() { stream } else { Box::new(ClientStream::new(stream)) };
        if matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            self.full_connections.inc();
            return self.full.process_new(stream, shutdown).await;
        }
        let lane_on = self.gateway.live.current().config.server.fast_lane;
        match self.next_request(stream, None, true, lane_on, shutdown).await {
            Step::Done(reuse) => reuse,
            Step::Next(stream, carried) => {
                let app = Arc::clone(self);
                let shutdown = shutdown.clone();
                tokio::spawn(async move { app.kept_alive(stream, carried, lane_on, shutdown).await });
                None
            }
        }
    }

    async fn cleanup(&self) {
        self.stopping.store(true, Ordering::Release);
        self.stop.notify_waiters();
        self.idle_upstreams.clear();
        self.full.cleanup().await;
    }
}

impl ProxyApp {
    /// A kept-alive connection's requests after its first, until it closes.
    /// This future lives as long as the connection, idle or not, so
    /// whatever is large and needed only while a request is served is boxed
    /// per request.
    async fn kept_alive(
        self: Arc<Self>,
        mut stream: Stream,
        mut carried: Option<BytesMut>,
        lane_on: bool,
        shutdown: ShutdownWatch,
    ) {
        loop {
            match self.next_request(stream, carried, false, lane_on, &shutdown).await {
                Step::Next(next, leftover) => {
                    stream = next;
                    carried = leftover;
                }
                // Only a first request hands an HTTP/1 connection to
                // Pingora whole (h2c); later ones keep it here.
                Step::Done(_) => return,
            }
        }
    }

    /// Reads the connection's next request head (starting with `carried`,
    /// the bytes read past the previous request) and has it served.
    async fn next_request(
        self: &Arc<Self>,
        mut stream: Stream,
        carried: Option<BytesMut>,
        first_request: bool,
        lane_on: bool,
        shutdown: &ShutdownWatch,
    ) -> Step {
        let http1_driver = if lane_on { &self.lane_connections } else { &self.full_connections };
        // With h2c the driver is known only once the first bytes are in.
        let h2c = first_request && self.h2c && stream.get_ssl_digest().is_none();
        if first_request && !h2c {
            http1_driver.inc();
        }
        let server = &self.gateway.live.current().config.server;
        let deadlines = head::Deadlines {
            idle: server.keepalive_timeout,
            head: server.request_header_timeout,
            first_request,
        };
        let head = match self.next_head(&mut stream, carried, &deadlines).await {
            Head::Ready(head) => head,
            Head::Gone => return Step::Done(None),
            Head::TooSlow => return Step::Done(Box::pin(self.refuse(&mut stream, Denial::RequestTimeout)).await),
        };
        if h2c {
            if head.starts_with(H2_PREFACE_LINE) {
                self.full_connections.inc();
                let Some(stream) = unread(stream, &head) else { return Step::Done(None) };
                return Step::Done(self.full.process_new(stream, shutdown).await);
            }
            http1_driver.inc();
        }
        // Boxed, one allocation per request: serving takes about 5.7 KB of
        // state (Pingora's HTTP/1 sessions; a new upstream connection and
        // Pingora's proxy are boxed apart, being rare and larger), and inline
        // it would be part of every connection's future, idle ones too. The
        // future is moved into its box whole, so its size is paid per request.
        Box::pin(self.serve(stream, head, lane_on, deadlines.idle, shutdown)).await
    }

    /// Serves the request whose whole head is `head` (already read off
    /// `stream`) with one driver: the fast lane when `lane_on` and it takes
    /// the request, Pingora's proxy otherwise.
    async fn serve(
        self: &Arc<Self>,
        mut stream: Stream,
        head: BytesMut,
        lane_on: bool,
        idle: Duration,
        shutdown: &ShutdownWatch,
    ) -> Step {
        if let Err(denial) = framing::check_head(&head) {
            return Step::Done(self.refuse(&mut stream, denial).await);
        }
        let mut session = HttpSession::new(stream);
        // Both paths keep this setting: Pingora's wraps the same session.
        let keepalive = idle.as_secs().max(1);
        session.set_server_keepalive(if *shutdown.borrow() { None } else { Some(keepalive) });
        // Some(body length) when the lane takes the request.
        let lane_body = if lane_on { classify::takes(&head, &self.gateway.live.current()) } else { None };
        session.set_pipelined_prefix(head);
        let next = if let Some(body_len) = lane_body {
            exchange::serve_and_reuse(self, session, body_len).await
        } else {
            // Boxed apart: Pingora's proxy future is large, and the lane's
            // requests should not move it into every request's box.
            Box::pin(self.full.process_new_http(ServerSession::H1(session), shutdown))
                .await
                .map(|reused| (reused.consume().0, None))
        };
        match next {
            Some((stream, carried)) => Step::Next(stream, carried),
            None => Step::Done(None),
        }
    }
}
