//! `RateLimiter`: fixed-window attempt counters for login, refresh and register, keyed
//! per canonical username (or user id) and per client address (docs/REFERENCE.md#sec-rate-limits).
//!
//! Keys are built from canonical usernames, so `admin`, `ADMIN` and `ａｄｍｉｎ` share one
//! budget, and unknown usernames are counted exactly like known ones (a 429 must not
//! reveal which accounts exist). IPv6 clients are counted per /64, the block one
//! subscriber usually gets. Memory is bounded: at most [`MAX_KEYS`] windows are tracked;
//! expired windows are swept when the table fills.
//!
//! Runs on the auth runtime, never on the proxy's hot path, so a short mutex is fine.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::error::AuthError;

/// Most windows tracked at once.
pub const MAX_KEYS: usize = 100_000;

pub use crate::config::RateLimit;

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
                    format!(
                        "{}/a/{:x}:{:x}:{:x}:{:x}::/64",
                        self.name(),
                        s[0],
                        s[1],
                        s[2],
                        s[3]
                    )
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// Attempt counters shared by every identity request of the process.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

impl RateLimiter {
    /// An empty limiter.
    pub fn new() -> RateLimiter {
        RateLimiter::default()
    }

    /// Refuses with [`AuthError::RateLimited`] when any of `keys` has used its budget in
    /// its current window, telling the longest wait.
    pub fn check(&self, limit: RateLimit, keys: &[String], now: Instant) -> Result<(), AuthError> {
        let windows = self.lock();
        let mut wait: Option<Duration> = None;
        for key in keys {
            if let Some(w) = windows.get(key) {
                let elapsed = now.saturating_duration_since(w.start);
                if elapsed < limit.window && w.count >= limit.max_attempts {
                    let left = limit.window - elapsed;
                    wait = Some(wait.map_or(left, |d| d.max(left)));
                }
            }
        }
        match wait {
            None => Ok(()),
            Some(left) => {
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                Err(AuthError::RateLimited {
                    retry_after: secs.max(1),
                })
            }
        }
    }

    /// Counts one attempt against each of `keys`.
    pub fn record(&self, limit: RateLimit, keys: &[String], now: Instant) {
        let mut windows = self.lock();
        for key in keys {
            if let Some(w) = windows.get_mut(key) {
                if now.saturating_duration_since(w.start) >= limit.window {
                    *w = Window {
                        start: now,
                        count: 0,
                    };
                }
                w.count = w.count.saturating_add(1);
                continue;
            }
            if windows.len() >= MAX_KEYS {
                windows.retain(|_, w| now.saturating_duration_since(w.start) < limit.window);
                if windows.len() >= MAX_KEYS {
                    // Full of live windows: this key goes uncounted (the address key of
                    // the same request usually is counted).
                    continue;
                }
            }
            windows.insert(
                key.clone(),
                Window {
                    start: now,
                    count: 1,
                },
            );
        }
    }

    /// Forgets `key`'s attempts (a successful login clears its username's failures).
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Windows tracked now (tests, metrics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Window>> {
        // A panic while holding the lock leaves consistent counters; keep using them.
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        max_attempts: 3,
        window: Duration::from_secs(60),
    };

    #[test]
    fn refuses_after_the_budget_and_recovers_after_the_window() {
        let rl = RateLimiter::new();
        let t0 = Instant::now();
        let keys = [Scope::Login.user("admin")];
        for _ in 0..3 {
            assert!(rl.check(LIMIT, &keys, t0).is_ok());
            rl.record(LIMIT, &keys, t0);
        }
        match rl.check(LIMIT, &keys, t0 + Duration::from_millis(10_500)) {
            Err(AuthError::RateLimited { retry_after }) => assert_eq!(retry_after, 50),
            other => panic!("{other:?}"),
        }
        assert!(rl.check(LIMIT, &keys, t0 + Duration::from_secs(60)).is_ok());
        rl.record(LIMIT, &keys, t0 + Duration::from_secs(60));
        assert!(rl.check(LIMIT, &keys, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn any_exhausted_key_refuses_and_clear_resets() {
        let rl = RateLimiter::new();
        let t0 = Instant::now();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..3 {
            rl.record(
                LIMIT,
                &[
                    Scope::Login.user(&format!("u{i}")),
                    Scope::Login.address(ip),
                ],
                t0,
            );
        }
        let fresh_user = [Scope::Login.user("someone-else"), Scope::Login.address(ip)];
        assert!(rl.check(LIMIT, &fresh_user, t0).is_err());
        rl.clear(&Scope::Login.address(ip));
        assert!(rl.check(LIMIT, &fresh_user, t0).is_ok());
        // Scopes are separate budgets.
        assert!(rl.check(LIMIT, &[Scope::Refresh.address(ip)], t0).is_ok());
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Scope::Login.address(a), Scope::Login.address(b));
        assert_ne!(Scope::Login.address(a), Scope::Login.address(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(Scope::Login.address(mapped), "login/a/10.0.0.1");
    }

    #[test]
    fn memory_is_bounded() {
        let rl = RateLimiter::new();
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            rl.record(LIMIT, &[Scope::Login.user(&i.to_string())], t0);
        }
        assert_eq!(rl.len(), MAX_KEYS);
        // Once the windows have expired, new keys displace them.
        rl.record(
            LIMIT,
            &[Scope::Login.user("late")],
            t0 + Duration::from_secs(61),
        );
        assert_eq!(rl.len(), 1);
    }
}
