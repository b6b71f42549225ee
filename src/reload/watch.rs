//! Noticing that the config file, or a file it names, changed, the way files
//! really get replaced.
//!
//! Editors write a temporary file and rename it over the original; Kubernetes
//! mounts a ConfigMap or Secret as `gateway.yaml -> ..data/gateway.yaml` and
//! swaps the `..data` symlink. A watch on the file itself loses track after
//! the first rename, so [`watch_files`] watches each file's *directory* (and
//! the directory of the file a symlink points at) and passes on every event
//! that names a watched file, its symlink target or a `..` entry. The files
//! are the config and what it read besides itself: key files and the shadow
//! policy file ([`crate::config::Config::inputs`]).
//!
//! Events come in bursts (truncate, write, chmod, rename), so [`Debounce`]
//! waits for a quiet moment before the files are read, and [`Fingerprint`]
//! lets the reloader skip a reload that would find the same bytes as last
//! time.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::content_digest;

/// How long the directory must be quiet before the file is read.
pub const QUIET: Duration = Duration::from_millis(250);

/// The longest a steady stream of events can postpone the read.
pub const MAX_DELAY: Duration = Duration::from_secs(2);

/// Trailing-edge debounce: fires [`QUIET`] after the last event of a burst,
/// and at the latest [`MAX_DELAY`] after its first.
#[derive(Debug, Clone)]
pub struct Debounce {
    quiet: Duration,
    max_delay: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Debounce {
    /// A debounce with the given quiet time and upper bound.
    pub fn new(quiet: Duration, max_delay: Duration) -> Debounce {
        Debounce { quiet, max_delay, first: None, last: None }
    }

    /// Records an event seen at `now`.
    pub fn event(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// When the pending burst is due, or None when nothing is pending.
    pub fn deadline(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        Some((last + self.quiet).min(first + self.max_delay))
    }

    /// Forgets the burst (call when acting on it).
    pub fn clear(&mut self) {
        self.first = None;
        self.last = None;
    }
}

/// The digest of a file's bytes as read (the one the compiled config records),
/// or None when it could not be read.
pub fn digest(read: &std::io::Result<Vec<u8>>) -> Option<[u8; 32]> {
    read.as_ref().ok().map(|bytes| content_digest(bytes))
}

/// What the config file and its input files held when looked at: the
/// digest of each (before `${VAR}` interpolation), or "cannot be read".
/// Inputs are listed in the order of the generation in force, so two
/// fingerprints taken under the same generation compare file by file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    config: Option<[u8; 32]>,
    inputs: Vec<Option<[u8; 32]>>,
}

impl Fingerprint {
    /// The fingerprint of the config's digest and its inputs' digests.
    pub fn new(config: Option<[u8; 32]>, inputs: Vec<Option<[u8; 32]>>) -> Fingerprint {
        Fingerprint { config, inputs }
    }

    /// The config file's digest.
    pub fn config(&self) -> Option<[u8; 32]> {
        self.config
    }

    /// One short name for the whole content (the config file and every input
    /// file, as read): the first 16 hex digits of a SHA-256 over their
    /// digests. Replicas that enforce the same files show the same value.
    pub fn content_id(&self) -> String {
        let mut all = Vec::with_capacity(33 * (1 + self.inputs.len()));
        for digest in std::iter::once(&self.config).chain(&self.inputs) {
            match digest {
                Some(d) => {
                    all.push(1);
                    all.extend_from_slice(d);
                }
                None => all.push(0),
            }
        }
        hex::encode(&content_digest(&all)[..8])
    }
}

/// A running directory watch; events stop when it is dropped.
pub struct ConfigWatch {
    _watcher: RecommendedWatcher,
}

/// Why the files cannot be watched (reloads still work with SIGHUP).
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {dir} for changes to the config or the files it names ({source}); send SIGHUP to reload")]
pub struct WatchError {
    dir: PathBuf,
    #[source]
    source: notify::Error,
}

/// Watches the directories of `files` (the config first, then the files it
/// read) and sends `()` on `changes` for every event that may have changed
/// what one of them reads as.
pub fn watch_files(files: &[PathBuf], changes: mpsc::UnboundedSender<()>) -> Result<ConfigWatch, WatchError> {
    let targets = WatchTargets::of(files);
    let names = targets.names.clone();
    let first_dir = targets.dirs.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        // An error from the backend (e.g. queue overflow) may hide a change: look.
        let relevant = event.map_or(true, |e| is_relevant(&e, &names));
        if relevant {
            let _ = changes.send(());
        }
    })
    .map_err(|source| WatchError { dir: first_dir, source })?;
    for dir in &targets.dirs {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|source| WatchError { dir: dir.clone(), source })?;
    }
    Ok(ConfigWatch { _watcher: watcher })
}

/// The directories to watch and the entry names that matter in them.
#[derive(Debug, PartialEq, Eq)]
struct WatchTargets {
    dirs: Vec<PathBuf>,
    names: HashSet<OsString>,
}

impl WatchTargets {
    /// Each file's own directory and name, plus those of the file a symlink
    /// chain ends at (when it resolves now).
    fn of(files: &[PathBuf]) -> WatchTargets {
        let mut targets = WatchTargets { dirs: Vec::new(), names: HashSet::new() };
        for file in files {
            targets.add(file);
            if let Ok(resolved) = std::fs::canonicalize(file) {
                targets.add(&resolved);
            }
        }
        targets
    }

    fn add(&mut self, file: &Path) {
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        if !self.dirs.contains(&dir) {
            self.dirs.push(dir);
        }
        if let Some(name) = file.file_name() {
            self.names.insert(name.to_owned());
        }
    }
}

/// Whether `event` may have changed a watched file: it touches one of `names` or
/// a `..`-prefixed entry (Kubernetes' `..data` swap), or names no path at all.
fn is_relevant(event: &Event, names: &HashSet<OsString>) -> bool {
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.is_empty()
        || event.paths.iter().filter_map(|p| p.file_name()).any(|name| {
            names.contains(name) || name.as_encoded_bytes().starts_with(b"..")
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use notify::event::{AccessKind, CreateKind, ModifyKind, RenameMode};

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn debounce_waits_for_quiet_after_the_last_event() {
        let t0 = Instant::now();
        let mut d = Debounce::new(ms(250), ms(2000));
        assert_eq!(d.deadline(), None);
        d.event(t0);
        assert_eq!(d.deadline(), Some(t0 + ms(250)));
        d.event(t0 + ms(100));
        d.event(t0 + ms(200));
        assert_eq!(d.deadline(), Some(t0 + ms(450)));
        d.clear();
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn debounce_fires_by_the_max_delay_under_a_steady_stream() {
        let t0 = Instant::now();
        let mut d = Debounce::new(ms(250), ms(1000));
        for i in 0..20 {
            d.event(t0 + ms(i * 100));
        }
        assert_eq!(d.deadline(), Some(t0 + ms(1000)));
    }

    /// The fingerprint of a config file read alone, with no inputs.
    fn config_only(read: &std::io::Result<Vec<u8>>) -> Fingerprint {
        Fingerprint::new(digest(read), Vec::new())
    }

    #[test]
    fn fingerprint_tells_content_changes_apart() {
        let a = config_only(&Ok(b"roles: [A]\n".to_vec()));
        let same = config_only(&Ok(b"roles: [A]\n".to_vec()));
        let b = config_only(&Ok(b"roles: [B]\n".to_vec()));
        let gone = config_only(&Err(std::io::ErrorKind::NotFound.into()));
        assert_eq!(a, same);
        assert_ne!(a, b);
        assert_ne!(a, gone);
        assert_eq!(gone, config_only(&Err(std::io::ErrorKind::PermissionDenied.into())));
    }

    #[test]
    fn fingerprint_sees_a_changed_input_under_an_unchanged_config() {
        let config = digest(&Ok(b"tokens: {}\n".to_vec()));
        let key = |pem: &[u8]| digest(&Ok(pem.to_vec()));
        let before = Fingerprint::new(config, vec![key(b"private v1"), key(b"public v1")]);
        let same = Fingerprint::new(config, vec![key(b"private v1"), key(b"public v1")]);
        let rotated = Fingerprint::new(config, vec![key(b"private v2"), key(b"public v1")]);
        let missing = Fingerprint::new(config, vec![key(b"private v1"), None]);
        assert_eq!(before, same);
        assert_ne!(before, rotated);
        assert_ne!(before, missing);
        assert_eq!(before.config(), config);
    }

    #[test]
    fn targets_cover_the_directory_of_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir(&keys).unwrap();
        let files = [dir.path().join("gateway.yaml"), keys.join("private.pem"), keys.join("public.pem")];
        let t = WatchTargets::of(&files);
        let top = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(t.dirs, vec![top.clone(), top.join("keys")]);
        for name in ["gateway.yaml", "private.pem", "public.pem"] {
            assert!(t.names.contains(&OsString::from(name)), "{name}");
        }
    }

    fn event(kind: EventKind, paths: &[&str]) -> Event {
        let mut e = Event::new(kind);
        for p in paths {
            e = e.add_path(PathBuf::from(p));
        }
        e
    }

    #[test]
    fn only_events_about_the_config_count() {
        let names: HashSet<OsString> = ["gateway.yaml".into()].into_iter().collect();
        let modify = EventKind::Modify(ModifyKind::Any);
        assert!(is_relevant(&event(modify, &["/etc/nexora/gateway.yaml"]), &names));
        // vim / atomic writers: rename of a temp file onto the config.
        let rename = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert!(is_relevant(&event(rename, &["/etc/nexora/.gateway.yaml.swp", "/etc/nexora/gateway.yaml"]), &names));
        // Kubernetes: the ..data symlink is swapped.
        let create = EventKind::Create(CreateKind::Any);
        assert!(is_relevant(&event(create, &["/etc/nexora/..data"]), &names));
        // Other files in the directory, and reads, do not.
        assert!(!is_relevant(&event(modify, &["/etc/nexora/gateway.log"]), &names));
        assert!(!is_relevant(&event(EventKind::Access(AccessKind::Any), &["/etc/nexora/gateway.yaml"]), &names));
    }

    #[test]
    fn targets_follow_a_symlink_to_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("..2026_01");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("gateway.yaml"), "x").unwrap();
        std::os::unix::fs::symlink("..2026_01", dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/gateway.yaml", dir.path().join("gateway.yaml")).unwrap();
        let t = WatchTargets::of(&[dir.path().join("gateway.yaml")]);
        let top = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(t.dirs, vec![top.clone(), top.join("..2026_01")]);
        assert!(t.names.contains(&OsString::from("gateway.yaml")));
    }
}
