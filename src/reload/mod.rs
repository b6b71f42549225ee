//! Live configuration reload (docs/REFERENCE.md#reload): read the file again, compile it
//! exactly as `check` and `serve` do, run the policy's own `tests:`, build a
//! new [`Generation`] and swap it in, counting the outcome.
//!
//! ```text
//!  SIGHUP ──────────────────────────────────────┐
//!  watch of the config, its key files and its
//!  shadow policy ─ debounce ─ changed? ─────────┴─► Reloader::reload
//!        read → ${VAR} + compile → policy tests → keep restart-only values
//!        → Generation::build → Live::swap → metrics
//! ```
//!
//! A file that fails any step is refused: the generation in force keeps
//! serving, every problem is logged as `FILE:LINE:COL: message` and
//! `nexora_policy_reloads_total{result="error"}` goes up. Requests in flight
//! hold an `Arc` of their generation and finish under the policy they started
//! with; the hot path never takes a lock.
//!
//! Settings used only at start (listeners, threads, database, argon2, logging
//! format) keep their running values; changing them logs a warning naming
//! each key (see [`restart_only`]).

pub mod restart_only;
mod service;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use service::{claim_sighup, ReloadService};

use crate::config::{self, ConfigErrors};
use crate::generation::remote_keys::RemoteKeys;
use crate::generation::{Generation, GenerationError, Live};
use crate::metrics::Metrics;
use crate::policy::run_cases;
use watch::{digest, Fingerprint};

/// What asked for a reload (logged with the outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The process received SIGHUP.
    Signal,
    /// The watched config file changed.
    FileChanged,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Signal => "SIGHUP",
            Trigger::FileChanged => "file changed",
        }
    }
}

/// Why a reload was refused. The details (one line per problem) are logged
/// before this is returned; the old generation stays in force.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}; the current config stays in force")]
    Unreadable {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file did not load (interpolation, YAML or compile errors).
    #[error("{count} problem(s) in {path} (logged above); fix them, the current config stays in force")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// How many problems were logged.
        count: usize,
    },
    /// The policy's own `tests:` did not all pass.
    #[error("{failed} of {total} policy test(s) in {path} failed (logged above); the current config stays in force")]
    PolicyTests {
        /// The config file.
        path: PathBuf,
        /// Failed cases.
        failed: usize,
        /// All cases.
        total: usize,
    },
    /// The runtime state could not be built (keys, upstreams).
    #[error("{path}: {source}; the current config stays in force")]
    Build {
        /// The config file.
        path: PathBuf,
        /// What failed.
        source: GenerationError,
    },
}

/// Loads, checks, builds and swaps in new generations of the config.
pub struct Reloader {
    path: PathBuf,
    live: Arc<Live>,
    metrics: Metrics,
    /// External issuers' key cells, kept across generations.
    remote: Arc<RemoteKeys>,
    /// The files' content when the reloader was made, right after the first
    /// load: the baseline the watch compares against.
    initial: Fingerprint,
}

/// The config file as just read, and the fingerprint of it and its inputs.
pub struct Look {
    /// The config file's bytes, or why they could not be read.
    pub read: std::io::Result<Vec<u8>>,
    /// Its digest and those of the inputs of the generation in force.
    pub fingerprint: Fingerprint,
}

impl Reloader {
    /// A reloader for the file the generation in force was loaded from.
    /// Records the start as the last successful load and makes both result
    /// series of `nexora_policy_reloads_total` visible at 0.
    pub fn new(live: Arc<Live>, metrics: Metrics, remote: Arc<RemoteKeys>) -> Reloader {
        let path = live.current().config.path.clone();
        let initial = compiled_fingerprint(&live, digest(&std::fs::read(&path)));
        metrics.config_last_reload_success.set(unix_seconds());
        publish_content(&metrics, &initial);
        for result in ["ok", "error"] {
            metrics.policy_reloads.with_label_values(&[result]);
        }
        Reloader { path, live, metrics, remote, initial }
    }

    /// The files' content when this reloader was made.
    pub fn initial_fingerprint(&self) -> Fingerprint {
        self.initial.clone()
    }

    /// The files a change of which may change the config: the config file,
    /// then the inputs of the generation in force (key files, shadow policy).
    pub fn watched_files(&self) -> Vec<PathBuf> {
        std::iter::once(self.path.clone()).chain(self.input_paths()).collect()
    }

    /// The files the generation in force read besides the config.
    fn input_paths(&self) -> Vec<PathBuf> {
        self.live.current().config.inputs.iter().map(|i| i.path.clone()).collect()
    }

    /// Reads the config file and the inputs of the generation in force.
    pub async fn look(&self) -> Look {
        let read = tokio::fs::read(&self.path).await;
        let inputs = self.input_paths();
        let mut digests = Vec::with_capacity(inputs.len());
        for path in &inputs {
            digests.push(digest(&tokio::fs::read(path).await));
        }
        let fingerprint = Fingerprint::new(digest(&read), digests);
        Look { read, fingerprint }
    }

    /// Reloads from `look` and returns the baseline for the next look: what
    /// the new generation was compiled from when it applied (so a file that
    /// changes while the reload runs is seen as changed), else what was seen
    /// (so a refused file is not tried again until it changes).
    pub async fn reload_from(&self, look: Look, trigger: Trigger) -> Fingerprint {
        let Look { read, fingerprint } = look;
        match self.reload(read, trigger).await {
            Ok(_) => {
                let compiled = compiled_fingerprint(&self.live, fingerprint.config());
                publish_content(&self.metrics, &compiled);
                compiled
            }
            Err(_) => fingerprint,
        }
    }

    /// Applies `read` (the file's bytes, as just read) and counts the outcome.
    /// Returns the id of the generation now in force.
    pub async fn reload(
        &self,
        read: std::io::Result<Vec<u8>>,
        trigger: Trigger,
    ) -> Result<u64, ReloadError> {
        let outcome = self.try_reload(read).await;
        match &outcome {
            Ok(id) => {
                // The gauges first: whoever sees the count go up also sees them.
                self.metrics.config_generation.set(i64::try_from(*id).unwrap_or(i64::MAX));
                self.metrics.config_last_reload_success.set(unix_seconds());
                self.metrics.policy_reloads.with_label_values(&["ok"]).inc();
                tracing::info!(generation = id, trigger = trigger.as_str(), file = %self.path.display(), "config reloaded");
            }
            Err(e) => {
                self.metrics.policy_reloads.with_label_values(&["error"]).inc();
                tracing::error!(trigger = trigger.as_str(), "config reload refused: {e}");
            }
        }
        outcome
    }

    async fn try_reload(&self, read: std::io::Result<Vec<u8>>) -> Result<u64, ReloadError> {
        let path = &self.path;
        let bytes = read.map_err(|source| ReloadError::Unreadable { path: path.clone(), source })?;
        let mut next = compile(path, bytes).map_err(|errors| {
            for e in errors.iter() {
                tracing::error!("{e}");
            }
            ReloadError::Invalid { path: path.clone(), count: errors.len() }
        })?;
        let failures = run_cases(&next.rules, &next.roles, &next.tests);
        for f in &failures {
            tracing::error!("{}:{}: policy test failed: {}", path.display(), f.line, f.message);
        }
        if !failures.is_empty() {
            let total = next.tests.len();
            return Err(ReloadError::PolicyTests { path: path.clone(), failed: failures.len(), total });
        }
        for w in &next.warnings {
            tracing::warn!("{w}");
        }
        let running = self.live.current();
        for key in restart_only::keep_running_values(&running.config, &mut next) {
            tracing::warn!(key, "{key} changed in {} but only takes effect after a restart; the running value stays", path.display());
        }
        drop(running);
        let id = self.live.next_id();
        let generation = Generation::build(id, next, &self.metrics, &self.remote)
            .await
            .map_err(|source| ReloadError::Build { path: path.clone(), source })?;
        self.live.swap(generation);
        // The fetcher reads the live generation: wake it once this one is
        // live, so an issuer the reload added is fetched now, not a tick later.
        self.remote.wake().notify_one();
        Ok(id)
    }
}

/// The `serve`/`check` pipeline (`${VAR}` from the environment, parse,
/// compile) on bytes already read, so the fingerprint and the load see the
/// same content.
fn compile(path: &Path, bytes: Vec<u8>) -> Result<config::Config, ConfigErrors> {
    let text = String::from_utf8(bytes).map_err(|e| {
        config::ConfigError::whole_file(path, format!("cannot read the file: not UTF-8 ({e})"))
    })?;
    config::load_str(path, &text, &|name| std::env::var(name).ok())
}

/// The fingerprint of the generation in force: `config` (the digest of the
/// config file it was loaded from) and the digests its inputs had when read.
fn compiled_fingerprint(live: &Live, config: Option<[u8; 32]>) -> Fingerprint {
    let current = live.current();
    Fingerprint::new(config, current.config.inputs.iter().map(|i| Some(i.sha256)).collect())
}

/// `nexora_config_info{digest}`: one series, at 1, naming the content in force.
fn publish_content(metrics: &Metrics, fingerprint: &Fingerprint) {
    metrics.config_info.reset();
    metrics.config_info.with_label_values(&[&fingerprint.content_id()]).set(1);
}

fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
