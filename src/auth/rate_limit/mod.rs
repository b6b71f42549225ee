//! `RateLimiter`: fixed-window attempt counters for login, refresh and
//! register, keyed per canonical username (or user id) and per client
//! address (docs/REFERENCE.md#sec-rate-limits).
//!
//! Keys are built from canonical usernames, so `admin`, `ADMIN` and `ａｄｍｉｎ`
//! share one budget, and unknown usernames are counted exactly like known ones
//! (a 429 must not reveal which accounts exist). IPv6 clients are counted per
//! /64, the block one subscriber usually gets.
//!
//! With `redis:` the counters live in Redis ([`shared`]), one budget for the
//! whole fleet; without it, in this replica's memory ([`local`]). Redis
//! faults never lock anyone out and never open the door: a round trip that
//! fails or takes longer than `redis.timeout` makes the replica count on its
//! own (logged once, `nexora_rate_limit_backend` says so), and it tries Redis
//! again at most once a second until Redis answers.

mod local;
mod shared;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus::IntGauge;

pub use crate::config::RateLimit;
use crate::config::RedisSettings;
use crate::metrics::Metrics;

use super::error::AuthError;
pub use local::{LocalWindows, MAX_KEYS};
use shared::SharedCounters;

/// How long a replica that lost Redis counts alone before it tries again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(1);

/// Which endpoint a counter belongs to (separate budgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `POST /auth/login`: failed logins.
    Login,
    /// `POST /auth/refresh`: refused refresh tokens.
    Refresh,
    /// `POST /auth/register` (and admin user creation): every attempt.
    Register,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Login => "login",
            Scope::Refresh => "refresh",
            Scope::Register => "register",
        }
    }

    /// The counter key of a canonical username (or a user id, for refresh).
    pub fn user(self, canonical: &str) -> String {
        format!("{}/u/{canonical}", self.name())
    }

    /// The counter key of a client address (IPv6 by /64).
    pub fn address(self, ip: IpAddr) -> String {
        match ip {
            IpAddr::V4(v4) => format!("{}/a/{v4}", self.name()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => format!("{}/a/{v4}", self.name()),
                None => {
                    let s = v6.segments();
                    format!("{}/a/{:x}:{:x}:{:x}:{:x}::/64", self.name(), s[0], s[1], s[2], s[3])
                }
            },
        }
    }
}

/// The attempt counters every identity request of the process consults.
pub struct RateLimiter {
    local: LocalWindows,
    shared: Option<SharedCounters>,
    /// Whether the last round trip to Redis succeeded.
    redis_up: AtomicBool,
    /// Milliseconds after `started` before which Redis is not tried again.
    retry_at_ms: AtomicU64,
    started: Instant,
    /// `nexora_rate_limit_backend{backend="redis"}` and `{backend="local"}`.
    on_redis: IntGauge,
    on_local: IntGauge,
}

impl RateLimiter {
    /// Counters in Redis when `redis` is set (connected lazily), else in memory.
    pub fn new(redis: Option<&RedisSettings>, metrics: &Metrics) -> Result<RateLimiter, String> {
        let shared = redis.map(SharedCounters::new).transpose().map_err(|e| format!("redis.url: {e}"))?;
        let limiter = RateLimiter {
            local: LocalWindows::new(),
            redis_up: AtomicBool::new(shared.is_some()),
            shared,
            retry_at_ms: AtomicU64::new(0),
            started: Instant::now(),
            on_redis: metrics.rate_limit_backend.with_label_values(&["redis"]),
            on_local: metrics.rate_limit_backend.with_label_values(&["local"]),
        };
        limiter.show_backend(limiter.shared.is_some());
        Ok(limiter)
    }

    /// Refuses with [`AuthError::RateLimited`] when any of `keys` has used its budget in
    /// its current window, telling the longest wait.
    pub async fn check(&self, limit: RateLimit, keys: &[String]) -> Result<(), AuthError> {
        let wait = match self.usable_shared() {
            Some(shared) => match tokio::time::timeout(shared.timeout, shared.check(limit, keys)).await {
                Ok(Ok(wait)) => self.redis_answered(wait),
                failed => {
                    self.redis_failed(describe(failed));
                    self.local.wait(limit, keys, Instant::now())
                }
            },
            None => self.local.wait(limit, keys, Instant::now()),
        };
        match wait {
            None => Ok(()),
            Some(left) => {
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                Err(AuthError::RateLimited { retry_after: secs.max(1) })
            }
        }
    }

    /// Counts one attempt against each of `keys`.
    pub async fn record(&self, limit: RateLimit, keys: &[String]) {
        if let Some(shared) = self.usable_shared() {
            match tokio::time::timeout(shared.timeout, shared.record(limit, keys)).await {
                Ok(Ok(())) => return self.redis_answered(()),
                failed => self.redis_failed(describe(failed)),
            }
        }
        self.local.record(limit, keys, Instant::now());
    }

    /// Forgets `key`'s attempts (a successful login clears its username's failures).
    pub async fn clear(&self, key: &str) {
        if let Some(shared) = self.usable_shared() {
            match tokio::time::timeout(shared.timeout, shared.clear(key)).await {
                Ok(Ok(())) => self.redis_answered(()),
                failed => self.redis_failed(describe(failed)),
            }
        }
        // Both: counts made alone while Redis was away must not outlive a success.
        self.local.clear(key);
    }

    /// The Redis counters, unless Redis failed less than [`RETRY_REDIS_AFTER`] ago.
    fn usable_shared(&self) -> Option<&SharedCounters> {
        let shared = self.shared.as_ref()?;
        let due = self.retry_at_ms.load(Ordering::Relaxed) <= self.elapsed_ms();
        (self.redis_up.load(Ordering::Relaxed) || due).then_some(shared)
    }

    fn redis_answered<T>(&self, value: T) -> T {
        if !self.redis_up.swap(true, Ordering::Relaxed) {
            tracing::info!("redis answers again: attempt counters are shared by the fleet");
            self.show_backend(true);
        }
        value
    }

    /// Notes a failed round trip; the caller counts locally.
    fn redis_failed(&self, why: String) {
        self.retry_at_ms.store(self.elapsed_ms() + RETRY_REDIS_AFTER.as_millis() as u64, Ordering::Relaxed);
        if self.redis_up.swap(false, Ordering::Relaxed) {
            tracing::warn!(error = %why, "redis unreachable: this replica counts login, refresh and registration attempts alone until it answers");
            self.show_backend(false);
        }
    }

    fn show_backend(&self, redis: bool) {
        self.on_redis.set(i64::from(redis));
        self.on_local.set(i64::from(!redis));
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Windows this replica tracks in memory (tests).
    pub fn local_len(&self) -> usize {
        self.local.len()
    }
}

/// A failed or timed-out round trip, for the log.
fn describe<T>(outcome: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>) -> String {
    match outcome {
        Ok(Ok(_)) => "no error".to_owned(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within redis.timeout".to_owned(),
    }
}
