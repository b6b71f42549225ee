//! `RefreshTokenRepo` cases, identical on both dialects (docs/REFERENCE.md#sec-refresh-rotation).

use crate::store::tests::users::{new_user, now};
use crate::store::{Consumed, Store, StoreError};

fn jti(n: u32) -> String {
    format!("{n:032x}")
}

async fn user(store: &Store, name: &str) -> i64 {
    store.users().create(new_user(name, ""), now()).await.unwrap().id
}

pub(super) async fn rotate_reports_why(store: Store) {
    let uid = user(&store, "ivy").await;
    let tokens = store.refresh_tokens();
    let family = jti(100);
    for n in 1..=3 {
        tokens.insert(&jti(n), uid, &family, 1_000, 10).await.unwrap();
    }
    let fresh = Consumed::Fresh { user_id: uid, family: family.clone() };
    assert_eq!(tokens.rotate(&jti(1), uid, &family, &jti(201), 1_000, 20).await.unwrap(), fresh);
    assert_eq!(tokens.rotate(&jti(1), uid, &family, &jti(202), 1_000, 21).await.unwrap(), Consumed::Reused { family: family.clone() });
    assert_eq!(tokens.check(&jti(1), 21).await.unwrap(), Consumed::Reused { family: family.clone() }, "a rotated token reads as used");
    assert!(tokens.revoke(&jti(2)).await.unwrap());
    assert!(!tokens.revoke(&jti(2)).await.unwrap(), "already revoked");
    assert_eq!(tokens.rotate(&jti(2), uid, &family, &jti(203), 1_000, 22).await.unwrap(), Consumed::Revoked);
    assert_eq!(tokens.rotate(&jti(3), uid, &family, &jti(204), 1_000, 1_000).await.unwrap(), Consumed::Expired, "expires_at is exclusive");
    assert_eq!(tokens.rotate(&jti(99), uid, &family, &jti(205), 1_000, 22).await.unwrap(), Consumed::Unknown);
    // The owner and family the claims carry must be the row's: anything else was never issued.
    assert_eq!(tokens.rotate(&jti(3), uid + 1, &family, &jti(206), 1_000, 22).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.rotate(&jti(3), uid, &jti(101), &jti(207), 1_000, 22).await.unwrap(), Consumed::Unknown);
    for n in 203..=207 {
        assert_eq!(tokens.check(&jti(n), 22).await.unwrap(), Consumed::Unknown, "a refused rotation wrote {n}");
    }
    // Upper-case or space-padded spellings of a jti are other jtis, on every dialect.
    let lower = "ab".repeat(16);
    tokens.insert(&lower, uid, &family, 1_000, 10).await.unwrap();
    assert_eq!(tokens.rotate(&lower.to_uppercase(), uid, &family, &jti(208), 1_000, 23).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.rotate(&format!("{lower} "), uid, &family, &jti(209), 1_000, 23).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.rotate(&lower, uid, &family, &jti(210), 1_000, 23).await.unwrap(), fresh);

    let dup = tokens.insert(&jti(1), uid, &family, 1_000, 10).await;
    assert!(matches!(dup, Err(StoreError::Duplicate { field: "jti" })), "{dup:?}");
    let dup = tokens.rotate(&jti(201), uid, &family, &jti(2), 1_000, 24).await;
    assert!(matches!(dup, Err(StoreError::Duplicate { field: "jti" })), "a successor jti already stored: {dup:?}");
    let long = tokens.insert(&"é".repeat(17), uid, &family, 1_000, 10).await;
    assert!(matches!(long, Err(StoreError::TooLong { field: "jti", max: 32 })), "{long:?}");
    let long = tokens.rotate(&jti(1), uid, &family, &"x".repeat(33), 1_000, 10).await;
    assert!(matches!(long, Err(StoreError::TooLong { field: "jti", max: 32 })), "{long:?}");
    let orphan = tokens.insert(&jti(50), uid + 1000, &family, 1_000, 10).await;
    assert!(matches!(orphan, Err(StoreError::NotFound)), "{orphan:?}");
}

/// What consuming a token did before rotation recorded successors.
async fn mark_used_the_old_way(store: &Store, jti: &str, at: i64) {
    let done = crate::store::on_pool!(store, pool => sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE jti = ?")
        .bind(at)
        .bind(jti)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
    .unwrap();
    assert_eq!(done, 1);
}

/// Rows consumed before `parent_jti` existed carry `used_at` and no successor: they must
/// still read, and rotate, as used.
pub(super) async fn legacy_used_rows_stay_used(store: Store) {
    let uid = user(&store, "ivan").await;
    let tokens = store.refresh_tokens();
    tokens.insert(&jti(1), uid, &jti(1), 1_000, 10).await.unwrap();
    mark_used_the_old_way(&store, &jti(1), 15).await;
    let reused = Consumed::Reused { family: jti(1) };
    assert_eq!(tokens.check(&jti(1), 20).await.unwrap(), reused);
    assert_eq!(tokens.rotate(&jti(1), uid, &jti(1), &jti(2), 1_000, 20).await.unwrap(), reused);
    assert_eq!(tokens.check(&jti(2), 20).await.unwrap(), Consumed::Unknown);
}

pub(super) async fn rotate_then_reuse(store: Store) {
    let uid = user(&store, "jack").await;
    let tokens = store.refresh_tokens();
    let family = jti(1);
    tokens.insert(&jti(1), uid, &family, 1_000, 10).await.unwrap();
    let fresh = tokens.rotate(&jti(1), uid, &family, &jti(2), 2_000, 20).await.unwrap();
    assert_eq!(fresh, Consumed::Fresh { user_id: uid, family: family.clone() });
    assert_eq!(tokens.check(&jti(2), 21).await.unwrap(), fresh, "the successor is live");
    // R1 again: reuse detected; the caller revokes the family, R2 dies with it.
    assert_eq!(tokens.rotate(&jti(1), uid, &family, &jti(3), 2_000, 30).await.unwrap(), Consumed::Reused { family: family.clone() });
    assert_eq!(tokens.check(&jti(3), 31).await.unwrap(), Consumed::Unknown, "a failed rotation inserts nothing");
    assert_eq!(tokens.revoke_family(&family).await.unwrap(), 2, "R1 (used) and R2");
    assert_eq!(tokens.revoke_family(&family).await.unwrap(), 0, "already revoked");
    assert_eq!(tokens.rotate(&jti(2), uid, &family, &jti(4), 2_000, 40).await.unwrap(), Consumed::Revoked);
    // Expired and unknown tokens rotate into nothing.
    tokens.insert(&jti(10), uid, &jti(10), 50, 10).await.unwrap();
    assert_eq!(tokens.rotate(&jti(10), uid, &jti(10), &jti(11), 2_000, 50).await.unwrap(), Consumed::Expired);
    assert_eq!(tokens.rotate(&jti(12), uid, &jti(12), &jti(13), 2_000, 50).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.check(&jti(11), 51).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.check(&jti(13), 51).await.unwrap(), Consumed::Unknown);
}

pub(super) async fn parallel_rotates_of_one_jti(store: Store) {
    let uid = user(&store, "kate").await;
    let family = jti(7);
    store.refresh_tokens().insert(&jti(7), uid, &family, 10_000, 10).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.refresh_tokens().rotate(&jti(7), uid, &jti(7), &jti(1_000 + i), 10_000, 20).await })
        })
        .collect();
    let mut fresh = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap().unwrap() {
            Consumed::Fresh { user_id, family: f } => {
                assert_eq!((user_id, f.as_str()), (uid, family.as_str()));
                fresh.push(i as u32);
            }
            Consumed::Reused { family: f } => assert_eq!(f, family),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(fresh.len(), 1, "exactly one rotation wins");
    // Exactly the winner's new token exists.
    for i in 0..20 {
        let expected = if fresh.contains(&i) {
            Consumed::Fresh { user_id: uid, family: family.clone() }
        } else {
            Consumed::Unknown
        };
        assert_eq!(store.refresh_tokens().check(&jti(1_000 + i), 30).await.unwrap(), expected, "new jti {i}");
    }
}

pub(super) async fn revocations(store: Store) {
    let a = user(&store, "mia").await;
    let b = user(&store, "noah").await;
    let tokens = store.refresh_tokens();
    for n in 1..=3 {
        tokens.insert(&jti(n), a, &jti(1), 100, 10).await.unwrap();
    }
    tokens.insert(&jti(4), b, &jti(4), 5_000, 10).await.unwrap();
    assert_eq!(tokens.revoke_user(a).await.unwrap(), 3);
    assert_eq!(tokens.revoke_user(a).await.unwrap(), 0);
    assert_eq!(tokens.revoke_family(&jti(4)).await.unwrap(), 1);
    assert_eq!(tokens.revoke_family(&jti(99)).await.unwrap(), 0);
    assert!(!tokens.revoke(&jti(99)).await.unwrap());
    assert_eq!(tokens.delete_expired(101).await.unwrap(), 3);
    assert_eq!(tokens.check(&jti(1), 20).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.check(&jti(4), 20).await.unwrap(), Consumed::Revoked);
}

pub(super) async fn check_does_not_consume(store: Store) {
    let uid = user(&store, "olive").await;
    let tokens = store.refresh_tokens();
    tokens.insert(&jti(1), uid, &jti(9), 1_000, 10).await.unwrap();
    let fresh = Consumed::Fresh { user_id: uid, family: jti(9) };
    assert_eq!(tokens.check(&jti(1), 20).await.unwrap(), fresh);
    assert_eq!(tokens.check(&jti(1), 21).await.unwrap(), fresh, "checking twice is fine");
    assert_eq!(tokens.check(&jti(1), 1_000).await.unwrap(), Consumed::Expired);
    assert_eq!(tokens.check(&jti(2), 20).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.rotate(&jti(1), uid, &jti(9), &jti(5), 1_000, 30).await.unwrap(), fresh, "still unused after checks");
    assert_eq!(tokens.check(&jti(1), 31).await.unwrap(), Consumed::Reused { family: jti(9) });
    tokens.insert(&jti(3), uid, &jti(9), 1_000, 10).await.unwrap();
    tokens.revoke(&jti(3)).await.unwrap();
    assert_eq!(tokens.check(&jti(3), 31).await.unwrap(), Consumed::Revoked);
}

pub(super) async fn pruning_removes_expired_rows_in_batches_and_nothing_live(store: Store) {
    let uid = user(&store, "pruned").await;
    let tokens = store.refresh_tokens();
    // Twelve tokens expired at 100..112, three live until 10_000.
    for n in 0..12u32 {
        tokens.insert(&jti(n), uid, &jti(200), 100 + i64::from(n), 10).await.unwrap();
    }
    for n in 50..53u32 {
        tokens.insert(&jti(n), uid, &jti(201), 10_000, 10).await.unwrap();
    }
    assert_eq!(tokens.prune_expired(500, 5).await.unwrap(), 5, "one batch at most");
    assert_eq!(tokens.prune_expired(500, 5).await.unwrap(), 5);
    assert_eq!(tokens.prune_expired(500, 5).await.unwrap(), 2);
    assert_eq!(tokens.prune_expired(500, 5).await.unwrap(), 0, "idempotent once done");
    for n in 50..53u32 {
        let live = Consumed::Fresh { user_id: uid, family: jti(201) };
        assert_eq!(tokens.check(&jti(n), 20).await.unwrap(), live, "live token {n} kept");
    }
    // Only what expired before the cut goes.
    tokens.insert(&jti(60), uid, &jti(202), 600, 10).await.unwrap();
    assert_eq!(tokens.prune_expired(600, 100).await.unwrap(), 0);
    assert_eq!(tokens.prune_expired(601, 100).await.unwrap(), 1);
}
