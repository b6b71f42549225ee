//! The revocation poller: every `tokens.revocation_poll`, the points stored in
//! the user store replace the in-memory map the hot path reads
//! ([`crate::admission::Revocations`]), so every replica converges within one
//! poll interval.

use std::sync::Arc;
use std::time::Duration;

use crate::admission::Revocations;
use crate::generation::Live;
use crate::token::unix_now_ms;

use super::link::DatabaseLink;

/// Reloads the points every `tokens.revocation_poll` (read from the generation in
/// force, so a reload changes the pace) for as long as the process runs. A failed
/// load keeps the previous map: verification goes on with the last known points.
pub async fn poll_revocations(revocations: Arc<Revocations>, link: Arc<DatabaseLink>, live: Arc<Live>) {
    loop {
        let tokens = &live.current().config.tokens;
        // Points older than the longest an access token lives (plus leeway) can
        // revoke nothing that still verifies: neither read nor kept.
        let horizon = tokens.access_ttl.as_millis() + tokens.leeway.as_millis() + 1000;
        let since = i64::try_from(u128::from(unix_now_ms()).saturating_sub(horizon)).unwrap_or(0);
        if let Ok(store) = link.store() {
            match store.users().revocation_points(since).await {
                Ok(points) => revocations.replace(points, since),
                Err(e) => {
                    link.observe(&e);
                    tracing::debug!(error = %e, "revocation points not reloaded");
                }
            }
        }
        let every = live.current().config.token_policy.revocation_poll;
        tokio::time::sleep(every.max(Duration::from_millis(50))).await;
    }
}
