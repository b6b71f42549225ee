//! [`StoreError`]: what a repository call can fail with, and the one mapping from
//! `sqlx::Error` to it (unique violations name their field; connection trouble is
//! `Unavailable`, which the endpoints answer with 503).

use crate::store::canonical::NameError;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused the row: `field` is `"username"`, `"email"` or `"id"`.
    #[error("a user with that {field} already exists")]
    Duplicate {
        /// The column whose canonical value is taken.
        field: &'static str,
    },
    /// The row to change does not exist.
    #[error("no such user")]
    NotFound,
    /// A username or email that cannot be canonicalised (the caller should have run
    /// [`crate::store::canonical`] first and answered 400).
    #[error("invalid {field}: {reason}")]
    InvalidName {
        /// `"username"` or `"email"`.
        field: &'static str,
        /// What is wrong with it.
        reason: NameError,
    },
    /// A value longer than its column (`role`, `phone`: 20 characters; `password_hash`:
    /// 255); refused before the database sees it, the same way on every dialect.
    #[error("{field} is longer than {max} characters")]
    TooLong {
        /// The column.
        field: &'static str,
        /// Its limit in characters.
        max: usize,
    },
    /// The database cannot be reached (refused, pool timeout, server gone, SQLite busy
    /// past its timeout): answer 503 and retry later.
    #[error("user database unavailable: {0}")]
    Unavailable(String),
    /// Anything else (bad SQL, schema not migrated, corrupt row): a bug or an operator
    /// problem; answer 500 and log it.
    #[error("user database error: {0}")]
    Other(String),
}

impl StoreError {
    /// Maps a sqlx error: unique violations become [`StoreError::Duplicate`] naming the
    /// canonical column in the message, connection-level trouble becomes
    /// [`StoreError::Unavailable`], the rest [`StoreError::Other`].
    pub(crate) fn from_sqlx(e: sqlx::Error) -> StoreError {
        match e {
            sqlx::Error::Database(db) => {
                if db.is_unique_violation() {
                    return StoreError::Duplicate { field: duplicate_field(db.message()) };
                }
                if clears_up(db.as_ref()) {
                    StoreError::Unavailable(db.message().to_owned())
                } else {
                    StoreError::Other(db.message().to_owned())
                }
            }
            sqlx::Error::Io(e) => StoreError::Unavailable(format!("i/o: {e}")),
            sqlx::Error::Tls(e) => StoreError::Unavailable(format!("tls: {e}")),
            sqlx::Error::PoolTimedOut => StoreError::Unavailable(
                "no connection within the acquire timeout (database down or pool exhausted)".into(),
            ),
            sqlx::Error::PoolClosed => StoreError::Unavailable("the connection pool is closed".into()),
            sqlx::Error::WorkerCrashed => StoreError::Unavailable("the SQLite worker thread stopped".into()),
            sqlx::Error::Protocol(m) => StoreError::Unavailable(format!("protocol: {m}")),
            other => StoreError::Other(other.to_string()),
        }
    }

    /// Whether retrying later may succeed (maps to 503 rather than 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Whether a database error clears up by itself or once an operator frees space or a
/// lock, so the request may be retried later (503) rather than failed (500).
///
/// SQLite reports extended result codes (`SQLITE_BUSY_SNAPSHOT` is 517), so its primary
/// code is the low byte: busy or locked past the busy timeout, disk full, an I/O error, a
/// read-only or unopenable file. MySQL's `code()` is the SQLSTATE, so its error number is
/// read instead: lock wait timeout (1205), deadlock (1213), too many connections (1040),
/// server shutting down (1053), disk or table full (1021, 1114), connection killed (1927).
fn clears_up(db: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(e) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(e.number(), 1205 | 1213 | 1040 | 1053 | 1021 | 1114 | 1927);
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let primary = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
        // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
        return matches!(primary, Some(5 | 6 | 8 | 10 | 13 | 14));
    }
    false
}

/// The index or column part of a unique-violation message: SQLite's `table.column` after
/// the last ": ", MySQL's `'index_name'` after the last " key ". The entry itself is
/// quoted in MySQL's message and may contain anything, so only this tail is looked at.
pub(super) fn violated_index(message: &str) -> &str {
    let tail = message.rsplit_once(" key ").map_or(message, |(_, t)| t);
    tail.rsplit_once(": ").map_or(tail, |(_, t)| t)
}

/// Which canonical column a unique-violation message is about. SQLite says
/// `UNIQUE constraint failed: users.email_canonical`, MySQL/MariaDB
/// `Duplicate entry '…' for key 'users_email_canonical'` (the index names the column).
fn duplicate_field(message: &str) -> &'static str {
    let tail = violated_index(message);
    if tail.contains("email_canonical") {
        "email"
    } else if tail.contains("username_canonical") {
        "username"
    } else {
        "id"
    }
}

#[cfg(test)]
mod tests {
    use super::duplicate_field;

    #[test]
    fn duplicate_messages_name_the_column() {
        assert_eq!(duplicate_field("UNIQUE constraint failed: users.email_canonical"), "email");
        assert_eq!(duplicate_field("UNIQUE constraint failed: users.username_canonical"), "username");
        assert_eq!(duplicate_field("UNIQUE constraint failed: users.id"), "id");
        assert_eq!(duplicate_field("Duplicate entry 'x@y' for key 'users_email_canonical'"), "email");
        assert_eq!(duplicate_field("Duplicate entry 'admin' for key 'users_username_canonical'"), "username");
        assert_eq!(duplicate_field("Duplicate entry '7' for key 'PRIMARY'"), "id");
        // An entry that spells another column's name does not fool it.
        assert_eq!(duplicate_field("Duplicate entry 'email_canonical' for key 'users_username_canonical'"), "username");
    }
}
