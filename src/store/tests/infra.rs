//! Connecting, migrating, strict mode and failure behaviour.

use std::time::{Duration, Instant};

use crate::store::tests::harness::TempMySql;
use crate::store::{Dialect, Store, StoreError, ACQUIRE_TIMEOUT};

pub(super) async fn migrate_is_idempotent(store: Store) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

pub(super) async fn closed_pool_is_unavailable(store: Store) {
    store.close().await;
    assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));
    assert!(matches!(store.users().by_id(1).await, Err(StoreError::Unavailable(_))));
}

#[tokio::test]
async fn memory_store_is_one_shared_database() {
    let store = Store::connect("sqlite::memory:", 4).await.unwrap();
    assert_eq!(store.dialect(), Dialect::Sqlite);
    store.migrate().await.unwrap();
    let created = store.users().create(super::users::new_user("olga", ""), super::users::now()).await.unwrap();
    // Several connections see the same data.
    let reads: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.users().by_id(created.id).await.unwrap().is_some() })
        })
        .collect();
    for r in reads {
        assert!(r.await.unwrap());
    }
    assert_eq!(store.sql_mode().await.unwrap(), None);
}

#[tokio::test]
async fn mysql_down_is_unavailable_promptly() {
    // Nothing listens on port 1: connection refused on every attempt.
    let start = Instant::now();
    let store = Store::connect("mysql://root@127.0.0.1:1/nexora", 2).await.unwrap();
    assert_eq!(store.dialect(), Dialect::MySql);
    assert!(start.elapsed() < Duration::from_secs(1), "connect is lazy");
    let err = store.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(matches!(store.users().by_username("admin").await, Err(StoreError::Unavailable(_))));
    assert!(matches!(store.refresh_tokens().check(&"0".repeat(32), 1).await, Err(StoreError::Unavailable(_))));
    assert!(matches!(store.migrate().await, Err(StoreError::Unavailable(_))));
    assert!(start.elapsed() < ACQUIRE_TIMEOUT * 4 + Duration::from_secs(2), "{:?}", start.elapsed());
}

#[tokio::test]
async fn unopenable_sqlite_file_is_a_setup_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"").unwrap();
    let err = Store::connect(&format!("sqlite://{}/sub/gate.db", blocker.display()), 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
    assert!(err.to_string().contains("cannot create the directory"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_every_connection_is_strict() {
    let Some(db) = TempMySql::create().await else { return };
    let store = Store::connect(&db.url, 5).await.unwrap();
    let result = tokio::spawn(check_strict(store.clone())).await;
    store.close().await;
    db.drop_database().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn check_strict(store: Store) {
    let crate::store::Pool::MySql(pool) = &store.pool else { panic!("not mysql") };
    // Hold five connections at once, so five distinct sessions are checked.
    let mut conns = Vec::new();
    for _ in 0..5 {
        conns.push(pool.acquire().await.unwrap());
    }
    for conn in &mut conns {
        let (mode, tz): (String, String) =
            sqlx::query_as("SELECT CAST(@@SESSION.sql_mode AS CHAR), CAST(@@SESSION.time_zone AS CHAR)")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
        assert!(mode.split(',').any(|m| m == "STRICT_ALL_TABLES"), "{mode}");
        assert_eq!(tz, "+00:00");
    }
    drop(conns);
    assert!(store.sql_mode().await.unwrap().unwrap().contains("STRICT_ALL_TABLES"));
    // Strict mode at work: an over-long value is an error, not a silent truncation.
    store.migrate().await.unwrap();
    let too_long = sqlx::query(
        "INSERT INTO users (username, username_canonical, email, password_hash, role, phone, address, date_joined) \
         VALUES (?, ?, '', 'x', 'CUSTOMER', '', '', NOW())",
    )
    .bind("a".repeat(151))
    .bind("b")
    .execute(pool)
    .await;
    assert!(too_long.is_err(), "strict mode refuses a 151-character username");
    // The tables and their collations are what the migration declares, not the
    // database default (utf8mb4_general_ci in these tests).
    let collations: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLLATION_NAME AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME IN ('username', 'username_canonical')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (column, collation) in collations {
        match column.as_str() {
            "username" => assert_eq!(collation.as_deref(), Some("utf8mb4_bin")),
            _ => assert_eq!(collation, None, "VARBINARY has no collation"),
        }
    }
    let engines: Vec<(String,)> = sqlx::query_as(
        "SELECT CAST(ENGINE AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('users', 'refresh_tokens')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(engines, vec![("InnoDB".to_owned(),), ("InnoDB".to_owned(),)]);
}
