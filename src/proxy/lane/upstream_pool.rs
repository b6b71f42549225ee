//! The fast lane's keep-alive pool of idle HTTP/1 upstream connections.
//!
//! Pingora's own pool (in its `TransportConnector`) gives every idle
//! connection a watcher task: each release allocates a shared locked slot,
//! spawns the task and arms its timer; each reuse signals the task and
//! waits for it to let go. On a GET that is a spawn, two extra task polls, a
//! timer and several locks per request — about 7 % of the instructions.
//!
//! Here an idle connection is a plain entry in a shard of the pool (one
//! shard per worker thread, so the lock is almost never contended), and
//! whether it can still carry a request is asked when it is taken, and when
//! it is put back: a one-byte read that must not complete. Tokio caches a
//! socket's readiness, so for a quiet connection that costs no system call.
//! A connection the upstream closed is dropped, and so is one on which the
//! upstream sent anything while nothing was asked: those bytes would be read
//! as the answer to the next request, someone else's. A sweep every
//! [`SWEEP_EVERY`] closes what expired (the peer's `idle_timeout`) or was
//! closed by the upstream, so that a gateway without traffic does not keep
//! half-closed sockets.
//!
//! A connection is handed out only for the peer it was made for: it is
//! filed under the peer's `reuse_hash` (its address, scheme, SNI and
//! certificate settings) and its address, and both are compared. The pool
//! owns every socket in it, so, unlike a pool that files connections by
//! descriptor, a socket cannot change identity while it waits, and no
//! `getpeername` is needed on reuse.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError, Weak};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use pingora::protocols::l4::socket::SocketAddr;
use pingora::protocols::Stream;
use pingora::upstreams::peer::{HttpPeer, Peer};
use tokio::io::AsyncReadExt;

/// How often idle connections are checked when no request takes them.
pub(super) const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One idle connection and what it may be reused for.
struct Idle {
    key: u64,
    address: SocketAddr,
    /// When it stops being reusable (`idle_timeout`), if ever.
    expires: Option<Instant>,
    stream: Stream,
}

impl Idle {
    fn serves(&self, key: u64, address: &SocketAddr) -> bool {
        self.key == key && self.address == *address
    }

    fn expired(&self, now: Instant) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

/// Idle upstream connections, in shards; each shard in the order they were
/// put back, the most recent last.
pub(super) struct UpstreamPool {
    shards: Box<[Mutex<VecDeque<Idle>>]>,
    per_shard: usize,
    sweeper: Once,
}

/// The shard a worker thread uses, given out round robin as threads first
/// touch a pool.
fn shard_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    SHARD.with(|shard| {
        if shard.get() == usize::MAX {
            shard.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        shard.get()
    })
}

impl UpstreamPool {
    /// A pool that keeps at most about `size` idle connections in all,
    /// spread over `threads` shards (`server.upstream_keepalive_pool` and
    /// `server.threads`). A size of 0 keeps none.
    pub(super) fn new(size: usize, threads: usize) -> Arc<UpstreamPool> {
        let shards = threads.max(1);
        Arc::new(UpstreamPool {
            shards: (0..shards).map(|_| Mutex::new(VecDeque::new())).collect(),
            per_shard: size.div_ceil(shards),
            sweeper: Once::new(),
        })
    }

    fn shard(&self) -> MutexGuard<'_, VecDeque<Idle>> {
        lock(&self.shards[shard_of_this_thread() % self.shards.len()])
    }

    /// An idle connection to `peer` that can carry a request now, the most
    /// recently used first; the unusable ones met on the way are closed.
    pub(super) fn take(&self, peer: &HttpPeer) -> Option<Stream> {
        let key = peer.reuse_hash();
        let address = peer.address();
        loop {
            let idle = {
                let mut shard = self.shard();
                let at = shard.iter().rposition(|idle| idle.serves(key, address))?;
                shard.remove(at)?
            };
            if idle.expired(Instant::now()) {
                continue;
            }
            let mut stream = idle.stream;
            if is_quiet(&mut stream) {
                return Some(stream);
            }
        }
    }

    /// Keeps `stream`, which has just finished an exchange with `peer`, for
    /// reuse within the peer's `idle_timeout`; the oldest connection of the
    /// shard is closed when it is full.
    pub(super) fn put(self: &Arc<Self>, peer: &HttpPeer, mut stream: Stream) {
        if self.per_shard == 0 || !is_quiet(&mut stream) {
            return;
        }
        self.sweeper.call_once(|| spawn_sweeper(Arc::downgrade(self)));
        let idle = Idle {
            key: peer.reuse_hash(),
            address: peer.address().clone(),
            expires: peer.options.idle_timeout.map(|after| Instant::now() + after),
            stream,
        };
        let evicted = {
            let mut shard = self.shard();
            let evicted = if shard.len() >= self.per_shard { shard.pop_front() } else { None };
            shard.push_back(idle);
            evicted
        };
        // Closed outside the lock.
        drop(evicted);
    }

    /// Closes every idle connection that expired or can no longer carry a
    /// request.
    pub(super) fn sweep(&self) {
        let now = Instant::now();
        for shard in self.shards.iter() {
            let mut closing = Vec::new();
            {
                let mut shard = lock(shard);
                let mut at = 0;
                while at < shard.len() {
                    let idle = &mut shard[at];
                    if !idle.expired(now) && is_quiet(&mut idle.stream) {
                        at += 1;
                    } else {
                        closing.extend(shard.remove(at));
                    }
                }
            }
            drop(closing);
        }
    }

    /// Closes every idle connection (the gateway is stopping).
    pub(super) fn clear(&self) {
        for shard in self.shards.iter() {
            let closing: Vec<Idle> = lock(shard).drain(..).collect();
            drop(closing);
        }
    }

    /// How many idle connections the pool holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }
}

/// A shard's lock; nothing panics while holding it, but a poisoned one is
/// still a valid list of connections.
fn lock(shard: &Mutex<VecDeque<Idle>>) -> MutexGuard<'_, VecDeque<Idle>> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sweeps `pool` every [`SWEEP_EVERY`] for as long as it exists, on the
/// runtime of the first connection put back.
fn spawn_sweeper(pool: Weak<UpstreamPool>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP_EVERY).await;
            match pool.upgrade() {
                Some(pool) => pool.sweep(),
                None => return,
            }
        }
    });
}

/// Whether an idle connection has nothing to read: not closed, not broken,
/// and no bytes the upstream sent unasked. A read that would have to wait
/// is the only good answer, and it is not waited for.
fn is_quiet(stream: &mut Stream) -> bool {
    let mut byte = [0u8; 1];
    match tokio::task::unconstrained(stream.read(&mut byte)).now_or_never() {
        None => true,
        Some(Ok(0)) | Some(Err(_)) => false,
        Some(Ok(_)) => {
            tracing::warn!("an idle upstream connection sent data unasked; closing it");
            false
        }
    }
}

#[cfg(test)]
mod tests;
