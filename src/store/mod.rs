//! The user store: one sqlx pool over SQLite (zero-setup default) or MySQL/MariaDB
//! (production), chosen by `database.url`, with the repositories that own all SQL.
//!
//! Every username and email goes through [`crate::store::canonical`] before it reaches SQL,
//! and the unique indexes sit on the canonical columns under byte-exact, no-pad comparison
//! on both dialects, so the Rust code (not a collation) decides which spellings are the
//! same account (docs/REFERENCE.md#sec-usernames). On MySQL every connection runs with `STRICT_ALL_TABLES` and
//! `time_zone '+00:00'`.
//!
//! Runtime: a pool's connections belong to the tokio runtime that opened them, so a
//! [`Store`] is created and used on the auth runtime (or the CLI's own runtime), never on
//! a Pingora worker.

pub mod canonical;
mod connect;
mod django_import;
mod error;
mod refresh_tokens;
mod user;
mod users;

#[cfg(test)]
mod tests;

pub use connect::ACQUIRE_TIMEOUT;
pub use django_import::{parse_export, ImportFormat, ImportFormatError, ImportRowError};
pub use error::StoreError;
pub use refresh_tokens::{Consumed, RefreshTokenRepo};
pub use user::{revocation_point, ImportedUser, NewUser, User, UserPatch};
pub use users::UserRepo;

use std::future::Future;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::{MySqlPool, SqlitePool};

/// The schema for SQLite, embedded from `migrations/sqlite`.
pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
/// The schema for MySQL/MariaDB, embedded from `migrations/mysql`.
pub static MYSQL_MIGRATOR: Migrator = sqlx::migrate!("migrations/mysql");

/// Which SQL dialect a [`Store`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// An embedded SQLite file (or `sqlite::memory:` in tests).
    Sqlite,
    /// A MySQL or MariaDB server.
    MySql,
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "SQLite",
            Dialect::MySql => "MySQL/MariaDB",
        })
    }
}

/// The pool of one dialect. Both speak `?` placeholders, so most SQL is shared.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

/// Runs the same expression against whichever pool the store holds: `$pool` is bound to
/// the concrete `&SqlitePool` / `&MySqlPool` in each arm, so the body is type-checked for
/// both dialects.
///
/// The whole expression is bounded by the store's operation timeout
/// ([`OPERATION_TIMEOUT`] by default): a database that accepted the connection but stopped
/// answering gives [`StoreError::Unavailable`] instead of a hung request.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        $crate::store::bounded($store.op_timeout, async {
            match &$store.pool {
                $crate::store::Pool::Sqlite($pool) => $body,
                $crate::store::Pool::MySql($pool) => $body,
            }
        })
        .await
    };
}
pub(crate) use on_pool;

/// How long one repository call may take, all waits included (pool, SQLite busy timeout,
/// row locks), before it reports [`StoreError::Unavailable`].
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// An error that can say "the database did not answer in time".
pub(crate) trait TimedOut {
    /// The error for an operation abandoned after `limit`.
    fn timed_out(limit: Duration) -> Self;
}

impl TimedOut for sqlx::Error {
    fn timed_out(limit: Duration) -> Self {
        let message = format!("no answer from the database within {} ms", limit.as_millis());
        sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, message))
    }
}

impl TimedOut for StoreError {
    fn timed_out(limit: Duration) -> Self {
        StoreError::Unavailable(format!("no answer from the database within {} ms", limit.as_millis()))
    }
}

/// Runs `fut` for at most `limit`. Dropping a query midway is safe: an abandoned
/// transaction rolls back, and the pool tests a connection before handing it out again.
pub(crate) async fn bounded<T, E: TimedOut>(limit: Duration, fut: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(E::timed_out(limit)),
    }
}

/// Starting a write transaction the way each dialect needs: SQLite takes the write lock
/// up front (`BEGIN IMMEDIATE`, waiting out the busy timeout) so a transaction never has
/// to upgrade a read lock and fail with `SQLITE_BUSY`; InnoDB locks rows as it goes.
pub(crate) trait BeginWrite {
    /// The pool's database.
    type Db: sqlx::Database;
    /// Checks out a connection and begins a write transaction on it.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for MySqlPool {
    type Db = sqlx::MySql;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send {
        self.begin()
    }
}

/// A connection pool to the user database. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) op_timeout: Duration,
}

impl Store {
    /// Opens a pool for `url`:
    /// - `sqlite://path` (file and parent directories created; WAL; busy timeout 5 s;
    ///   foreign keys on), `sqlite::memory:` (tests; one shared in-memory database);
    /// - `mysql://…` / `mariadb://…` (utf8mb4; every connection gets `STRICT_ALL_TABLES`
    ///   added to its `sql_mode` and `time_zone '+00:00'`). MySQL pools connect lazily, so a
    ///   database that is down does not stop `serve` from starting: the first query (or
    ///   [`Store::ping`]) reports [`StoreError::Unavailable`] after the acquire timeout
    ///   ([`ACQUIRE_TIMEOUT`]).
    ///
    /// Fails with [`StoreError::Other`] for a malformed URL or an SQLite file that cannot
    /// be created.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        connect::open(url, max_connections).await.map(|pool| Store { pool, op_timeout: OPERATION_TIMEOUT })
    }

    /// Applies the embedded migrations of this store's dialect (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let result = match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATOR.run(pool).await,
            Pool::MySql(pool) => MYSQL_MIGRATOR.run(pool).await,
        };
        result.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => match StoreError::from_sqlx(e) {
                StoreError::Unavailable(m) => StoreError::Unavailable(m),
                other => StoreError::Other(format!("migration failed: {other}")),
            },
            other => StoreError::Other(format!("migration failed: {other}")),
        })
    }

    /// `SELECT 1`: whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())).map_err(StoreError::from_sqlx)
    }

    /// The session `sql_mode` of a pooled MySQL connection (`None` on SQLite), so `check`
    /// and `/readyz` can warn when it is not strict.
    pub async fn sql_mode(&self) -> Result<Option<String>, StoreError> {
        let Pool::MySql(pool) = &self.pool else { return Ok(None) };
        bounded(
            self.op_timeout,
            sqlx::query_scalar::<_, String>("SELECT CAST(@@SESSION.sql_mode AS CHAR)").fetch_one(pool),
        )
        .await
        .map(Some)
        .map_err(StoreError::from_sqlx)
    }

    /// The dialect of the pool.
    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// The users table.
    pub fn users(&self) -> UserRepo<'_> {
        UserRepo::new(self)
    }

    /// The refresh-token table.
    pub fn refresh_tokens(&self) -> RefreshTokenRepo<'_> {
        RefreshTokenRepo::new(self)
    }

    /// Sets how long one repository call may take before it reports
    /// [`StoreError::Unavailable`] (default [`OPERATION_TIMEOUT`]).
    pub fn with_operation_timeout(mut self, limit: Duration) -> Store {
        self.op_timeout = limit;
        self
    }

    /// Closes the pool: waits for checked-out connections to come back, then closes them.
    /// Later calls fail with [`StoreError::Unavailable`].
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::MySql(pool) => pool.close().await,
        }
    }
}
