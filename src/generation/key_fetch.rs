//! Fetching external issuers' key sets: at start, every `refresh` (or the
//! document's `Cache-Control: max-age` within bounds), and when a token names
//! an unknown `kid` (at most once per cooldown, `IssuerKeys`).
//!
//! A failed fetch keeps the last good set (stale-while-error) and is retried
//! with a growing backoff; after `max_stale` without a good fetch the set is
//! dropped and the issuer's tokens get 503. Each fetch is bounded by
//! `fetch_timeout`, a size cap and a key-count cap. With `discovery: true` the
//! discovery document is read first, its `issuer` must be the configured one,
//! and its `jwks_uri` must be HTTPS (or loopback), like a configured one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::Uri;
use pingora::connectors::http::v1::Connector;
use pingora::http::RequestHeader;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora::upstreams::peer::HttpPeer;
use tokio::time::Instant;

use super::remote_keys::RemoteKeys;
use super::Live;
use crate::config::{is_fetchable_key_url, IssuerSpec, KeySource};
use crate::metrics::Metrics;
use crate::token::remote::{IssuerKeys, KeySet};

/// Largest discovery or JWKS document read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Most keys one JWKS document may hold.
const MAX_KEYS: usize = 64;
/// Longest wait between two looks at the issuers (metrics, staleness).
const TICK: Duration = Duration::from_secs(5);
/// Longest backoff between failed fetches.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The background service that keeps every issuer's keys fresh.
pub struct KeyFetcher {
    live: Arc<Live>,
    remote: Arc<RemoteKeys>,
    metrics: Metrics,
    client: Connector,
}

/// What the fetcher remembers of one issuer.
struct FetchState {
    cell: Arc<IssuerKeys>,
    next_at: Instant,
    last_ok: Option<Instant>,
    failures: u32,
    /// The `jwks_uri` discovery gave, until a fetch from it fails.
    discovered: Option<String>,
}

impl KeyFetcher {
    /// A fetcher for the issuers of whatever generation is live.
    pub fn new(live: Arc<Live>, remote: Arc<RemoteKeys>, metrics: Metrics) -> KeyFetcher {
        KeyFetcher { live, remote, metrics, client: Connector::new(None) }
    }

    /// Looks at every issuer once: fetches the due ones, applies `max_stale`,
    /// updates the metrics. Returns when the next look is due.
    async fn round(&self, states: &mut HashMap<String, FetchState>) -> Instant {
        let gen = self.live.current();
        let metrics = &self.metrics;
        states.retain(|name, _| {
            let configured = gen.config.issuers.iter().any(|i| &i.verify.name == name);
            if !configured {
                // A removed issuer's gauges would otherwise report its last keys forever.
                let _ = metrics.issuer_keys_age.remove_label_values(&[name]);
                let _ = metrics.issuer_keys.remove_label_values(&[name]);
            }
            configured
        });
        let mut next = Instant::now() + TICK;
        for spec in &gen.config.issuers {
            let name = &spec.verify.name;
            let Some(issuer) = gen.verifier.issuers().by_name(name) else { continue };
            let state = states.entry(name.clone()).or_insert_with(|| FetchState::new(&issuer.keys));
            if !Arc::ptr_eq(&state.cell, &issuer.keys) {
                *state = FetchState::new(&issuer.keys);
            }
            let asked = state.cell.take_refetch_request();
            if asked || Instant::now() >= state.next_at {
                self.fetch(spec, state).await;
            }
            if let Some(ok) = state.last_ok {
                if ok.elapsed() > spec.max_stale && state.cell.current().is_some() {
                    tracing::error!(issuer = %name, "issuer keys are older than max_stale: its tokens get 503 until a fetch succeeds");
                    state.cell.clear();
                }
            }
            let age = state.last_ok.map_or(-1, |ok| i64::try_from(ok.elapsed().as_secs()).unwrap_or(i64::MAX));
            self.metrics.issuer_keys_age.with_label_values(&[name]).set(age);
            let count = state.cell.current().map_or(0, |keys| keys.len());
            self.metrics.issuer_keys.with_label_values(&[name]).set(i64::try_from(count).unwrap_or(0));
            next = next.min(state.next_at);
        }
        next
    }

    async fn fetch(&self, spec: &IssuerSpec, state: &mut FetchState) {
        let name = &spec.verify.name;
        let outcome = tokio::time::timeout(spec.fetch_timeout * 2, self.fetch_keys(spec, state)).await;
        let now = Instant::now();
        match outcome {
            Ok(Ok((keys, skipped, max_age))) => {
                tracing::info!(issuer = %name, keys = keys.len(), skipped, kids = ?keys.kids(), "issuer keys fetched");
                state.cell.install(keys);
                state.last_ok = Some(now);
                state.failures = 0;
                let floor = spec.cooldown.max(Duration::from_secs(10));
                let wait = max_age.map_or(spec.refresh, |age| age.clamp(floor, spec.refresh.max(floor)));
                state.next_at = now + wait;
                self.metrics.issuer_key_fetches.with_label_values(&[name, "ok"]).inc();
            }
            failed => {
                let reason = match failed {
                    Ok(Err(reason)) => reason,
                    _ => "the fetch took longer than twice fetch_timeout".to_owned(),
                };
                state.failures = state.failures.saturating_add(1);
                state.discovered = None;
                let backoff = Duration::from_secs(1u64 << state.failures.min(6)).min(MAX_BACKOFF).min(spec.refresh);
                state.next_at = now + backoff;
                let serving = if state.cell.current().is_some() { "serving the last good keys" } else { "its tokens get 503" };
                tracing::warn!(issuer = %name, failures = state.failures, "issuer keys not fetched: {reason}; {serving}");
                self.metrics.issuer_key_fetches.with_label_values(&[name, "error"]).inc();
            }
        }
    }

    /// The issuer's key set, how many keys were skipped, and the document's max-age.
    async fn fetch_keys(
        &self,
        spec: &IssuerSpec,
        state: &mut FetchState,
    ) -> Result<(KeySet, usize, Option<Duration>), String> {
        let jwks_uri = match (&spec.keys, &state.discovered) {
            (KeySource::JwksUri(uri), _) => uri.clone(),
            (KeySource::Discovery(_), Some(uri)) => uri.clone(),
            (KeySource::Discovery(url), None) => {
                let uri = self.discover(spec, url).await?;
                state.discovered = Some(uri.clone());
                uri
            }
        };
        let (document, max_age) = self.get(&jwks_uri, spec.fetch_timeout).await?;
        let (keys, skipped) = KeySet::from_jwks(&document, &spec.verify.algorithms, MAX_KEYS)
            .map_err(|e| format!("{jwks_uri}: {e}"))?;
        Ok((keys, skipped, max_age))
    }

    /// The `jwks_uri` of the discovery document at `url`, whose `issuer` must
    /// be the configured one (OpenID Connect Discovery 1.0, §4.3).
    async fn discover(&self, spec: &IssuerSpec, url: &str) -> Result<String, String> {
        let (document, _) = self.get(url, spec.fetch_timeout).await?;
        let value: serde_json::Value =
            serde_json::from_slice(&document).map_err(|_| format!("{url}: not a JSON discovery document"))?;
        if value.get("issuer").and_then(|v| v.as_str()) != Some(spec.verify.issuer.as_str()) {
            return Err(format!("{url}: the document's issuer is not {:?}", spec.verify.issuer));
        }
        let uri = value
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{url}: the document has no jwks_uri"))?;
        if !is_fetchable_key_url(uri) {
            return Err(format!("{url}: jwks_uri {uri:?} is neither https:// nor on a loopback host"));
        }
        Ok(uri.to_owned())
    }

    /// GETs `url`: the body (at most [`MAX_DOCUMENT_BYTES`]) of a 200 answer,
    /// and its `Cache-Control: max-age`.
    async fn get(&self, url: &str, timeout: Duration) -> Result<(Vec<u8>, Option<Duration>), String> {
        let fail = |what: &dyn std::fmt::Display| format!("{url}: {what}");
        if !is_fetchable_key_url(url) {
            return Err(fail(&"keys are fetched over https://, or http:// on a loopback host, only"));
        }
        let uri: Uri = url.parse().map_err(|_| fail(&"not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(fail(&"not http(s)")),
        };
        let host = uri.host().ok_or_else(|| fail(&"no host"))?.trim_matches(|c| c == '[' || c == ']').to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| fail(&e))?
            .next()
            .ok_or_else(|| fail(&"the name has no address"))?;
        let mut peer = HttpPeer::new(addr, tls, host.clone());
        peer.options.connection_timeout = Some(timeout);
        peer.options.total_connection_timeout = Some(timeout);
        peer.options.read_timeout = Some(timeout);
        peer.options.write_timeout = Some(timeout);
        let (mut session, _) = self.client.get_http_session(&peer).await.map_err(|e| fail(&e))?;
        session.read_timeout = Some(timeout);
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut req = RequestHeader::build("GET", target.as_bytes(), None).map_err(|e| fail(&e))?;
        // Host from the host and port alone: any `user@` part stays out of it.
        let authority = match uri.port_u16() {
            Some(port) if uri.host().is_some_and(|h| h.starts_with('[')) => format!("[{host}]:{port}"),
            Some(port) => format!("{host}:{port}"),
            None if host.contains(':') => format!("[{host}]"),
            None => host.clone(),
        };
        req.insert_header("Host", authority).map_err(|e| fail(&e))?;
        req.insert_header("Accept", "application/json").map_err(|e| fail(&e))?;
        req.insert_header("User-Agent", concat!("nexora-gate/", env!("CARGO_PKG_VERSION"))).map_err(|e| fail(&e))?;
        req.insert_header("Connection", "close").map_err(|e| fail(&e))?;
        session.write_request_header(Box::new(req)).await.map_err(|e| fail(&e))?;
        let resp = session.read_resp_header_parts().await.map_err(|e| fail(&e))?;
        if resp.status != 200 {
            return Err(fail(&format_args!("answered {}", resp.status.as_u16())));
        }
        let max_age = resp
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = session.read_body_bytes().await.map_err(|e| fail(&e))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(fail(&format_args!("the document is larger than {MAX_DOCUMENT_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

impl FetchState {
    fn new(cell: &Arc<IssuerKeys>) -> FetchState {
        FetchState { cell: Arc::clone(cell), next_at: Instant::now(), last_ok: None, failures: 0, discovered: None }
    }
}

/// `max-age=N` of a `Cache-Control` value (`no-cache`/`no-store` read as 0).
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        lower.strip_prefix("max-age=")?.trim_matches('"').parse().ok().map(Duration::from_secs)
    })
}

#[async_trait]
impl BackgroundService for KeyFetcher {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut states = HashMap::new();
        loop {
            let next = self.round(&mut states).await;
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep_until(next) => {}
                _ = self.remote.wake().notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age_is_read_and_no_cache_is_zero() {
        assert_eq!(max_age("public, max-age=600"), Some(Duration::from_secs(600)));
        assert_eq!(max_age("Max-Age=\"60\""), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-cache"), Some(Duration::ZERO));
        assert_eq!(max_age("private"), None);
    }
}
