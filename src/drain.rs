//! Graceful shutdown: counting requests in flight, and ending the process as
//! soon as the last one has finished once Pingora has stopped accepting.
//!
//! Pingora's graceful path (SIGTERM, or SIGQUIT after handing the listening
//! sockets to a successor) first closes the listeners, then keeps the worker
//! runtimes alive for `grace_period_seconds`, then drops whatever still runs.
//! The gateway sets that grace period to `server.graceful_shutdown_timeout`,
//! so in-flight requests get that long, and [`DrainThenExit`] ends the process
//! early when nothing is left in flight, so an idle gateway stops at once.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use prometheus::IntGauge;

/// How often the in-flight count is looked at while draining.
const POLL: Duration = Duration::from_millis(20);

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
    /// Waits until nothing is in flight or `timeout` has passed; true when drained.
    async fn drained(&self) -> bool {
        let deadline = Instant::now() + self.timeout;
        loop {
            if self.in_flight.get() <= 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
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
    async fn draining_gives_up_at_the_timeout() {
        let gauge = IntGauge::new("t_in_flight", "test").unwrap();
        let drain = DrainThenExit { in_flight: gauge.clone(), timeout: Duration::from_millis(50) };
        let _stuck = InFlight::enter(&gauge);
        assert!(!drain.drained().await);
    }
}
