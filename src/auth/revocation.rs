//! The revocation poller: every `tokens.revocation_poll`, the points stored in
//! the user store replace the in-memory map the hot path reads
//! ([`crate::admission::Revocations`]), so every replica converges within one
//! poll interval.

use std::sync::Arc;
use std::time::Duration;

use crate::admission::Revocations;
use crate::generation::Live;

use super::link::DatabaseLink;

/// Reloads the points every `tokens.revocation_poll` (read from the generation in
/// force, so a reload changes the pace) for as long as the process runs. A failed
/// load keeps the previous map: verification goes on with the last known points.
pub async fn poll_revocations(revocations: Arc<Revocations>, link: Arc<DatabaseLink>, live: Arc<Live>) {
    loop {
        if let Ok(store) = link.store() {
            match store.users().revocation_points().await {
                Ok(points) => revocations.replace(points),
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
