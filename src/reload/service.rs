//! The Pingora background service that triggers reloads: SIGHUP always
//! reloads; a change seen by the file watch (the config, its key files, its
//! shadow policy) reloads once the burst is over and only if some file's
//! bytes differ from the last ones read.
//!
//! Pingora handles SIGTERM, SIGINT and SIGQUIT itself and leaves SIGHUP at
//! its default action, which ends the process. [`claim_sighup`] replaces that
//! action before the server starts; from then on a SIGHUP is only ever a
//! reload request.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

use super::watch::{watch_files, ConfigWatch, Debounce, MAX_DELAY, QUIET};
use super::{Reloader, Trigger};

/// Installs the process's SIGHUP handler (needs a tokio runtime with the I/O
/// driver). The handler stays for the life of the process, whichever runtime
/// installed it, so a SIGHUP that arrives before [`ReloadService`] runs is
/// ignored instead of killing the gateway.
///
/// # Errors
/// The handler cannot be registered.
pub fn claim_sighup() -> std::io::Result<()> {
    signal(SignalKind::hangup()).map(drop)
}

/// Runs reloads on SIGHUP and on changes of the config file.
pub struct ReloadService {
    reloader: Arc<Reloader>,
}

impl ReloadService {
    /// The service around `reloader`.
    pub fn new(reloader: Reloader) -> ReloadService {
        ReloadService { reloader: Arc::new(reloader) }
    }
}

#[async_trait]
impl BackgroundService for ReloadService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let reloader = &self.reloader;
        let mut hangups = listen_for_sighup();
        let (tx, mut changes) = mpsc::unbounded_channel();
        let mut watched = reloader.watched_files();
        let mut _watch = start_watch(&watched, &tx);
        let mut last = reloader.initial_fingerprint();
        let mut debounce = Debounce::new(QUIET, MAX_DELAY);
        // A change made between the first load and the watch starting has no
        // event of its own: look once now.
        debounce.event(tokio::time::Instant::now());
        loop {
            let due = debounce.deadline();
            tokio::select! {
                _ = shutdown.changed() => return,
                Some(()) = recv_hangup(&mut hangups) => {
                    last = reloader.reload_from(reloader.look().await, Trigger::Signal).await;
                }
                Some(()) = changes.recv() => debounce.event(tokio::time::Instant::now()),
                () = sleep_until(due) => {
                    debounce.clear();
                    let look = reloader.look().await;
                    if look.fingerprint != last {
                        last = reloader.reload_from(look, Trigger::FileChanged).await;
                    }
                }
            }
            // A reload may name other key or shadow files: watch those now.
            let now = reloader.watched_files();
            if now != watched {
                watched = now;
                _watch = start_watch(&watched, &tx);
            }
        }
    }
}

/// The watch of `files`, or None (logged) when it cannot be set up.
fn start_watch(files: &[PathBuf], tx: &mpsc::UnboundedSender<()>) -> Option<ConfigWatch> {
    match watch_files(files, tx.clone()) {
        Ok(watch) => Some(watch),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

/// The SIGHUP stream, or None (logged) when it cannot be had.
fn listen_for_sighup() -> Option<Signal> {
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reloads follow file changes only");
            None
        }
    }
}

async fn recv_hangup(hangups: &mut Option<Signal>) -> Option<()> {
    match hangups {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
