//! Prometheus metrics: every family is registered once, here, and handed to
//! the components that update it.
//!
//! Names follow docs/REFERENCE.md#metrics: `nexora_` prefix, `_total` counters,
//! `_seconds` histograms. Label values come from configuration (route names,
//! upstream names) or from small fixed vocabularies (decision, result): never
//! from raw paths, user ids or anything else a client controls, so the number
//! of series is bounded by the config.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Latency buckets for proxied requests: 100 µs to 10 s.
const REQUEST_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Every metric family of the gateway.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `nexora_requests_total{route,decision,status}`.
    pub requests: IntCounterVec,
    /// `nexora_request_duration_seconds{route}`.
    pub request_duration: HistogramVec,
    /// `nexora_token_verify_total{result}`.
    pub token_verify: IntCounterVec,
    /// `nexora_token_cache_hits_total`.
    pub token_cache_hits: IntCounter,
    /// `nexora_token_cache_misses_total`.
    pub token_cache_misses: IntCounter,
    /// `nexora_login_total{outcome}`.
    pub login: IntCounterVec,
    /// `nexora_refresh_total{outcome}`.
    pub refresh: IntCounterVec,
    /// `nexora_policy_reloads_total{result}`.
    pub policy_reloads: IntCounterVec,
    /// `nexora_upstream_errors_total{upstream,kind}`.
    pub upstream_errors: IntCounterVec,
    /// `nexora_config_generation`: bumped by every successful (re)load.
    pub config_generation: IntGauge,
    /// `nexora_token_cache_entries`: entries in the verified-token cache.
    pub token_cache_entries: IntGauge,
    /// `nexora_shadow_decisions_total{route,shadow_route,enforced,shadow}`:
    /// requests the shadow policy would have decided differently.
    pub shadow_decisions: IntCounterVec,
    /// `nexora_config_last_reload_success_timestamp_seconds`: when the config
    /// in force was loaded (start or last successful reload), Unix seconds.
    pub config_last_reload_success: IntGauge,
    /// `nexora_requests_in_flight`: proxy-port requests started and not finished.
    pub requests_in_flight: IntGauge,
    /// `nexora_proxy_connections_total{driver}`: client connections accepted
    /// on the proxy port, by who serves them: `fast_lane` (HTTP/1, lane on)
    /// or `full` (Pingora's proxy: HTTP/2, or `server.fast_lane: false`).
    pub proxy_connections: IntCounterVec,
    /// `nexora_rate_limit_backend{backend}`: 1 for where this replica counts
    /// login, refresh and registration attempts now (`redis` or `local`).
    pub rate_limit_backend: IntGaugeVec,
    /// `nexora_config_info{digest}`: 1 for the content of the config (and
    /// the files it reads) in force, so a fleet's replicas can be compared.
    pub config_info: IntGaugeVec,
    /// `nexora_refresh_tokens_pruned_total`: expired refresh-token rows this
    /// replica deleted.
    pub refresh_tokens_pruned: IntCounter,
    /// `nexora_issuer_key_fetches_total{issuer, outcome}`.
    pub issuer_key_fetches: IntCounterVec,
    /// `nexora_issuer_keys_age_seconds{issuer}`.
    pub issuer_keys_age: IntGaugeVec,
    /// `nexora_issuer_keys{issuer}`.
    pub issuer_keys: IntGaugeVec,
}

impl Metrics {
    /// Creates every metric and registers it in a fresh registry.
    ///
    /// Fails only if two families share a name, which is a programming error
    /// caught by the unit test below.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("nexora_requests_total", "Requests handled, by route, decision and status"),
            &["route", "decision", "status"],
        )?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "nexora_request_duration_seconds",
                "Time from request header to end of response, by route",
            )
            .buckets(REQUEST_BUCKETS.to_vec()),
            &["route"],
        )?;
        let token_verify = IntCounterVec::new(
            Opts::new("nexora_token_verify_total", "Bearer token verifications, by result"),
            &["result"],
        )?;
        let token_cache_hits = IntCounter::new(
            "nexora_token_cache_hits_total",
            "Bearer tokens answered from the verified-token cache",
        )?;
        let token_cache_misses = IntCounter::new(
            "nexora_token_cache_misses_total",
            "Bearer tokens that had to be verified cryptographically",
        )?;
        let login = IntCounterVec::new(
            Opts::new("nexora_login_total", "Login attempts, by outcome"),
            &["outcome"],
        )?;
        let refresh = IntCounterVec::new(
            Opts::new("nexora_refresh_total", "Refresh attempts, by outcome"),
            &["outcome"],
        )?;
        let policy_reloads = IntCounterVec::new(
            Opts::new("nexora_policy_reloads_total", "Config reloads, by result"),
            &["result"],
        )?;
        let upstream_errors = IntCounterVec::new(
            Opts::new("nexora_upstream_errors_total", "Upstream failures, by upstream and kind"),
            &["upstream", "kind"],
        )?;
        let config_generation =
            IntGauge::new("nexora_config_generation", "Generation of the config in force")?;
        let token_cache_entries = IntGauge::new(
            "nexora_token_cache_entries",
            "Entries in the verified-token cache",
        )?;
        let shadow_decisions = IntCounterVec::new(
            Opts::new(
                "nexora_shadow_decisions_total",
                "Requests the shadow policy decides differently, by enforced and shadow route and outcome",
            ),
            &["route", "shadow_route", "enforced", "shadow"],
        )?;
        let config_last_reload_success = IntGauge::new(
            "nexora_config_last_reload_success_timestamp_seconds",
            "When the config in force was loaded (start or last successful reload), Unix seconds",
        )?;

        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(token_verify.clone()))?;
        registry.register(Box::new(token_cache_hits.clone()))?;
        registry.register(Box::new(token_cache_misses.clone()))?;
        registry.register(Box::new(login.clone()))?;
        registry.register(Box::new(refresh.clone()))?;
        registry.register(Box::new(policy_reloads.clone()))?;
        registry.register(Box::new(upstream_errors.clone()))?;
        registry.register(Box::new(config_generation.clone()))?;
        registry.register(Box::new(token_cache_entries.clone()))?;
        registry.register(Box::new(shadow_decisions.clone()))?;
        registry.register(Box::new(config_last_reload_success.clone()))?;
        let requests_in_flight =
            IntGauge::new("nexora_requests_in_flight", "Proxy-port requests started and not finished")?;
        registry.register(Box::new(requests_in_flight.clone()))?;
        let proxy_connections = IntCounterVec::new(
            Opts::new("nexora_proxy_connections_total", "Proxy-port connections accepted, by the driver serving them"),
            &["driver"],
        )?;
        registry.register(Box::new(proxy_connections.clone()))?;
        let rate_limit_backend = IntGaugeVec::new(
            Opts::new("nexora_rate_limit_backend", "Where attempt counters are kept now: 1 for redis or local"),
            &["backend"],
        )?;
        registry.register(Box::new(rate_limit_backend.clone()))?;
        let config_info = IntGaugeVec::new(
            Opts::new("nexora_config_info", "The content in force: 1 for the digest of the config and the files it reads"),
            &["digest"],
        )?;
        registry.register(Box::new(config_info.clone()))?;
        let refresh_tokens_pruned =
            IntCounter::new("nexora_refresh_tokens_pruned_total", "Expired refresh-token rows this replica deleted")?;
        registry.register(Box::new(refresh_tokens_pruned.clone()))?;

        let issuer_key_fetches = IntCounterVec::new(
            Opts::new("nexora_issuer_key_fetches_total", "Key set fetches of each external issuer, by outcome (ok, error)"),
            &["issuer", "outcome"],
        )?;
        registry.register(Box::new(issuer_key_fetches.clone()))?;
        let issuer_keys_age = IntGaugeVec::new(
            Opts::new(
                "nexora_issuer_keys_age_seconds",
                "Seconds since each external issuer's key set was last fetched successfully (-1: never)",
            ),
            &["issuer"],
        )?;
        registry.register(Box::new(issuer_keys_age.clone()))?;
        let issuer_keys = IntGaugeVec::new(
            Opts::new("nexora_issuer_keys", "Usable keys in each external issuer's current key set (0: none, its tokens get 503)"),
            &["issuer"],
        )?;
        registry.register(Box::new(issuer_keys.clone()))?;

        Ok(Metrics {
            registry,
            issuer_key_fetches,
            issuer_keys_age,
            issuer_keys,
            requests,
            request_duration,
            token_verify,
            token_cache_hits,
            token_cache_misses,
            login,
            refresh,
            policy_reloads,
            upstream_errors,
            config_generation,
            token_cache_entries,
            shadow_decisions,
            config_last_reload_success,
            requests_in_flight,
            proxy_connections,
            rate_limit_backend,
            config_info,
            refresh_tokens_pruned,
        })
    }

    /// The duration histogram of one route, resolved once per config
    /// generation so the hot path does no label lookup for it.
    pub fn route_duration(&self, route: &str) -> Histogram {
        self.request_duration.with_label_values(&[route])
    }

    /// Renders every family in the Prometheus text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * 1024);
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_family_is_exposed() {
        let m = Metrics::new().unwrap();
        // Vec families only appear once a series exists.
        m.requests.with_label_values(&["r", "allow", "200"]).inc();
        m.request_duration.with_label_values(&["r"]).observe(0.001);
        m.token_verify.with_label_values(&["ok"]).inc();
        m.login.with_label_values(&["ok"]).inc();
        m.refresh.with_label_values(&["ok"]).inc();
        m.policy_reloads.with_label_values(&["ok"]).inc();
        m.upstream_errors.with_label_values(&["shop", "refused"]).inc();
        let text = String::from_utf8(m.render()).unwrap();
        for name in [
            "nexora_requests_total",
            "nexora_request_duration_seconds",
            "nexora_token_verify_total",
            "nexora_token_cache_hits_total",
            "nexora_token_cache_misses_total",
            "nexora_login_total",
            "nexora_refresh_total",
            "nexora_policy_reloads_total",
            "nexora_upstream_errors_total",
            "nexora_config_last_reload_success_timestamp_seconds",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
