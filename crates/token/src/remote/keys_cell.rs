//! [`IssuerKeys`]: the key set of one external issuer as the verifiers see it, and
//! what they tell whoever fetches it.
//!
//! The fetcher (the gateway's, outside this crate) installs each good key set; the
//! verifiers read the current one lock-free. A token naming a `kid` the set lacks
//! asks for a refetch, at most once per cooldown however many tokens do so: a
//! stream of forged `kid`s cannot become a stream of requests to the identity
//! provider. The cell outlives config generations, so a reload neither refetches
//! nor forgets keys.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::jwks::KeySet;

/// Called when a refetch is wanted; the fetcher's wake-up.
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// The shared, swappable key set of one issuer.
pub struct IssuerKeys {
    current: ArcSwapOption<KeySet>,
    /// Unix milliseconds of the last kid-triggered refetch request.
    last_request_ms: AtomicU64,
    cooldown_ms: u64,
    wanted: AtomicBool,
    waker: OnceLock<Waker>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.current.load();
        f.debug_struct("IssuerKeys")
            .field("kids", &keys.as_ref().map(|k| k.kids()))
            .finish()
    }
}

impl IssuerKeys {
    /// An empty cell: until a set is installed, the issuer's tokens cannot be
    /// verified (the gateway answers them 503).
    pub fn new(cooldown: Duration) -> IssuerKeys {
        IssuerKeys {
            current: ArcSwapOption::empty(),
            last_request_ms: AtomicU64::new(0),
            cooldown_ms: u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX),
            wanted: AtomicBool::new(false),
            waker: OnceLock::new(),
        }
    }

    /// Replaces the key set (a successful fetch).
    pub fn install(&self, keys: KeySet) {
        self.current.store(Some(Arc::new(keys)));
    }

    /// Forgets the key set (the last good one is older than allowed).
    pub fn clear(&self) {
        self.current.store(None);
    }

    /// The current key set, if any.
    pub fn current(&self) -> Option<Arc<KeySet>> {
        self.current.load_full()
    }

    /// Sets the fetcher's wake-up (once; later calls are ignored).
    pub fn set_waker(&self, waker: Waker) {
        let _ = self.waker.set(waker);
    }

    /// Takes a pending refetch request, if there is one.
    pub fn take_refetch_request(&self) -> bool {
        self.wanted.swap(false, Ordering::AcqRel)
    }

    /// A token named a `kid` the current set lacks, at unix time `now_ms`: asks for a
    /// refetch unless one was asked for within the cooldown.
    pub(crate) fn unknown_kid(&self, now_ms: u64) {
        let last = self.last_request_ms.load(Ordering::Acquire);
        if now_ms.saturating_sub(last) < self.cooldown_ms && last != 0 {
            return;
        }
        // One caller wins the cooldown window; the others see the new time.
        if self
            .last_request_ms
            .compare_exchange(last, now_ms.max(1), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.wanted.store(true, Ordering::Release);
            if let Some(wake) = self.waker.get() {
                wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn unknown_kids_ask_for_one_refetch_per_cooldown() {
        let keys = IssuerKeys::new(Duration::from_secs(30));
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&woken);
        keys.set_waker(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        for i in 0..1000 {
            keys.unknown_kid(1_000_000 + i);
        }
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert!(keys.take_refetch_request());
        assert!(!keys.take_refetch_request());
        keys.unknown_kid(1_000_000 + 29_999);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        keys.unknown_kid(1_000_000 + 30_000);
        assert_eq!(woken.load(Ordering::SeqCst), 2);
    }
}
