//! Which real database errors are "retry later" (503) and which are failures (500):
//! produced on a real SQLite file and a real MySQL/MariaDB server, then mapped by
//! [`StoreError::from_sqlx`]. A full disk or a lock wait timeout must never become a 500.

use std::time::Duration;

use sqlx::Connection;

use crate::store::tests::harness::TempMySql;
use crate::store::StoreError;

#[tokio::test]
async fn sqlite_disk_full_is_unavailable() {
    // SQLITE_FULL without a full disk: the page limit of this connection is reached.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/full.db?mode=rwc", dir.path().display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE t (b BLOB)").execute(&mut conn).await.unwrap();
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut conn).await.unwrap();
    sqlx::query(&format!("PRAGMA max_page_count = {pages}")).execute(&mut conn).await.unwrap();
    let err = sqlx::query("INSERT INTO t VALUES (zeroblob(100000))").execute(&mut conn).await.unwrap_err();
    let mapped = StoreError::from_sqlx(err);
    assert!(mapped.is_unavailable(), "{mapped:?}");
}

#[tokio::test]
async fn sqlite_constraint_and_syntax_errors_stay_failures() {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
    sqlx::query("CREATE TABLE t (a INTEGER NOT NULL)").execute(&mut conn).await.unwrap();
    let err = sqlx::query("INSERT INTO t VALUES (NULL)").execute(&mut conn).await.unwrap_err();
    assert!(matches!(StoreError::from_sqlx(err), StoreError::Other(_)));
    let err = sqlx::query("SELEC 1").execute(&mut conn).await.unwrap_err();
    assert!(matches!(StoreError::from_sqlx(err), StoreError::Other(_)));
}

#[tokio::test]
async fn mysql_lock_wait_timeout_is_unavailable_and_bad_sql_is_not() {
    let Some(db) = TempMySql::create().await else { return };
    let outcome = tokio::spawn({
        let url = db.url.clone();
        async move {
            let mut holder = sqlx::MySqlConnection::connect(&url).await.unwrap();
            let mut waiter = sqlx::MySqlConnection::connect(&url).await.unwrap();
            sqlx::query("CREATE TABLE t (id INT PRIMARY KEY) ENGINE = InnoDB").execute(&mut holder).await.unwrap();
            sqlx::query("INSERT INTO t VALUES (1)").execute(&mut holder).await.unwrap();
            sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
            sqlx::query("SELECT id FROM t WHERE id = 1 FOR UPDATE").execute(&mut holder).await.unwrap();
            sqlx::query("SET SESSION innodb_lock_wait_timeout = 1").execute(&mut waiter).await.unwrap();
            let err = tokio::time::timeout(
                Duration::from_secs(10),
                sqlx::query("UPDATE t SET id = 2 WHERE id = 1").execute(&mut waiter),
            )
            .await
            .expect("the lock wait timeout did not fire")
            .unwrap_err();
            let mapped = StoreError::from_sqlx(err);
            assert!(mapped.is_unavailable(), "{mapped:?}");
            let err = sqlx::query("SELEC 1").execute(&mut waiter).await.unwrap_err();
            assert!(matches!(StoreError::from_sqlx(err), StoreError::Other(_)));
        }
    })
    .await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
