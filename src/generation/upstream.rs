//! Upstreams at run time: prebuilt peers, round-robin over several servers,
//! active HTTP health checks that take a server out and bring it back, and
//! servers named by host name, looked up again every `dns_refresh`.
//!
//! Built once per config generation from [`UpstreamSpec`]s. A single server
//! given by address, without a health check, is a prebuilt [`HttpPeer`] that
//! is cloned per request; anything else goes through a Pingora
//! [`LoadBalancer`] fed by [`super::discovery`]. With
//! `tls`, peers (and health checks) speak TLS with the configured SNI and,
//! unless `verify: false`, a verified certificate chain and name.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pingora::http::RequestHeader;
use pingora::lb::health_check::HttpHealthCheck;
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backends, LoadBalancer};
use pingora::prelude::HttpPeer;
use pingora::protocols::ALPN;
use tokio::sync::Mutex;

use super::discovery::Servers;
use crate::config::{HealthCheckSpec, ServerAddr, UpstreamProtocol, UpstreamSpec, UpstreamTlsSpec};

/// How long an idle upstream connection stays in the keep-alive pool.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Concurrent streams the gateway opens on one HTTP/2 upstream connection
/// before it opens another (servers usually allow 100 or more).
const H2_STREAMS_PER_CONNECTION: usize = 100;

/// One named upstream.
pub struct Upstream {
    name: Arc<str>,
    pool: Pool,
    connect_timeout: Duration,
    read_timeout: Duration,
    tls: Option<UpstreamTlsSpec>,
    protocol: UpstreamProtocol,
    /// Set when a health check is configured: how often to run it.
    health: Option<Due>,
    /// Set when some server is a name: how often to look again.
    dns: Option<Due>,
}

enum Pool {
    Single(Box<HttpPeer>),
    Balanced(Arc<LoadBalancer<RoundRobin>>),
}

/// A periodic job's interval and when it last ran (None: never, so it is due).
struct Due {
    every: Duration,
    last_run: Mutex<Option<Instant>>,
}

impl Due {
    /// Due at once, then every `every`.
    fn at_once(every: Duration) -> Due {
        Due { every, last_run: Mutex::new(None) }
    }

    /// Due `every` from now (the job has just been done).
    fn after(every: Duration) -> Due {
        Due { every, last_run: Mutex::new(Some(Instant::now())) }
    }

    /// True (and the clock restarted) when the job is due.
    async fn take(&self) -> bool {
        let mut last = self.last_run.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.every) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// Could not build an upstream from its spec.
#[derive(Debug, thiserror::Error)]
#[error("upstream {name}: {reason}")]
pub struct UpstreamError {
    name: String,
    reason: String,
}

impl Upstream {
    /// Builds the upstream and, for balanced ones, fills the selector.
    pub async fn build(spec: &UpstreamSpec) -> Result<Upstream, UpstreamError> {
        let fail = |reason: String| UpstreamError { name: spec.name.clone(), reason };
        let named = Servers::has_names(&spec.servers);
        let pool = match spec.servers.as_slice() {
            [ServerAddr::Ip(addr)] if spec.health_check.is_none() => {
                Pool::Single(Box::new(make_peer(*addr, spec)))
            }
            servers => {
                let discovery = Box::new(Servers::new(&spec.name, servers));
                let mut lb = LoadBalancer::<RoundRobin>::from_backends(Backends::new(discovery));
                if let Some(hc) = &spec.health_check {
                    lb.set_health_check(health_check(hc, spec.tls.as_ref()).map_err(|e| fail(e.to_string()))?);
                    lb.parallel_health_check = true;
                }
                lb.update().await.map_err(|e| fail(format!("cannot list servers: {e}")))?;
                Pool::Balanced(Arc::new(lb))
            }
        };
        Ok(Upstream {
            name: spec.name.as_str().into(),
            pool,
            connect_timeout: spec.connect_timeout,
            read_timeout: spec.read_timeout,
            tls: spec.tls.clone(),
            protocol: spec.protocol,
            health: spec.health_check.as_ref().map(|hc| Due::at_once(hc.interval)),
            dns: named.then(|| Due::after(spec.dns_refresh)),
        })
    }

    /// The upstream's configured name (a metrics label).
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The protocol its servers speak.
    pub fn protocol(&self) -> UpstreamProtocol {
        self.protocol
    }

    /// A peer for the next request, or None when every server is unhealthy.
    pub fn peer(&self) -> Option<Box<HttpPeer>> {
        match &self.pool {
            Pool::Single(peer) => Some(peer.clone()),
            Pool::Balanced(lb) => {
                let backend = lb.select(b"", 256)?;
                let addr = backend.addr.as_inet().copied()?;
                Some(Box::new(peer_for(addr, self.connect_timeout, self.read_timeout, self.tls.as_ref(), self.protocol)))
            }
        }
    }

    /// Looks the servers given by name up again if `dns_refresh` elapsed.
    /// A failed lookup keeps the servers found before.
    pub async fn refresh_dns_if_due(&self) {
        let (Some(dns), Pool::Balanced(lb)) = (&self.dns, &self.pool) else {
            return;
        };
        if !dns.take().await {
            return;
        }
        if let Err(e) = lb.update().await {
            tracing::warn!(upstream = %self.name, error = %e, "DNS lookup of upstream servers failed; keeping the servers found before");
        }
    }

    /// Runs the health check if one is configured and its interval elapsed.
    pub async fn health_check_if_due(&self) {
        let (Some(health), Pool::Balanced(lb)) = (&self.health, &self.pool) else {
            return;
        };
        if health.take().await {
            lb.backends().run_health_check(true).await;
        }
    }
}

fn make_peer(addr: SocketAddr, spec: &UpstreamSpec) -> HttpPeer {
    peer_for(addr, spec.connect_timeout, spec.read_timeout, spec.tls.as_ref(), spec.protocol)
}

fn peer_for(
    addr: SocketAddr,
    connect_timeout: Duration,
    read_timeout: Duration,
    tls: Option<&UpstreamTlsSpec>,
    protocol: UpstreamProtocol,
) -> HttpPeer {
    let mut peer = match tls {
        Some(tls) => {
            let mut peer = HttpPeer::new(addr, true, tls.sni.clone());
            peer.options.verify_cert = tls.verify;
            peer.options.verify_hostname = tls.verify;
            peer
        }
        None => HttpPeer::new(addr, false, String::new()),
    };
    peer.options.connection_timeout = Some(connect_timeout);
    peer.options.total_connection_timeout = Some(connect_timeout);
    peer.options.read_timeout = Some(read_timeout);
    peer.options.write_timeout = Some(read_timeout);
    peer.options.idle_timeout = Some(IDLE_TIMEOUT);
    peer.options.alpn = match protocol {
        UpstreamProtocol::Http1 => ALPN::H1,
        // In clear text there is no ALPN: HTTP/2 as the minimum version makes
        // Pingora speak it by prior knowledge (h2c).
        UpstreamProtocol::H2c | UpstreamProtocol::H2 => ALPN::H2,
        UpstreamProtocol::Auto => ALPN::H2H1,
    };
    if !protocol.is_http1() {
        // One connection carries many streams, as gRPC clients expect.
        peer.options.max_h2_streams = H2_STREAMS_PER_CONNECTION;
    }
    peer
}

fn health_check(
    spec: &HealthCheckSpec,
    tls: Option<&UpstreamTlsSpec>,
) -> Result<Box<HttpHealthCheck>, pingora::BError> {
    // Over TLS the server name is also the Host the check asks for.
    let host = tls.map_or("localhost", |t| t.sni.as_str());
    let mut hc = HttpHealthCheck::new(host, tls.is_some());
    if let Some(tls) = tls {
        hc.peer_template.options.verify_cert = tls.verify;
        hc.peer_template.options.verify_hostname = tls.verify;
    }
    let mut req = RequestHeader::build("GET", spec.path.as_bytes(), None)?;
    req.insert_header(http::header::HOST, host)?;
    req.insert_header(http::header::USER_AGENT, "nexora-gate-health-check")?;
    hc.req = req;
    hc.peer_template.options.connection_timeout = Some(spec.timeout);
    hc.peer_template.options.total_connection_timeout = Some(spec.timeout);
    hc.peer_template.options.read_timeout = Some(spec.timeout);
    hc.consecutive_failure = 1;
    hc.consecutive_success = 1;
    Ok(Box::new(hc))
}
