//! The user types callers see: [`User`] as stored, [`NewUser`] to register,
//! [`ImportedUser`] from the Django stack, [`UserPatch`] for changes.

use chrono::{DateTime, Utc};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key; the `user_id` claim is its decimal string.
    pub id: i64,
    /// The username as registered (display form, surrounding whitespace trimmed).
    pub username: String,
    /// The email as registered (trimmed), possibly empty.
    pub email: String,
    /// One of the configured roles, e.g. `CUSTOMER`.
    pub role: String,
    /// Free-form phone number, possibly empty.
    pub phone: String,
    /// Free-form postal address, possibly empty.
    pub address: String,
    /// Inactive users cannot log in or refresh.
    pub is_active: bool,
    /// When the account was created.
    pub date_joined: DateTime<Utc>,
    /// The last successful login, if any.
    pub last_login: Option<DateTime<Utc>>,
    /// PHC argon2id string, or an imported Django hash (`pbkdf2_sha256$…`, `argon2$…`,
    /// `!…` for unusable). Never serialised to clients.
    pub password_hash: String,
    /// The revocation point, unix milliseconds: tokens issued before it are
    /// refused (docs/REFERENCE.md#revocation-boundary). 0 = never revoked.
    pub revoked_after: i64,
}

/// The revocation point for a change made at `changed_at_ms`: the millisecond
/// after it, so a token minted in the change's own millisecond, before or
/// after it, is refused. A token minted after reading the change is stamped
/// no earlier than the point (`token::Subject::revoked_after_ms`), so a
/// login right after the change still passes.
pub fn revocation_point(changed_at_ms: i64) -> i64 {
    changed_at_ms.saturating_add(1)
}

/// A user to create (`/auth/register`, `user create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// As typed; canonicalised by the repository for the unique index.
    pub username: String,
    /// As typed, or empty.
    pub email: String,
    /// Already hashed (by the identity endpoints' `PasswordHasher::hash`).
    pub password_hash: String,
    /// One of the configured roles.
    pub role: String,
    /// Possibly empty.
    pub phone: String,
    /// Possibly empty.
    pub address: String,
}

/// A user carried over from the Django stack with its id, dates and hash unchanged
/// (`user import-django`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    /// Django's `accounts_user.id`: kept, because tokens and the backend's own rows use it.
    pub id: i64,
    /// Django's `username`.
    pub username: String,
    /// Django's `email`, possibly empty.
    pub email: String,
    /// Django's `password` column as stored (`pbkdf2_sha256$…`, `argon2$…`, `!…`).
    pub password_hash: String,
    /// Django's `role`.
    pub role: String,
    /// Django's `phone`.
    pub phone: String,
    /// Django's `address`.
    pub address: String,
    /// Django's `is_active`.
    pub is_active: bool,
    /// Django's `date_joined`.
    pub date_joined: DateTime<Utc>,
    /// Django's `last_login`.
    pub last_login: Option<DateTime<Utc>>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// New role (revokes the user's tokens).
    pub role: Option<String>,
    /// Enable or disable (revokes the user's tokens).
    pub is_active: Option<bool>,
    /// New email (canonicalised; may be empty).
    pub email: Option<String>,
    /// New phone.
    pub phone: Option<String>,
    /// New address.
    pub address: Option<String>,
}
