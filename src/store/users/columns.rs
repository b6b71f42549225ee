//! How a user row maps to SQL on both dialects: the decodable row type, the display and
//! canonical name forms, and the column limits checked before the database sees a value
//! (so SQLite, which does not enforce `VARCHAR(n)`, and strict MySQL refuse alike).

use crate::store::canonical::{self, EMAIL_MAX_CHARS, USERNAME_MAX_CHARS};
use crate::store::{StoreError, User};
use chrono::{DateTime, Utc};

/// Column limits shared by both schemas (characters).
pub(super) const ROLE_MAX: usize = 20;
pub(super) const PHONE_MAX: usize = 20;
pub(super) const HASH_MAX: usize = 255;

/// A row as both drivers can decode it: text columns come back as bytes because sqlx
/// refuses to read MySQL `utf8mb4_bin` columns as `String` (launchbadge/sqlx#3387).
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: i64,
    username: Vec<u8>,
    email: Vec<u8>,
    role: Vec<u8>,
    phone: Vec<u8>,
    address: Vec<u8>,
    is_active: bool,
    date_joined: DateTime<Utc>,
    last_login: Option<DateTime<Utc>>,
    password_hash: Vec<u8>,
    revoked_after: i64,
}

impl UserRow {
    pub(super) fn into_user(self) -> Result<User, StoreError> {
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes)
                .map_err(|_| StoreError::Other(format!("user {} has a column that is not UTF-8", self.id)))
        };
        Ok(User {
            id: self.id,
            username: text(self.username)?,
            email: text(self.email)?,
            role: text(self.role)?,
            phone: text(self.phone)?,
            address: text(self.address)?,
            is_active: self.is_active,
            date_joined: self.date_joined,
            last_login: self.last_login,
            password_hash: text(self.password_hash)?,
            revoked_after: self.revoked_after,
        })
    }
}

/// Display and canonical forms of a username and email, checked for the columns.
pub(super) struct Names {
    pub(super) username: String,
    pub(super) username_canonical: String,
    pub(super) email: String,
    pub(super) email_canonical: Option<String>,
}

impl Names {
    pub(super) fn new(username: &str, email: &str) -> Result<Names, StoreError> {
        let username_canonical = canonical::canonical_username(username)
            .map_err(|reason| StoreError::InvalidName { field: "username", reason })?;
        let username = username.trim().to_owned();
        if username.chars().count() > USERNAME_MAX_CHARS {
            let reason = canonical::NameError::TooLong;
            return Err(StoreError::InvalidName { field: "username", reason });
        }
        let (email, email_canonical) = email_forms(email)?;
        Ok(Names { username, username_canonical, email, email_canonical })
    }
}

/// The display email (Django's `normalize_email`) and its canonical form, `None` when empty.
pub(super) fn email_forms(email: &str) -> Result<(String, Option<String>), StoreError> {
    let canonical =
        canonical::canonical_email(email).map_err(|reason| StoreError::InvalidName { field: "email", reason })?;
    let display = canonical::display_email(email);
    if display.chars().count() > EMAIL_MAX_CHARS {
        return Err(StoreError::InvalidName { field: "email", reason: canonical::NameError::EmailTooLong });
    }
    Ok((display, (!canonical.is_empty()).then_some(canonical)))
}

pub(super) fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.chars().count() > max {
        return Err(StoreError::TooLong { field, max });
    }
    Ok(())
}

pub(super) fn check_fields(role: &str, phone: &str, hash: &str) -> Result<(), StoreError> {
    check_len("role", role, ROLE_MAX)?;
    check_len("phone", phone, PHONE_MAX)?;
    check_len("password_hash", hash, HASH_MAX)
}

/// The id the last INSERT generated, from either driver's result type.
pub(super) trait LastInsertId {
    fn id(&self) -> i64;
}

impl LastInsertId for sqlx::sqlite::SqliteQueryResult {
    fn id(&self) -> i64 {
        self.last_insert_rowid()
    }
}

impl LastInsertId for sqlx::mysql::MySqlQueryResult {
    fn id(&self) -> i64 {
        // AUTO_INCREMENT on a signed BIGINT never exceeds i64::MAX.
        i64::try_from(self.last_insert_id()).unwrap_or(i64::MAX)
    }
}

pub(super) fn last_insert_id(done: &impl LastInsertId) -> i64 {
    done.id()
}
