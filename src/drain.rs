//! Graceful shutdown: counting requests in flight, and ending the process as
//! soon as the last one has finished once Pingora has stopped accepting.
//!
//! Pingora's graceful path (SIGTERM, or SIGQUIT after handing the listening
//! sockets to a successor) first closes the listeners, then keeps the worker
//! runtimes alive for `grace_period_seconds`, then drops whatever still runs.
//! The gateway sets that grace period to `server.graceful_shutdown_timeout`,
//! so in-flight requests get that long, and [`DrainThenExit`] ends the process
//! early when nothing has been in flight for [`SETTLE`], so an idle gateway
//! stops at once. The settle time covers connections accepted just before the
//! listener closed whose request head has not been read yet (a request is
//! counted from its context, which Pingora creates after the head).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use prometheus::IntGauge;

/// How often the in-flight count is looked at while draining.
const POLL: Duration = Duration::from_millis(20);

/// How long nothing must be in flight before the process exits.
pub const SETTLE: Duration = Duration::from_millis(250);

/// Counts one request in flight for as long as it lives.
pub struct InFlight {
    gauge: IntGauge,
}

impl InFlight {
    /// Counts a request that has just started.
    pub fn enter(gauge: &IntGauge) -> InFlight {
        gauge.inc();
        InFlight { gauge: gauge.clone() }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// A background service that waits for the shutdown broadcast, then for the
/// in-flight count to reach zero (at most `timeout`), then exits the process.
pub struct DrainThenExit {
    /// Requests in flight (`nexora_requests_in_flight`).
    pub in_flight: IntGauge,
    /// `server.graceful_shutdown_timeout`.
    pub timeout: Duration,
}

impl DrainThenExit {
    /// Waits until nothing has been in flight for [`SETTLE`] (or, at `timeout`,
    /// nothing is); true when drained.
    async fn drained(&self) -> bool {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let mut idle_since = None;
        loop {
            let now = Instant::now();
            if self.in_flight.get() > 0 {
                idle_since = None;
            } else if now.duration_since(*idle_since.get_or_insert(now)) >= SETTLE {
                return true;
            }
            if now >= deadline {
                return idle_since.is_some();
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[async_trait]
impl BackgroundService for DrainThenExit {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        if shutdown.changed().await.is_err() {
            return;
        }
        tracing::info!(
            in_flight = self.in_flight.get(),
            timeout_s = self.timeout.as_secs_f64(),
            "shutting down: listeners closed, draining requests in flight"
        );
        if self.drained().await {
            tracing::info!("drained; exiting");
            // Pingora would sleep out the rest of its grace period; nothing is left to wait for.
            std::process::exit(0);
        }
        tracing::warn!(
            in_flight = self.in_flight.get(),
            "graceful_shutdown_timeout passed with requests still in flight; they are cut"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_counts_while_it_lives() {
        let gauge = IntGauge::new("t_in_flight", "test").unwrap();
        let a = InFlight::enter(&gauge);
        let b = InFlight::enter(&gauge);
        assert_eq!(gauge.get(), 2);
        drop(a);
        assert_eq!(gauge.get(), 1);
        drop(b);
        assert_eq!(gauge.get(), 0);
    }

    #[tokio::test]
    async fn draining_waits_for_the_last_request_and_no_longer() {
        let gauge = IntGauge::new("t_in_flight", "test").unwrap();
        let drain = DrainThenExit { in_flight: gauge.clone(), timeout: Duration::from_secs(10) };
        let guard = InFlight::enter(&gauge);
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(guard);
        });
        assert!(drain.drained().await);
        release.await.unwrap();
        assert_eq!(gauge.get(), 0);
    }

    #[tokio::test]
    async fn a_request_arriving_while_settling_is_waited_for() {
        let gauge = IntGauge::new("t_in_flight", "test").unwrap();
        let drain = DrainThenExit { in_flight: gauge.clone(), timeout: Duration::from_secs(10) };
        let late = gauge.clone();
        let arrival = tokio::spawn(async move {
            tokio::time::sleep(SETTLE / 2).await;
            let guard = InFlight::enter(&late);
            tokio::time::sleep(SETTLE).await;
            drop(guard);
        });
        let start = Instant::now();
        assert!(drain.drained().await);
        // Drained only after the late request ended and the gauge settled again.
        assert!(start.elapsed() >= SETTLE / 2 + SETTLE + SETTLE, "{:?}", start.elapsed());
        arrival.await.unwrap();
    }

    #[tokio::test]
    async fn draining_gives_up_at_the_timeout() {
        let gauge = IntGauge::new("t_in_flight", "test").unwrap();
        let drain = DrainThenExit { in_flight: gauge.clone(), timeout: Duration::from_millis(50) };
        let _stuck = InFlight::enter(&gauge);
        assert!(!drain.drained().await);
    }
}
