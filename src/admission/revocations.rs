//! `Revocations`: every user's revocation point (docs/REFERENCE.md#revocation) in memory, so the hot path
//! refuses access tokens issued before it with one lock-free map lookup and no query.
//!
//! The map is an `ArcSwap`: readers load the current `Arc` without locking; the poller
//! (`auth::poll_revocations`, every `tokens.revocation_poll`, on the auth runtime) builds a new map from
//! `UserRepo::revocation_points` and swaps it in, so every replica converges within one
//! poll interval. Endpoints on this replica that move a point also [`Revocations::note`]
//! it at once. Points only ever move forward, so merging keeps the later of two values.
//!
//! The rule (docs/REFERENCE.md#revocation-boundary): a token is revoked when it was
//! issued before the point, both in unix milliseconds: the issue time comes from
//! the token's `jti` (a UUIDv7 this gateway minted) or, for a token of the legacy
//! Django stack, is the start of its `iat` second. So no token issued before a
//! change survives it, even in the same second, and a token issued after it (a
//! login right after a password change) passes.
//!
//! Points that can no longer revoke a live access token (older than the access
//! lifetime and leeway) are dropped at each poll, so the map stays the size of
//! the recent changes.

use std::collections::HashMap;

use arc_swap::ArcSwap;

/// User id → revocation point (unix milliseconds).
#[derive(Debug, Default)]
pub struct Revocations {
    points: ArcSwap<HashMap<i64, i64>>,
}

impl Revocations {
    /// No user revoked.
    pub fn new() -> Revocations {
        Revocations::default()
    }

    /// Whether a token of `user_id` (the claim's string form) was issued before the
    /// user's revocation point; `issued_ms` (unix milliseconds) is asked only when the
    /// user has one. Lock-free; allocates nothing. A `user_id` that is not an integer
    /// is never revoked (no such user here).
    pub fn is_revoked(&self, user_id: &str, issued_ms: impl FnOnce() -> u64) -> bool {
        let points = self.points.load();
        if points.is_empty() {
            return false;
        }
        let Ok(id) = user_id.parse::<i64>() else {
            return false;
        };
        points
            .get(&id)
            .is_some_and(|&after| after > 0 && i128::from(issued_ms()) < i128::from(after))
    }

    /// The revocation point of `user_id`, if any (tests, endpoints).
    pub fn point(&self, user_id: i64) -> Option<i64> {
        self.points.load().get(&user_id).copied()
    }

    /// Records a point moved on this replica, before the next poll sees it.
    pub fn note(&self, user_id: i64, revoked_after: i64) {
        self.points.rcu(|current| {
            let mut next = HashMap::clone(current);
            let entry = next.entry(user_id).or_insert(revoked_after);
            *entry = (*entry).max(revoked_after);
            next
        });
    }

    /// Installs the points read from the store, keeping any later point noted
    /// meanwhile, and dropping every point not after `still_matters_after` (no
    /// access token issued before it is still valid).
    pub fn replace(&self, loaded: Vec<(i64, i64)>, still_matters_after: i64) {
        self.points.rcu(|current| {
            let mut next: HashMap<i64, i64> = loaded.iter().copied().collect();
            for (id, after) in current.iter() {
                let entry = next.entry(*id).or_insert(*after);
                *entry = (*entry).max(*after);
            }
            next.retain(|_, after| *after > still_matters_after);
            next
        });
    }

    /// Number of users with a point.
    pub fn len(&self) -> usize {
        self.points.load().len()
    }

    /// True when no user has a point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_edges_of_the_revocation_millisecond() {
        let r = Revocations::new();
        assert!(!r.is_revoked("7", || 0));
        r.note(7, 1_000_500);
        assert!(r.is_revoked("7", || 1_000_499), "issued the millisecond before: refused");
        assert!(r.is_revoked("7", || 1_000_000), "issued earlier in the same second: refused");
        assert!(!r.is_revoked("7", || 1_000_500), "issued in the revocation millisecond: kept");
        assert!(!r.is_revoked("7", || 1_000_501));
        assert!(!r.is_revoked("8", || 10), "other users untouched");
        assert!(!r.is_revoked("seven", || 10));
    }

    #[test]
    fn the_issue_time_is_asked_only_of_users_with_a_point() {
        let r = Revocations::new();
        r.note(7, 1_000);
        assert!(!r.is_revoked("8", || panic!("no point for user 8: nothing to compare")));
    }

    #[test]
    fn points_that_can_no_longer_matter_are_dropped_at_a_poll() {
        let r = Revocations::new();
        r.note(1, 500);
        r.note(2, 5_000);
        r.replace(vec![(3, 400), (4, 9_000)], 1_000);
        assert_eq!((r.point(1), r.point(2), r.point(3), r.point(4)), (None, Some(5_000), None, Some(9_000)));
    }

    #[test]
    fn points_only_move_forward() {
        let r = Revocations::new();
        r.note(1, 500);
        r.replace(vec![(1, 400), (2, 300)], 0);
        assert_eq!(
            r.point(1),
            Some(500),
            "a stale poll does not undo a local revocation"
        );
        assert_eq!(r.point(2), Some(300));
        r.replace(vec![(1, 600)], 0);
        assert_eq!(r.point(1), Some(600));
        assert_eq!(r.point(2), Some(300));
        r.note(2, 100);
        assert_eq!(r.point(2), Some(300));
    }
}
