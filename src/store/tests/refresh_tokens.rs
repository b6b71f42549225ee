//! `RefreshTokenRepo` cases, identical on both dialects (THREATS §8).

use crate::store::tests::users::{new_user, now};
use crate::store::{Consumed, Store, StoreError};

fn jti(n: u32) -> String {
    format!("{n:032x}")
}

async fn user(store: &Store, name: &str) -> i64 {
    store.users().create(new_user(name, ""), now()).await.unwrap().id
}

pub(super) async fn consume_reports_why(store: Store) {
    let uid = user(&store, "ivy").await;
    let tokens = store.refresh_tokens();
    let family = jti(100);
    for n in 1..=3 {
        tokens.insert(&jti(n), uid, &family, 1_000, 10).await.unwrap();
    }
    assert_eq!(tokens.consume(&jti(1), 20).await.unwrap(), Consumed::Fresh { user_id: uid, family: family.clone() });
    assert_eq!(tokens.consume(&jti(1), 21).await.unwrap(), Consumed::Reused { family: family.clone() });
    assert!(tokens.revoke(&jti(2)).await.unwrap());
    assert!(!tokens.revoke(&jti(2)).await.unwrap(), "already revoked");
    assert_eq!(tokens.consume(&jti(2), 22).await.unwrap(), Consumed::Revoked);
    assert_eq!(tokens.consume(&jti(3), 1_000).await.unwrap(), Consumed::Expired, "expires_at is exclusive");
    assert_eq!(tokens.consume(&jti(99), 22).await.unwrap(), Consumed::Unknown);
    // Upper-case or space-padded spellings of a jti are other jtis, on every dialect.
    let lower = "ab".repeat(16);
    tokens.insert(&lower, uid, &family, 1_000, 10).await.unwrap();
    assert_eq!(tokens.consume(&lower.to_uppercase(), 23).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.consume(&format!("{lower} "), 23).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.consume(&lower, 23).await.unwrap(), Consumed::Fresh { user_id: uid, family: family.clone() });

    let dup = tokens.insert(&jti(1), uid, &family, 1_000, 10).await;
    assert!(matches!(dup, Err(StoreError::Duplicate { field: "jti" })), "{dup:?}");
    let long = tokens.insert(&"é".repeat(17), uid, &family, 1_000, 10).await;
    assert!(matches!(long, Err(StoreError::TooLong { field: "jti", max: 32 })), "{long:?}");
    let long = tokens.rotate(&jti(1), &"x".repeat(33), 1_000, 10).await;
    assert!(matches!(long, Err(StoreError::TooLong { field: "jti", max: 32 })), "{long:?}");
    let orphan = tokens.insert(&jti(50), uid + 1000, &family, 1_000, 10).await;
    assert!(matches!(orphan, Err(StoreError::NotFound)), "{orphan:?}");
}

pub(super) async fn rotate_then_reuse(store: Store) {
    let uid = user(&store, "jack").await;
    let tokens = store.refresh_tokens();
    let family = jti(1);
    tokens.insert(&jti(1), uid, &family, 1_000, 10).await.unwrap();
    let fresh = tokens.rotate(&jti(1), &jti(2), 2_000, 20).await.unwrap();
    assert_eq!(fresh, Consumed::Fresh { user_id: uid, family: family.clone() });
    // R1 again: reuse detected; the caller revokes the family, R2 dies with it.
    assert_eq!(tokens.rotate(&jti(1), &jti(3), 2_000, 30).await.unwrap(), Consumed::Reused { family: family.clone() });
    assert_eq!(tokens.consume(&jti(3), 31).await.unwrap(), Consumed::Unknown, "a failed rotation inserts nothing");
    assert_eq!(tokens.revoke_family(&family).await.unwrap(), 2, "R1 (used) and R2");
    assert_eq!(tokens.revoke_family(&family).await.unwrap(), 0, "already revoked");
    assert_eq!(tokens.rotate(&jti(2), &jti(4), 2_000, 40).await.unwrap(), Consumed::Revoked);
    // Expired and unknown tokens rotate into nothing.
    tokens.insert(&jti(10), uid, &jti(10), 50, 10).await.unwrap();
    assert_eq!(tokens.rotate(&jti(10), &jti(11), 2_000, 50).await.unwrap(), Consumed::Expired);
    assert_eq!(tokens.rotate(&jti(12), &jti(13), 2_000, 50).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.consume(&jti(11), 51).await.unwrap(), Consumed::Unknown);
}

pub(super) async fn parallel_rotates_of_one_jti(store: Store) {
    let uid = user(&store, "kate").await;
    let family = jti(7);
    store.refresh_tokens().insert(&jti(7), uid, &family, 10_000, 10).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.refresh_tokens().rotate(&jti(7), &jti(1_000 + i), 10_000, 20).await })
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
        assert_eq!(store.refresh_tokens().consume(&jti(1_000 + i), 30).await.unwrap(), expected, "new jti {i}");
    }
}

pub(super) async fn parallel_consumes_of_one_jti(store: Store) {
    let uid = user(&store, "liam").await;
    store.refresh_tokens().insert(&jti(8), uid, &jti(8), 10_000, 10).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.refresh_tokens().consume(&jti(8), 20).await })
        })
        .collect();
    let mut fresh = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Consumed::Fresh { .. } => fresh += 1,
            Consumed::Reused { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(fresh, 1);
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
    assert_eq!(tokens.consume(&jti(1), 20).await.unwrap(), Consumed::Unknown);
    assert_eq!(tokens.consume(&jti(4), 20).await.unwrap(), Consumed::Revoked);
}
