//! Faults of the SQLite file: its disk fills up (a small tmpfs mounted for the test),
//! and another process holds its write lock. The gateway process must stay up and keep
//! proxying; the identity endpoints answer a JSON error that is not a 500 (503 with
//! `Retry-After`: the fault clears up by itself); no half-written user is left behind;
//! and once the space or the lock is released everything works again without a restart.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::Connection;

use super::tables::usernames;
use super::*;
use crate::common::auth::{runtime, uniq, AuthGw};
use crate::common::access;

/// A tmpfs of `size` mounted on a fresh temp dir; unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts it, or says why not. CI (`CI` set, as `.ci/run` does) must never skip
    /// this fault silently, so there a refusal fails the test.
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output();
        let refusal = match out {
            Ok(o) if o.status.success() => return Some(SmallDisk { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        let message = format!("DISK-FULL FAULT NOT TESTED: cannot mount a tmpfs ({}); run as root", refusal.trim());
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("\n!!!!! {message} !!!!!\n");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk refuses (at most 64 MiB); returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        for _ in 0..(64 * 256) {
            if f.write_all(&chunk).and_then(|()| f.flush()).is_err() {
                return path;
            }
        }
        panic!("the tmpfs never filled up");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: the gateway is killed first, but a straggling handle must not keep it.
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Whether `reply` is the answer to a store that cannot write: never a 500, a JSON body.
fn refused_cleanly(what: &str, reply: &Reply) -> Result<(), String> {
    check_unavailable(reply).map_err(|e| format!("{what}: {e}"))
}

#[test]
fn sqlite_disk_full_then_freed() {
    // Fault: the filesystem holding the SQLite file (and its WAL) has no space left.
    let Some(disk) = SmallDisk::mount("4m") else { return };
    let url = format!("sqlite://{}/nexora.db", disk.path().display());
    let gw = AuthGw::start_on(&url, tempfile::tempdir().unwrap(), FAST_AUTH, "");
    let base = gw.gw.url.clone();
    let alice = uniq("alice");
    assert_eq!(try_post(&base, "/auth/register", &register_body(&alice)).unwrap().status, 201);

    let filler = disk.fill();
    let (mut requests, mut errors) = (1u64, Vec::new());
    // Writes fail once SQLite needs a page it cannot get; free pages may take a few.
    let mut refused = Vec::new();
    for _ in 0..40 {
        let name = uniq("full");
        let r = try_post(&base, "/auth/register", &register_body(&name)).unwrap();
        requests += 1;
        match r.status {
            201 => continue,
            _ => {
                if let Err(e) = refused_cleanly("register on a full disk", &r) {
                    errors.push(e);
                }
                refused.push(name);
                if refused.len() >= 3 {
                    break;
                }
            }
        }
    }
    assert!(!refused.is_empty(), "40 registrations on a full disk all succeeded: the fault was not exercised");
    let r = try_post(&base, "/auth/login", &login_body(&alice)).unwrap();
    requests += 1;
    if r.status != 200 {
        // A login must store its refresh token: refused like a registration.
        if let Err(e) = refused_cleanly("login on a full disk", &r) {
            errors.push(e);
        }
    }
    // The process is up and the hot path unaffected.
    let token = access("42", "CUSTOMER");
    for _ in 0..20 {
        requests += 1;
        match try_get(&base, "/api/orders/1", Some(&token)) {
            Ok(r) if r.status == 200 => {}
            other => errors.push(format!("hot path on a full disk: {other:?}")),
        }
    }

    // Space back: no restart, no half-written user, the refused names register now.
    std::fs::remove_file(filler).unwrap();
    let stored = usernames(&url);
    let mut lost = 0u64;
    for name in &refused {
        if stored.contains(name) {
            errors.push(format!("{name} was refused yet stored"));
        }
    }
    for name in &refused {
        let r = register_when_back(&base, name);
        requests += 1;
        if r.status != 201 {
            errors.push(format!("{name} after the space came back: {} {}", r.status, r.body));
        }
    }
    let r = try_post(&base, "/auth/login", &login_body(&alice)).unwrap();
    requests += 1;
    lost += u64::from(r.status != 200);
    // The operator is told, above debug level, even though the link's ping still works.
    let log = gw.gw.log();
    if !log.lines().any(|l| l.contains("WARN") && l.contains("disk is full")) {
        errors.push("no warning about the full disk in the log".into());
    }
    report("sqlite-disk-full", requests, errors.len() as u64, lost);
    assert!(errors.is_empty(), "{errors:#?}\nlog:\n{}", gw.gw.log());
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn sqlite_write_lock_held_by_another_process() {
    // Fault: something else holds the SQLite write lock (a backup tool, a stuck
    // `sqlite3` shell) for longer than the busy timeout.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nexora.db", dir.path().display());
    let gw = AuthGw::start_on(&url, tempfile::tempdir().unwrap(), FAST_AUTH, "");
    let base = gw.gw.url.clone();
    let rt = runtime();
    let mut holder = rt.block_on(sqlx::SqliteConnection::connect(&url)).unwrap();
    rt.block_on(sqlx::query("BEGIN EXCLUSIVE").execute(&mut holder)).unwrap();

    let mut errors = Vec::new();
    let name = uniq("locked");
    let start = Instant::now();
    let r = try_post(&base, "/auth/register", &register_body(&name)).unwrap();
    let waited = start.elapsed();
    if let Err(e) = refused_cleanly("register while locked", &r) {
        errors.push(e);
    }
    // Bounded by the busy timeout (5 s) and the operation timeout (10 s), never a hang.
    assert!(waited < Duration::from_secs(12), "register took {waited:?}");
    let token = access("42", "CUSTOMER");
    let mut requests = 1u64;
    for _ in 0..20 {
        requests += 1;
        match try_get(&base, "/api/orders/1", Some(&token)) {
            Ok(r) if r.status == 200 => {}
            other => errors.push(format!("hot path while locked: {other:?}")),
        }
    }
    rt.block_on(sqlx::query("ROLLBACK").execute(&mut holder)).unwrap();
    rt.block_on(holder.close()).unwrap();
    if usernames(&url).contains(&name) {
        errors.push(format!("{name} was refused yet stored"));
    }
    let r = register_when_back(&base, &name);
    requests += 1;
    if r.status != 201 {
        errors.push(format!("after the lock was released: {} {}", r.status, r.body));
    }
    let lost = u64::from(r.status == 201 && !usernames(&url).contains(&name));
    report("sqlite-locked", requests, errors.len() as u64, lost);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(lost, 0, "{name} answered 201 but not stored");
}

/// Registers `name`, retrying 503s for at most 10 s (the link notices the store is
/// back within its probe interval).
fn register_when_back(base: &str, name: &str) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = try_post(base, "/auth/register", &register_body(name)).unwrap();
        if r.status != 503 || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
