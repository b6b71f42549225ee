//! `DatabaseLink`: the identity service's connection to the user store, kept alive on the
//! auth runtime — connect (and migrate, when `database.migrate_on_start`) until it works,
//! then ping, and report the outcome to `/readyz`.
//!
//! A database that is down never stops the gateway: the proxy keeps verifying and
//! proxying, the identity endpoints answer 503 at once while the link is known to be
//! down, and the link recovers by itself (no restart) when the database comes back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::admin::Readiness;
use crate::config::DatabaseSettings;
use crate::store::{Store, StoreError};

use super::error::AuthError;

/// Pause between probes while the database answers.
const PING_HEALTHY: Duration = Duration::from_secs(2);
/// Pause between probes (or connection attempts) while it does not.
const PING_DOWN: Duration = Duration::from_millis(500);

/// The store, once connected, and whether it answers.
pub struct DatabaseLink {
    settings: DatabaseSettings,
    slot: ArcSwapOption<Store>,
    healthy: AtomicBool,
    readiness: Arc<Readiness>,
}

impl DatabaseLink {
    /// A link that has not connected yet (`/readyz` false until it has).
    pub fn new(settings: DatabaseSettings, readiness: Arc<Readiness>) -> DatabaseLink {
        readiness.database.store(false, Ordering::Relaxed);
        DatabaseLink {
            settings,
            slot: ArcSwapOption::empty(),
            healthy: AtomicBool::new(false),
            readiness,
        }
    }

    /// A link over an already connected (and migrated) store: tests and the CLI.
    pub fn with_store(store: Store, readiness: Arc<Readiness>) -> DatabaseLink {
        let settings = DatabaseSettings {
            url: String::new(),
            max_connections: 1,
            migrate_on_start: false,
        };
        let link = DatabaseLink::new(settings, readiness);
        link.slot.store(Some(Arc::new(store)));
        link.set_healthy(true);
        link
    }

    /// The store, or 503 when it is not connected or known to be down.
    pub fn store(&self) -> Result<Arc<Store>, AuthError> {
        match self.slot.load_full() {
            Some(store) if self.healthy.load(Ordering::Relaxed) => Ok(store),
            _ => Err(AuthError::Unavailable("user store not reachable".into())),
        }
    }

    /// Notes a store error seen by an endpoint: an outage marks the link down until the
    /// next successful probe. The first one of an outage is logged at warn with its
    /// cause: a full disk or a held lock leaves the probe's ping working, so nothing
    /// else would tell the operator why the identity endpoints answer 503.
    pub fn observe(&self, e: &StoreError) {
        if let StoreError::Unavailable(detail) = e {
            let was_up = self.healthy.swap(false, Ordering::Relaxed);
            self.readiness.database.store(false, Ordering::Relaxed);
            if was_up && !detail.is_empty() {
                tracing::warn!(error = %e, "user store refused a request; identity endpoints answer 503 until it recovers");
            }
        }
    }

    /// One attempt: connect if needed (then migrate if configured), then ping.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let store = match self.slot.load_full() {
            Some(store) => store,
            None => {
                let store =
                    Store::connect(&self.settings.url, self.settings.max_connections).await?;
                if self.settings.migrate_on_start {
                    store.migrate().await?;
                }
                let store = Arc::new(store);
                self.slot.store(Some(store.clone()));
                store
            }
        };
        let outcome = store.ping().await;
        self.set_healthy(outcome.is_ok());
        outcome
    }

    /// Probes for as long as the process runs, logging each change of state once.
    pub async fn maintain(self: Arc<Self>) {
        let mut was_up = self.healthy.load(Ordering::Relaxed);
        loop {
            let outcome = self.probe().await;
            match (&outcome, was_up) {
                (Ok(()), false) => tracing::info!("user store reachable"),
                (Err(e), true) => tracing::warn!(error = %e, "user store unreachable"),
                _ => {}
            }
            if let Err(e) = &outcome {
                self.set_healthy(false);
                tracing::debug!(error = %e, "user store probe failed");
            }
            was_up = outcome.is_ok();
            tokio::time::sleep(if was_up { PING_HEALTHY } else { PING_DOWN }).await;
        }
    }

    fn set_healthy(&self, up: bool) {
        self.healthy.store(up, Ordering::Relaxed);
        self.readiness.database.store(up, Ordering::Relaxed);
    }
}
