//! What one request learned on its way through the phases, and the summary
//! written when it ends: metrics and one structured access-log line.
//!
//! The access line carries the request id, route, decision, reason, user id,
//! status, upstream and latency — never a token, a password or a header
//! value a client chose, apart from the (validated) request id.

use std::sync::Arc;
use std::time::Instant;

use http::HeaderValue;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::{Error, ErrorType};

use crate::drain::InFlight;
use crate::generation::Generation;
use crate::metrics::Metrics;
use crate::token::AccessClaims;

use crate::admission::request_id::{self, is_well_formed_request_id, REQUEST_ID};
use crate::admission::Denial;

/// Per-request state shared by the proxy phases.
pub struct RequestCtx {
    start: Instant,
    /// The generation the request is decided and proxied under.
    pub generation: Option<Arc<Generation>>,
    /// Index of the matched rule; None for the default (or a bad path).
    pub rule: Option<usize>,
    /// The verified identity, when the rule required a token (also on a
    /// refusal by the policy, for the access log; never sent upstream then).
    pub claims: Option<Arc<AccessClaims>>,
    /// Set when the gateway answered itself.
    pub denial: Option<Denial>,
    /// The refusal went out in gRPC's terms (HTTP 200, `grpc-status`).
    pub grpc_answer: bool,
    /// The upstream chosen, for logs and metrics.
    pub upstream: Option<Arc<str>>,
    /// The chosen upstream speaks HTTP/2 (`protocol` other than `http1`).
    pub upstream_http2: bool,
    /// Set when an identity endpoint answered (its status).
    pub auth_status: Option<u16>,
    request_id: HeaderValue,
    /// Counts the request in flight until the context is dropped (graceful drain).
    pub in_flight: Option<InFlight>,
}

impl RequestCtx {
    /// A fresh context at the start of a request.
    pub fn new() -> RequestCtx {
        RequestCtx {
            start: Instant::now(),
            generation: None,
            rule: None,
            claims: None,
            denial: None,
            grpc_answer: false,
            upstream: None,
            upstream_http2: false,
            auth_status: None,
            request_id: HeaderValue::from_static(""),
            in_flight: None,
        }
    }

    /// Keeps the client's `X-Request-Id` when it is well formed, else mints one.
    pub fn adopt_request_id(&mut self, req: &RequestHeader) {
        if let Some(v) = req.headers.get(REQUEST_ID) {
            if is_well_formed_request_id(v.as_bytes()) {
                self.request_id = v.clone();
                return;
            }
        }
        self.request_id = request_id::mint_value();
    }

    /// Records `denial` as the gateway's own answer to this request.
    pub(super) fn refuse(&mut self, denial: Denial) -> super::Handling {
        self.denial = Some(denial);
        super::Handling::Answer(denial)
    }

    /// Gives the request a new id (no request head was parsed to take one from).
    pub fn adopt_minted_request_id(&mut self) {
        self.request_id = request_id::mint_value();
    }

    /// The request id as a header value (shared bytes: cloning copies nothing).
    pub fn request_id_value(&self) -> HeaderValue {
        self.request_id.clone()
    }

    /// The request id as text (always ASCII by construction).
    pub fn request_id_str(&self) -> &str {
        self.request_id.to_str().unwrap_or_default()
    }

    /// The generation, which every phase after `request_filter` has; a
    /// caller that changes `self` while using it clones the `Arc`.
    pub fn generation(&self) -> Result<&Arc<Generation>> {
        self.generation
            .as_ref()
            .ok_or_else(|| Error::explain(ErrorType::InternalError, "request has no generation"))
    }

    /// Updates the metrics and writes the access-log line.
    pub fn record(&self, session: &Session, e: Option<&Error>, metrics: &Metrics) {
        let status = match (session.response_written(), self.denial) {
            // A gRPC refusal is HTTP 200 on the wire; count what it stands for.
            (Some(_), Some(denial)) if self.grpc_answer => denial.status(),
            (written, _) => written.map_or(0, |r| r.status.as_u16()),
        };
        self.record_outcome(session.req_header().method.as_str(), status, e.is_some(), metrics);
    }

    /// [`Self::record`] from its parts: the request method, the status
    /// written to the client (0 when none was) and whether proxying failed.
    pub fn record_outcome(&self, method: &str, status: u16, failed: bool, metrics: &Metrics) {
        let Some(gen) = &self.generation else { return };
        let decision = match (self.auth_status, self.denial) {
            (Some(s), _) if s >= 500 => "error",
            (Some(s), _) if s >= 400 => "deny",
            (Some(_), _) => "allow",
            (None, None) if !failed => "allow",
            (None, None) => "error",
            (None, Some(d)) if d.status() >= 500 => "error",
            (None, Some(_)) => "deny",
        };
        let route = match self.auth_status {
            Some(_) => &gen.auth_route,
            None => gen.route(self.rule),
        };
        let elapsed = self.start.elapsed();
        route.duration.observe(elapsed.as_secs_f64());
        route.count(metrics, decision, status_label(status));
        if gen.config.logging.access_log {
            tracing::info!(
                target: "access",
                request_id = self.request_id_str(),
                method,
                route = &*route.name,
                decision,
                reason = self.denial.map(|d| d.reason()),
                user_id = self.claims.as_ref().map(|c| &*c.user_id),
                status,
                upstream = self.upstream.as_deref(),
                latency_us = elapsed.as_micros() as u64,
            );
        }
    }
}

impl Default for RequestCtx {
    fn default() -> Self {
        Self::new()
    }
}

/// A static label for a status code, so counting allocates nothing.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        301 => "301",
        302 => "302",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        415 => "415",
        429 => "429",
        500 => "500",
        501 => "501",
        502 => "502",
        503 => "503",
        504 => "504",
        0 => "0",
        _ => match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}
