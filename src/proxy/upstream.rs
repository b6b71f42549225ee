//! Upstreams at run time: prebuilt peers, round-robin over several servers,
//! and active HTTP health checks that take a server out and bring it back.
//!
//! Built once per config generation from [`UpstreamSpec`]s. A single server
//! without a health check is a prebuilt [`HttpPeer`] that is cloned per
//! request; anything else goes through a Pingora [`LoadBalancer`]. With
//! `tls`, peers (and health checks) speak TLS with the configured SNI and,
//! unless `verify: false`, a verified certificate chain and name.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pingora::http::RequestHeader;
use pingora::lb::health_check::HttpHealthCheck;
use pingora::lb::selection::RoundRobin;
use pingora::lb::LoadBalancer;
use pingora::prelude::HttpPeer;
use tokio::sync::Mutex;

use crate::config::{HealthCheckSpec, UpstreamSpec, UpstreamTlsSpec};

/// How long an idle upstream connection stays in the keep-alive pool.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// One named upstream.
pub struct Upstream {
    name: Arc<str>,
    pool: Pool,
    connect_timeout: Duration,
    read_timeout: Duration,
    tls: Option<UpstreamTlsSpec>,
    health: Option<Health>,
}

enum Pool {
    Single(Box<HttpPeer>),
    Balanced(Arc<LoadBalancer<RoundRobin>>),
}

struct Health {
    interval: Duration,
    last_run: Mutex<Option<Instant>>,
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
        let pool = if spec.servers.len() == 1 && spec.health_check.is_none() {
            Pool::Single(Box::new(make_peer(spec.servers[0], spec)))
        } else {
            let mut lb = LoadBalancer::<RoundRobin>::try_from_iter(spec.servers.iter().copied())
                .map_err(|e| fail(format!("bad server address: {e}")))?;
            if let Some(hc) = &spec.health_check {
                lb.set_health_check(health_check(hc, spec.tls.as_ref()).map_err(|e| fail(e.to_string()))?);
                lb.parallel_health_check = true;
            }
            lb.update().await.map_err(|e| fail(format!("cannot list servers: {e}")))?;
            Pool::Balanced(Arc::new(lb))
        };
        Ok(Upstream {
            name: spec.name.as_str().into(),
            pool,
            connect_timeout: spec.connect_timeout,
            read_timeout: spec.read_timeout,
            tls: spec.tls.clone(),
            health: spec.health_check.as_ref().map(|hc| Health {
                interval: hc.interval,
                last_run: Mutex::new(None),
            }),
        })
    }

    /// The upstream's configured name (a metrics label).
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// A peer for the next request, or None when every server is unhealthy.
    pub fn peer(&self) -> Option<Box<HttpPeer>> {
        match &self.pool {
            Pool::Single(peer) => Some(peer.clone()),
            Pool::Balanced(lb) => {
                let backend = lb.select(b"", 256)?;
                let addr = backend.addr.as_inet().copied()?;
                Some(Box::new(peer_for(addr, self.connect_timeout, self.read_timeout, self.tls.as_ref())))
            }
        }
    }

    /// Runs the health check if one is configured and its interval elapsed.
    pub async fn health_check_if_due(&self) {
        let (Some(health), Pool::Balanced(lb)) = (&self.health, &self.pool) else {
            return;
        };
        let mut last = health.last_run.lock().await;
        if last.is_some_and(|t| t.elapsed() < health.interval) {
            return;
        }
        *last = Some(Instant::now());
        lb.backends().run_health_check(true).await;
    }
}

fn make_peer(addr: SocketAddr, spec: &UpstreamSpec) -> HttpPeer {
    peer_for(addr, spec.connect_timeout, spec.read_timeout, spec.tls.as_ref())
}

fn peer_for(
    addr: SocketAddr,
    connect_timeout: Duration,
    read_timeout: Duration,
    tls: Option<&UpstreamTlsSpec>,
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
