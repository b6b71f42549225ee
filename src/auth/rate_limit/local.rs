//! `LocalWindows`: the fixed-window attempt counters one replica keeps in
//! memory — all of them without `redis:`, and while Redis cannot be reached.
//! Memory is bounded: at most [`MAX_KEYS`] windows are tracked; expired
//! windows are swept when the table fills.
//!
//! Runs on the auth runtime, never on the proxy's hot path, so a short mutex is fine.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::RateLimit;

/// Most windows tracked at once.
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// Attempt counters shared by every identity request of the process.
#[derive(Debug, Default)]
pub struct LocalWindows {
    windows: Mutex<HashMap<String, Window>>,
}

impl LocalWindows {
    /// No window yet.
    pub fn new() -> LocalWindows {
        LocalWindows::default()
    }

    /// The longest wait among `keys` that used their budget in their current
    /// window; None when none has.
    pub fn wait(&self, limit: RateLimit, keys: &[String], now: Instant) -> Option<Duration> {
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
        wait
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
    use std::net::IpAddr;
    use super::super::Scope;

    const LIMIT: RateLimit = RateLimit {
        max_attempts: 3,
        window: Duration::from_secs(60),
    };

    #[test]
    fn refuses_after_the_budget_and_recovers_after_the_window() {
        let rl = LocalWindows::new();
        let t0 = Instant::now();
        let keys = [Scope::Login.user("admin")];
        for _ in 0..3 {
            assert!(rl.wait(LIMIT, &keys, t0).is_none());
            rl.record(LIMIT, &keys, t0);
        }
        assert_eq!(rl.wait(LIMIT, &keys, t0 + Duration::from_millis(10_500)), Some(Duration::from_millis(49_500)));
        assert!(rl.wait(LIMIT, &keys, t0 + Duration::from_secs(60)).is_none());
        rl.record(LIMIT, &keys, t0 + Duration::from_secs(60));
        assert!(rl.wait(LIMIT, &keys, t0 + Duration::from_secs(61)).is_none());
    }

    #[test]
    fn any_exhausted_key_refuses_and_clear_resets() {
        let rl = LocalWindows::new();
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
        assert!(rl.wait(LIMIT, &fresh_user, t0).is_some());
        rl.clear(&Scope::Login.address(ip));
        assert!(rl.wait(LIMIT, &fresh_user, t0).is_none());
        // Scopes are separate budgets.
        assert!(rl.wait(LIMIT, &[Scope::Refresh.address(ip)], t0).is_none());
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
        let rl = LocalWindows::new();
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
