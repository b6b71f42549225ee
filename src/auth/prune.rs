//! Pruning the refresh-token table: rows of refresh tokens that expired are
//! deleted in small batches, every few minutes, by every replica — no
//! leader is needed, since deleting what is already gone deletes nothing.
//! Without it the table grows by every login and refresh, forever.
//!
//! A row is kept until its token can no longer verify (expiry plus the
//! configured leeway, and a minute more), so reuse detection still sees
//! every rotated token that could be presented.

use std::sync::Arc;
use std::time::Duration;

use prometheus::IntCounter;

use crate::generation::Live;
use crate::token::unix_now;

use super::link::DatabaseLink;

/// Time between prunes on one replica (plus up to a minute of jitter, so a
/// fleet started together does not prune together).
const EVERY: Duration = Duration::from_secs(300);
/// Rows deleted by one statement.
const BATCH: u32 = 500;
/// Statements in one prune at most; the rest waits for the next.
const MAX_BATCHES: u32 = 40;
/// Margin past expiry and leeway before a row goes.
const MARGIN_SECS: u64 = 60;

/// Prunes for as long as the process runs, counting rows in `pruned`
/// (`nexora_refresh_tokens_pruned_total`).
pub async fn prune_refresh_tokens(link: Arc<DatabaseLink>, live: Arc<Live>, pruned: IntCounter) {
    tokio::time::sleep(Duration::from_secs(30) + jitter()).await;
    loop {
        let leeway = live.current().config.tokens.leeway.as_secs();
        let cut = unix_now().saturating_sub(leeway + MARGIN_SECS);
        let removed = prune_once(&link, i64::try_from(cut).unwrap_or(i64::MAX)).await;
        pruned.inc_by(removed);
        if removed > 0 {
            tracing::debug!(removed, "expired refresh tokens pruned");
        }
        tokio::time::sleep(EVERY + jitter()).await;
    }
}

/// One prune: batches until one comes back short, or [`MAX_BATCHES`].
async fn prune_once(link: &DatabaseLink, before: i64) -> u64 {
    let Ok(store) = link.store() else { return 0 };
    let mut removed = 0;
    for _ in 0..MAX_BATCHES {
        match store.refresh_tokens().prune_expired(before, BATCH).await {
            Ok(n) => {
                removed += n;
                if n < u64::from(BATCH) {
                    break;
                }
            }
            Err(e) => {
                link.observe(&e);
                break;
            }
        }
    }
    removed
}

fn jitter() -> Duration {
    Duration::from_millis(rand::random::<u64>() % 60_000)
}
