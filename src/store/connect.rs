//! Building the pool for a `database.url`: SQLite file/memory options, MySQL options and
//! the per-connection session setup (strict `sql_mode`, UTC).

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Executor;

use super::{Pool, StoreError};

/// How long a query waits for a pooled connection (including connecting) before
/// reporting [`StoreError::Unavailable`].
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long SQLite waits for another writer before giving up (`SQLITE_BUSY`).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Appended to every MySQL session: refuse over-long or invalid values instead of
/// truncating them (docs/REFERENCE.md#sec-usernames, "SQL column truncation"), on every table engine.
/// sqlx itself only adds `PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION` to the server's mode.
const STRICT_SESSION: &str =
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES'), \
     time_zone = '+00:00'";

/// Opens the pool for `url` (see [`super::Store::connect`]).
pub(super) async fn open(url: &str, max_connections: u32) -> Result<Pool, StoreError> {
    let max_connections = max_connections.max(1);
    if url.starts_with("sqlite:") {
        open_sqlite(url, max_connections).await
    } else if let Some(rest) = url.strip_prefix("mariadb:") {
        open_mysql(&format!("mysql:{rest}"), max_connections)
    } else if url.starts_with("mysql:") {
        open_mysql(url, max_connections)
    } else {
        // Never echo the URL: it may carry a password.
        Err(StoreError::Other("database.url must start with sqlite:, mysql: or mariadb:".into()))
    }
}

async fn open_sqlite(url: &str, max_connections: u32) -> Result<Pool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid sqlite URL: {e}")))?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let options = if in_memory {
        options
    } else {
        create_parent_dir(options.get_filename())?;
        options.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal)
    };
    let mut pool = SqlitePoolOptions::new().max_connections(max_connections).acquire_timeout(ACQUIRE_TIMEOUT);
    if in_memory {
        // The shared in-memory database lives as long as one connection to it does.
        pool = pool.min_connections(1).idle_timeout(None).max_lifetime(None);
    }
    // Connect now: a local file that cannot be opened is a setup error worth failing on.
    let pool = pool.connect_with(options).await.map_err(|e| match StoreError::from_sqlx(e) {
        StoreError::Unavailable(m) | StoreError::Other(m) => {
            StoreError::Other(format!("cannot open the SQLite database: {m}"))
        }
        other => other,
    })?;
    Ok(Pool::Sqlite(pool))
}

fn create_parent_dir(file: &std::path::Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Other(format!("cannot create the directory {} for the SQLite database: {e}", dir.display()))
        }),
        _ => Ok(()),
    }
}

fn open_mysql(url: &str, max_connections: u32) -> Result<Pool, StoreError> {
    let options = MySqlConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid mysql URL: {e}")))?
        .charset("utf8mb4")
        .timezone(Some("+00:00".to_owned()));
    let pool = MySqlPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(STRICT_SESSION).await?;
                Ok(())
            })
        })
        // Lazy: `serve` starts while the database is down; `/readyz` reports it.
        .connect_lazy_with(options);
    Ok(Pool::MySql(pool))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_schemes_are_refused_without_echoing_the_url() {
        let err = open("postgres://user:secret@host/db", 1).await.unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(err.to_string().contains("sqlite:, mysql: or mariadb:"), "{err}");
    }

    #[tokio::test]
    async fn sqlite_file_and_parent_directories_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/gate.db");
        let pool = open(&format!("sqlite://{}", file.display()), 2).await.unwrap();
        assert!(file.exists());
        let Pool::Sqlite(pool) = pool else { panic!("not sqlite") };
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&pool).await.unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&pool).await.unwrap();
        assert_eq!(fk, 1);
    }

    #[tokio::test]
    async fn mariadb_scheme_is_mysql_and_connects_lazily() {
        let pool = open("mariadb://root@127.0.0.1:1/nowhere", 1).await.unwrap();
        assert!(matches!(pool, Pool::MySql(_)));
    }
}
