//! The threads password hashing runs on: a fixed set of OS threads named
//! `nexora-hash-N`, each at the lowest CPU priority the OS offers an unprivileged
//! process (nice 19 on Linux).
//!
//! argon2id is deliberately expensive (tens of ms of one core per hash). On a machine
//! where the proxy's workers are busy, the scheduler must always prefer them: a login
//! flood then slows logins down, never proxied traffic. At nice 19 a hashing thread
//! gets about 1.5% of a core that a nice-0 proxy worker also wants (CFS weights 15
//! against 1024), and all of an idle one. Measured with `benches/load/identity.sh`:
//! proxied p99 during a login flood 0.78–0.97x its value without one at nice 19, but
//! 2.7–2.9x at nice 10 (a hash then runs whole scheduler slices ahead of the proxy).
//! The price: on a host where other busy processes share the cores, logins crawl
//! (a suite of tests sharing the machine with a compiler saw 10 s registrations); the
//! gateway is meant to own its host. Lowering a thread's own priority needs no
//! privilege; where the OS refuses (seccomp filters, other platforms) hashing still
//! works, at normal priority, and a warning says so once.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use crossbeam_channel::{unbounded, Sender};
use tokio::sync::oneshot;

/// The nice value hashing threads run at (the lowest priority: 19).
pub const HASH_THREAD_NICE: i32 = 19;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why work handed to the pool produced no result.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The OS refused to start a hashing thread (raise the process' thread limit).
    #[error("cannot start a password-hashing thread: {0}")]
    Spawn(std::io::Error),
    /// Every hashing thread is gone (they exit only when the pool is dropped).
    #[error("the password-hashing threads have stopped")]
    Stopped,
    /// The hashing work panicked; the thread survived and keeps serving.
    #[error("password hashing panicked")]
    Panicked,
}

/// A fixed pool of low-priority hashing threads. The threads exit when the pool is
/// dropped and their queue is empty.
#[derive(Debug)]
pub(super) struct HashPool {
    jobs: Sender<Job>,
}

impl HashPool {
    /// Starts `threads` (at least one) hashing threads.
    pub(super) fn start(threads: usize) -> Result<HashPool, PoolError> {
        let (jobs, queue) = unbounded::<Job>();
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("nexora-hash-{n}"))
                .spawn(move || {
                    lower_own_priority();
                    for job in queue {
                        job();
                    }
                })
                .map_err(PoolError::Spawn)?;
        }
        Ok(HashPool { jobs })
    }

    /// Runs `work` on a hashing thread and awaits its result. A panic in `work` becomes
    /// [`PoolError::Panicked`] and leaves the thread serving.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work)).map_err(|_| PoolError::Panicked);
            // The caller may have gone away (client disconnected): nothing to tell.
            let _ = done.send(outcome);
        });
        self.jobs.send(job).map_err(|_| PoolError::Stopped)?;
        result.await.map_err(|_| PoolError::Stopped)?
    }
}

/// Puts the calling thread at [`HASH_THREAD_NICE`]. On Linux `setpriority(PRIO_PROCESS,
/// tid)` changes that one thread only.
#[cfg(target_os = "linux")]
fn lower_own_priority() {
    let me = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(me), HASH_THREAD_NICE) {
        warn_once(&e.to_string());
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_own_priority() {
    warn_once("thread priorities are only lowered on Linux");
}

fn warn_once(why: &str) {
    static WARNED: Once = Once::new();
    WARNED.call_once(|| {
        tracing::warn!(error = why, "password hashing runs at normal CPU priority: a login flood can slow proxied traffic");
    });
}

/// The nice value of the calling thread (tests).
#[cfg(all(test, target_os = "linux"))]
pub(super) fn own_nice() -> i32 {
    rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap_or(i32::MIN)
}
