//! One generation of everything the hot path reads — compiled config, token
//! verifier (with its cache), upstream peers and per-route metric handles —
//! and the atomic slot that holds the generation in force.
//!
//! A request takes one `Arc` of the current generation when it starts and
//! keeps it to the end, so it finishes under the policy it began with even
//! if a reload swaps in a new one meanwhile. Keys, routes, roles, upstreams
//! and the verified-token cache always change together: a cached
//! verification can never be served under a key set it was not made with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use prometheus::{Histogram, IntCounter};

use crate::config::Config;
use crate::metrics::Metrics;
mod discovery;
pub mod key_fetch;
pub mod remote_keys;
pub mod shadow_stats;
pub mod upstream;

use remote_keys::RemoteKeys;
use shadow_stats::ShadowStats;

use upstream::{Upstream, UpstreamError};
use crate::token::{Issuer, KeyError, Keys, Verifier};

/// Compiled state of one config load.
pub struct Generation {
    /// Counts up from 1 with every successful load.
    pub id: u64,
    /// The compiled config.
    pub config: Config,
    /// Bearer-token verifier and its cache.
    pub verifier: Verifier,
    /// Mints tokens with the current key.
    pub issuer: Issuer,
    /// The JWKS document of the verification keys, serialised once.
    pub jwks: bytes::Bytes,
    /// Upstreams, indexed like `config.upstreams`.
    pub upstreams: Vec<Upstream>,
    /// Whether every upstream speaks HTTP/1: only then may the HTTP/1 fast
    /// lane take requests (it cannot speak HTTP/2 to a server).
    pub all_upstreams_http1: bool,
    /// Per-route labels and histograms; index = rule index, last = default.
    pub routes: Vec<RouteStats>,
    /// Labels and histogram of the identity endpoints (route `(auth)`).
    pub auth_route: RouteStats,
    /// Shadow-mode counters, when the config has a shadow policy.
    pub shadow: Option<ShadowStats>,
}

/// The metric handles of one route, resolved once per generation.
pub struct RouteStats {
    /// The route's name (the `route` label).
    pub name: Arc<str>,
    /// Its request-duration histogram.
    pub duration: Histogram,
    /// `nexora_requests_total{route, decision="allow", status="200"}`, the
    /// common outcome, resolved on first use (so no series appears before a
    /// request does).
    allowed_ok: OnceLock<IntCounter>,
}

impl RouteStats {
    /// The handles of route `name`.
    pub fn new(name: &str, metrics: &Metrics) -> RouteStats {
        RouteStats {
            name: name.into(),
            duration: metrics.route_duration(name),
            allowed_ok: OnceLock::new(),
        }
    }

    /// Counts one request of this route in `nexora_requests_total`. An
    /// allowed 200 uses the resolved handle: no label hashing, no map lookup
    /// under the vector's lock.
    pub fn count(&self, metrics: &Metrics, decision: &str, status: &str) {
        if decision == "allow" && status == "200" {
            self.allowed_ok
                .get_or_init(|| metrics.requests.with_label_values(&[&self.name, decision, status]))
                .inc();
        } else {
            metrics.requests.with_label_values(&[&self.name, decision, status]).inc();
        }
    }
}

/// The route label used when no rule matched.
pub const DEFAULT_ROUTE: &str = "(default)";

/// The route label of requests the identity endpoints answered.
pub const AUTH_ROUTE: &str = "(auth)";

/// Why a config could not be turned into a generation.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    /// Key material was rejected.
    #[error("tokens: {0}")]
    Keys(#[from] KeyError),
    /// An upstream could not be built.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

impl Generation {
    /// Builds the runtime state of `config`. Async because balanced
    /// upstreams fill their selectors.
    /// External issuers take their key cells from `remote`, which outlives
    /// generations.
    pub async fn build(
        id: u64,
        config: Config,
        metrics: &Metrics,
        remote: &RemoteKeys,
    ) -> Result<Generation, GenerationError> {
        let keys = Arc::new(Keys::new(&config.tokens)?);
        let jwks = bytes::Bytes::from(serde_json::to_vec(&keys.jwks()).unwrap_or_default());
        let verifier =
            Verifier::new(keys.clone(), &config.tokens).with_issuers(remote.issuers_for(&config));
        let issuer = Issuer::new(keys, &config.tokens);
        let mut upstreams = Vec::with_capacity(config.upstreams.len());
        for spec in &config.upstreams {
            upstreams.push(Upstream::build(spec).await?);
        }
        let routes: Vec<RouteStats> = config
            .rules
            .rules()
            .iter()
            .map(|r| r.name())
            .chain(std::iter::once(DEFAULT_ROUTE))
            .map(|name| RouteStats::new(name, metrics))
            .collect();
        let auth_route = RouteStats::new(AUTH_ROUTE, metrics);
        let shadow = config.shadow.as_ref().map(|policy| {
            ShadowStats::new(routes.iter().map(|r| r.name.clone()).collect(), policy, metrics)
        });
        let all_upstreams_http1 = upstreams.iter().all(|u| u.protocol().is_http1());
        Ok(Generation { id, config, verifier, issuer, jwks, upstreams, all_upstreams_http1, routes, auth_route, shadow })
    }

    /// Stats of rule `index`, or of the default when None.
    pub fn route(&self, index: Option<usize>) -> &RouteStats {
        let last = self.routes.len() - 1;
        &self.routes[index.map_or(last, |i| i.min(last))]
    }
}

/// The slot holding the generation in force.
pub struct Live {
    current: ArcSwap<Generation>,
    last_id: AtomicU64,
}

impl Live {
    /// Starts with `first` in force.
    pub fn new(first: Generation) -> Live {
        let id = first.id;
        Live { current: ArcSwap::from_pointee(first), last_id: AtomicU64::new(id) }
    }

    /// The generation in force; hold it for the whole request.
    pub fn current(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// The id the next generation should carry.
    pub fn next_id(&self) -> u64 {
        self.last_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Puts `next` in force; requests already running keep the old one.
    pub fn swap(&self, next: Generation) {
        self.current.store(Arc::new(next));
    }
}
