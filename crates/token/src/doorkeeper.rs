//! `Doorkeeper`: keeps one-off tokens out of a full verified-token cache.
//!
//! When the cache is full, moka admits a new entry only if it is used more
//! often than the entry it would evict (TinyLFU). A token seen once — a
//! cache-busting flood, or more users than the cache holds — is inserted,
//! then thrown out by that admission: every such request pays the insert
//! and its removal on top of the verification. The doorkeeper in front of a
//! full cache lets a token in only on its second sighting, remembered in a
//! bitset of token digests (two bits each, a Bloom filter), so a one-off
//! token costs two atomic bit-sets instead. The bitset is cleared once as
//! many tokens as the cache holds have been marked, so it forgets as fast as
//! the cache turns over. A false "seen before" only lets a token in early.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Bits per remembered token: with two bits each, about 5 % false "seen".
const BITS_PER_TOKEN: u64 = 8;

/// Remembers which token digests were seen since it was last cleared.
pub(crate) struct Doorkeeper {
    words: Box<[AtomicU64]>,
    /// `bits - 1`; the bit count is a power of two.
    mask: u64,
    marked: AtomicUsize,
    clear_after: usize,
}

impl Doorkeeper {
    /// A doorkeeper for a cache of `entries` entries.
    pub(crate) fn new(entries: u64) -> Doorkeeper {
        let bits = entries.saturating_mul(BITS_PER_TOKEN).max(1024).next_power_of_two();
        let words = (0..bits / 64).map(|_| AtomicU64::new(0)).collect();
        Doorkeeper {
            words,
            mask: bits - 1,
            marked: AtomicUsize::new(0),
            clear_after: usize::try_from(entries).unwrap_or(usize::MAX).max(1),
        }
    }

    /// Whether `digest` (a SHA-256, so its bytes are uniform) was seen since
    /// the last clear; marks it seen.
    pub(crate) fn seen(&self, digest: &[u8; 32]) -> bool {
        let at = |range: std::ops::Range<usize>| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&digest[range]);
            u64::from_le_bytes(word) & self.mask
        };
        let first = self.mark(at(0..8));
        let second = self.mark(at(8..16));
        if first && second {
            return true;
        }
        if self.marked.fetch_add(1, Ordering::Relaxed) + 1 >= self.clear_after {
            self.clear();
        }
        false
    }

    /// Sets `bit`; whether it was set already.
    fn mark(&self, bit: u64) -> bool {
        let word = &self.words[usize::try_from(bit / 64).unwrap_or(0)];
        let mask = 1u64 << (bit % 64);
        word.fetch_or(mask, Ordering::Relaxed) & mask != 0
    }

    fn clear(&self) {
        self.marked.store(0, Ordering::Relaxed);
        for word in self.words.iter() {
            word.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn digest(n: u32) -> [u8; 32] {
        Sha256::digest(n.to_le_bytes()).into()
    }

    #[test]
    fn a_token_is_seen_on_its_second_sighting_only() {
        let door = Doorkeeper::new(1000);
        assert!(!door.seen(&digest(1)));
        assert!(door.seen(&digest(1)));
        assert!(door.seen(&digest(1)));
        let fresh = (2..500).filter(|&n| door.seen(&digest(n))).count();
        assert!(fresh < 25, "{fresh} of 498 new tokens taken as seen: too many false positives");
    }

    #[test]
    fn it_forgets_once_as_many_tokens_as_the_cache_holds_were_marked() {
        let door = Doorkeeper::new(100);
        assert!(!door.seen(&digest(7)));
        for n in 1000..1099 {
            door.seen(&digest(n));
        }
        // The 100th mark cleared the set: 7 is new again.
        assert!(!door.seen(&digest(7)));
    }
}
