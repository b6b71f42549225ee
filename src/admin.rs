//! The admin listener: `/metrics`, `/healthz`, `/readyz`, `/readyz/proxy`.
//!
//! `/readyz` is the readiness of docs/REFERENCE.md#admin-listener: config loaded and the database
//! reachable. `/readyz/proxy` leaves the database out: the hot path needs no
//! database, so a load balancer probing it keeps sending traffic to a
//! gateway whose user store is down (the identity endpoints answer 503 with
//! `Retry-After` meanwhile), instead of taking every replica out at once.
//!
//! Served on its own address (never the proxy port, so metrics and health
//! are not reachable through the public listener) by a one-thread Pingora
//! service.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::generation::Live;
use crate::metrics::Metrics;

/// What `/readyz` reports on: flags set by the components that must be up.
///
/// The config needs no flag: the admin listener is bound (or, with
/// `serve --upgrade`, taken over) only after the config compiled and its first
/// generation was built, so `/readyz` cannot answer before that. The database
/// starts not ready and turns ready at its first successful probe. After
/// SIGTERM the admin listener closes with the proxy one, so probes fail.
#[derive(Default)]
pub struct Readiness {
    /// The user store answered its last probe (or none is needed).
    pub database: AtomicBool,
}

impl Readiness {
    /// True when the gateway can serve every endpoint.
    pub fn is_ready(&self) -> bool {
        self.database.load(Ordering::Relaxed)
    }
}

/// The admin HTTP application.
pub struct AdminApp {
    metrics: Metrics,
    live: Arc<Live>,
    readiness: Arc<Readiness>,
}

impl AdminApp {
    /// An admin app over the gateway's shared state.
    pub fn new(metrics: Metrics, live: Arc<Live>, readiness: Arc<Readiness>) -> AdminApp {
        AdminApp { metrics, live, readiness }
    }

    fn metrics_text(&self) -> Vec<u8> {
        let gen = self.live.current();
        let entries = i64::try_from(gen.verifier.cache_entry_count()).unwrap_or(i64::MAX);
        self.metrics.token_cache_entries.set(entries);
        self.metrics.render()
    }
}

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    if let Ok(v) = resp.body().len().to_string().parse() {
        resp.headers_mut().insert(http::header::CONTENT_LENGTH, v);
    }
    resp
}

fn json(status: StatusCode, body: &str) -> Response<Vec<u8>> {
    reply(status, "application/json", body.as_bytes().to_vec())
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_owned();
        match path.as_str() {
            "/metrics" => reply(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                self.metrics_text(),
            ),
            "/healthz" => json(StatusCode::OK, r#"{"status":"ok"}"#),
            "/readyz" if self.readiness.is_ready() => {
                let body = format!(r#"{{"status":"ready","generation":{}}}"#, self.live.current().id);
                json(StatusCode::OK, &body)
            }
            "/readyz" => json(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"not ready","database":"unreachable"}"#,
            ),
            // Listening means the config compiled and its generation was built.
            "/readyz/proxy" => {
                let body = format!(r#"{{"status":"ready","generation":{}}}"#, self.live.current().id);
                json(StatusCode::OK, &body)
            }
            _ => json(StatusCode::NOT_FOUND, r#"{"detail":"Not found.","code":"not_found"}"#),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_ready_until_the_database_answered() {
        let readiness = Readiness::default();
        assert!(!readiness.is_ready());
        readiness.database.store(true, Ordering::Relaxed);
        assert!(readiness.is_ready());
        readiness.database.store(false, Ordering::Relaxed);
        assert!(!readiness.is_ready());
    }
}
