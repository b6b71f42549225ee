//! The proxy listener's connection loop: an HTTP/1 fast lane beside
//! Pingora's full proxy.
//!
//! Pingora's `HttpProxy` runs every request through a general machine: the
//! downstream and upstream halves as two futures joined over a channel, a
//! boxed future per request, cache and module phases we do not use. For the
//! requests that dominate an API gateway's traffic — a `GET` or `HEAD` with
//! no body — that machinery is most of the CPU. So each HTTP/1 connection is
//! served here:
//!
//! 1. read the next request's first bytes (one read, as Pingora would do);
//! 2. if [`classify::takes`] them, the request goes to [`exchange`]: Pingora's
//!    own HTTP/1 session parses it, the gateway decides it with the same code
//!    as `request_filter`, and it is relayed on a pooled upstream connection;
//! 3. otherwise the bytes are handed back to Pingora's `HttpProxy` as the
//!    start of its session, and it serves the request as it always did.
//!
//! The next request on the connection starts again at 1. HTTP/2 (ALPN `h2`)
//! connections go to `HttpProxy` whole, and so does every connection when
//! `server.fast_lane` is false (read when the connection is accepted). Neither path sees a request the other
//! has half read, and both answer, log and count alike.

mod classify;
mod exchange;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use pingora::apps::{HttpServerApp, ServerApp};
use prometheus::IntCounter;
use pingora::connectors::http::v1::Connector;
use pingora::connectors::ConnectorOptions;
use pingora::protocols::http::v1::server::HttpSession;
use pingora::protocols::http::ServerSession;
use pingora::protocols::{Stream, ALPN};
use pingora::proxy::HttpProxy;
use pingora::server::configuration::ServerConf;
use pingora::server::ShutdownWatch;
use pingora::prelude::fast_timeout::fast_timeout;
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

use super::Gateway;

/// How long a kept-alive client connection may sit idle between requests
/// (Pingora's own default for its HTTP/1 sessions).
const KEEPALIVE: Duration = Duration::from_secs(60);
/// The first read's buffer: Pingora's initial header buffer size.
const FIRST_READ: usize = 4096;

/// The proxy listener's application: the fast lane, and Pingora's proxy
/// for the rest.
pub struct ProxyApp {
    gateway: Gateway,
    full: Arc<HttpProxy<Gateway>>,
    upstreams: Connector,
    max_tries: usize,
    /// `nexora_proxy_connections_total{driver="fast_lane"}`, resolved once.
    lane_connections: IntCounter,
    /// `nexora_proxy_connections_total{driver="full"}`, resolved once.
    full_connections: IntCounter,
    stopping: AtomicBool,
    stop: Notify,
}

impl ProxyApp {
    /// The fast lane for `gateway`, and Pingora's proxy of the same gateway
    /// (built on `conf`) for what the lane does not take.
    pub fn new(gateway: Gateway, conf: &Arc<ServerConf>) -> ProxyApp {
        let connections = &gateway.metrics.proxy_connections;
        ProxyApp {
            lane_connections: connections.with_label_values(&["fast_lane"]),
            full_connections: connections.with_label_values(&["full"]),
            full: Arc::new(pingora::proxy::http_proxy(conf, gateway.clone())),
            gateway,
            upstreams: Connector::new(Some(ConnectorOptions::from_server_conf(conf))),
            max_tries: conf.max_retries.max(1),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
        }
    }

    /// The next request's first bytes; None when the client closed, went
    /// quiet for [`KEEPALIVE`] or the gateway is shutting down.
    async fn first_bytes(&self, stream: &mut Stream) -> Option<BytesMut> {
        let mut buf = BytesMut::with_capacity(FIRST_READ);
        let stopping = self.stop.notified();
        if self.stopping.load(Ordering::Acquire) {
            return None;
        }
        tokio::select! {
            biased;
            read = fast_timeout(KEEPALIVE, stream.read_buf(&mut buf)) => match read {
                Ok(Ok(n)) if n > 0 => Some(buf),
                _ => None,
            },
            _ = stopping => None,
        }
    }
}

#[async_trait]
impl ServerApp for ProxyApp {
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let lane_on = self.gateway.live.current().config.server.fast_lane;
        if !lane_on || matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            self.full_connections.inc();
            return self.full.process_new(stream, shutdown).await;
        }
        self.lane_connections.inc();
        loop {
            let first = self.first_bytes(&mut stream).await?;
            let mut session = HttpSession::new(stream);
            // Both paths keep this setting: Pingora's wraps the same session.
            session.set_server_keepalive(if *shutdown.borrow() { None } else { Some(KEEPALIVE.as_secs()) });
            let takes = classify::takes(&first, &self.gateway.live.current());
            session.set_pipelined_prefix(first);
            let next = if takes {
                exchange::serve(self, &mut session).await;
                session.reuse().await.ok().flatten().map(|reusable| reusable.into_parts().0)
            } else {
                self.full
                    .process_new_http(ServerSession::H1(session), shutdown)
                    .await
                    .map(|reused| reused.consume().0)
            };
            stream = next?;
        }
    }

    async fn cleanup(&self) {
        self.stopping.store(true, Ordering::Release);
        self.stop.notify_waiters();
        self.full.cleanup().await;
    }
}
