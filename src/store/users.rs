//! [`UserRepo`]: the `users` table. Every lookup and insert canonicalises the username
//! and email in Rust first ([`crate::auth::canonical`]); the unique indexes on
//! `username_canonical` / `email_canonical` compare bytes, so the database can only
//! confirm what the code decided.

use chrono::{DateTime, SubsecRound, Utc};

use super::{on_pool, BeginWrite, Store, StoreError};
use crate::auth::canonical::{self, EMAIL_MAX_CHARS, USERNAME_MAX_CHARS};

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
    /// Unix seconds; tokens with `iat` before this are refused. 0 = never revoked.
    pub revoked_after: i64,
}

/// A user to create (`/auth/register`, `user create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// As typed; canonicalised by the repository for the unique index.
    pub username: String,
    /// As typed, or empty.
    pub email: String,
    /// Already hashed ([`crate::auth::password::PasswordHasher::hash`]).
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

/// Queries and changes to the `users` table.
#[derive(Debug, Clone, Copy)]
pub struct UserRepo<'a> {
    store: &'a Store,
}

/// Column limits shared by both schemas (characters).
const ROLE_MAX: usize = 20;
const PHONE_MAX: usize = 20;
const HASH_MAX: usize = 255;

const COLUMNS: &str =
    "id, username, email, role, phone, address, is_active, date_joined, last_login, password_hash, revoked_after";

const INSERT: &str = "INSERT INTO users (username, username_canonical, email, email_canonical, password_hash, role, \
     phone, address, is_active, date_joined, last_login, revoked_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)";

const INSERT_WITH_ID: &str = "INSERT INTO users (id, username, username_canonical, email, email_canonical, \
     password_hash, role, phone, address, is_active, date_joined, last_login, revoked_after) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)";

/// `revoked_after` first: MySQL evaluates SET assignments left to right with the new
/// values, SQLite with the old ones; first, it sees the old role and flag on both.
const UPDATE: &str = "UPDATE users SET \
     revoked_after = CASE WHEN ((? IS NOT NULL AND ? <> role) OR (? IS NOT NULL AND ? <> is_active)) \
         AND revoked_after < ? THEN ? ELSE revoked_after END, \
     role = COALESCE(?, role), is_active = COALESCE(?, is_active), \
     email = COALESCE(?, email), email_canonical = CASE WHEN ? THEN ? ELSE email_canonical END, \
     phone = COALESCE(?, phone), address = COALESCE(?, address) \
     WHERE id = ?";

const REVOKE_AT: &str = "UPDATE users SET revoked_after = CASE WHEN revoked_after < ? THEN ? ELSE revoked_after END WHERE id = ?";
const REVOKE_REFRESH: &str = "UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0";

/// A row as both drivers can decode it: text columns come back as bytes because sqlx
/// refuses to read MySQL `utf8mb4_bin` columns as `String` (launchbadge/sqlx#3387).
#[derive(sqlx::FromRow)]
struct UserRow {
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
    fn into_user(self) -> Result<User, StoreError> {
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|_| StoreError::Other(format!("user {} has a column that is not UTF-8", self.id)))
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
struct Names {
    username: String,
    username_canonical: String,
    email: String,
    email_canonical: Option<String>,
}

impl Names {
    fn new(username: &str, email: &str) -> Result<Names, StoreError> {
        let username_canonical =
            canonical::canonical_username(username).map_err(|reason| StoreError::InvalidName { field: "username", reason })?;
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
fn email_forms(email: &str) -> Result<(String, Option<String>), StoreError> {
    let canonical = canonical::canonical_email(email).map_err(|reason| StoreError::InvalidName { field: "email", reason })?;
    let display = canonical::display_email(email);
    if display.chars().count() > EMAIL_MAX_CHARS {
        return Err(StoreError::InvalidName { field: "email", reason: canonical::NameError::EmailTooLong });
    }
    Ok((display, (!canonical.is_empty()).then_some(canonical)))
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.chars().count() > max {
        return Err(StoreError::TooLong { field, max });
    }
    Ok(())
}

fn check_fields(role: &str, phone: &str, hash: &str) -> Result<(), StoreError> {
    check_len("role", role, ROLE_MAX)?;
    check_len("phone", phone, PHONE_MAX)?;
    check_len("password_hash", hash, HASH_MAX)
}

impl<'a> UserRepo<'a> {
    pub(super) fn new(store: &'a Store) -> UserRepo<'a> {
        UserRepo { store }
    }

    /// Inserts a new user (one INSERT, never half-written) with `is_active = true`.
    /// The username is stored trimmed, the email with its domain lower-cased (Django's
    /// `normalize_email`); `now` is kept to the microsecond, as MySQL stores it.
    /// [`StoreError::Duplicate`] when the canonical username or email is taken,
    /// [`StoreError::InvalidName`] when either does not canonicalise,
    /// [`StoreError::TooLong`] for an over-long role or phone.
    pub async fn create(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, StoreError> {
        let NewUser { username, email, password_hash, role, phone, address } = new;
        let names = Names::new(&username, &email)?;
        check_fields(&role, &phone, &password_hash)?;
        let now = now.trunc_subsecs(6);
        let id = on_pool!(self.store, pool => {
            let done = sqlx::query(INSERT)
                .bind(&names.username)
                .bind(&names.username_canonical)
                .bind(&names.email)
                .bind(&names.email_canonical)
                .bind(&password_hash)
                .bind(&role)
                .bind(&phone)
                .bind(&address)
                .bind(true)
                .bind(now)
                .bind(None::<DateTime<Utc>>)
                .execute(pool)
                .await
                .map_err(StoreError::from_sqlx)?;
            last_insert_id(&done)
        });
        Ok(User {
            id,
            username: names.username,
            email: names.email,
            role,
            phone,
            address,
            is_active: true,
            date_joined: now,
            last_login: None,
            password_hash,
            revoked_after: 0,
        })
    }

    /// Inserts an imported Django user with its own id, dates, flags and hash.
    /// [`StoreError::Duplicate`] with field `"id"` when that id exists already, or
    /// `"username"` / `"email"` when the canonical form is taken.
    pub async fn insert_imported(&self, user: &ImportedUser) -> Result<User, StoreError> {
        let names = Names::new(&user.username, &user.email)?;
        check_fields(&user.role, &user.phone, &user.password_hash)?;
        let date_joined = user.date_joined.trunc_subsecs(6);
        let last_login = user.last_login.map(|t| t.trunc_subsecs(6));
        on_pool!(self.store, pool => sqlx::query(INSERT_WITH_ID)
            .bind(user.id)
            .bind(&names.username)
            .bind(&names.username_canonical)
            .bind(&names.email)
            .bind(&names.email_canonical)
            .bind(&user.password_hash)
            .bind(&user.role)
            .bind(&user.phone)
            .bind(&user.address)
            .bind(user.is_active)
            .bind(date_joined)
            .bind(last_login)
            .execute(pool)
            .await
            .map(drop))
        .map_err(StoreError::from_sqlx)?;
        Ok(User {
            id: user.id,
            username: names.username,
            email: names.email,
            role: user.role.clone(),
            phone: user.phone.clone(),
            address: user.address.clone(),
            is_active: user.is_active,
            date_joined,
            last_login,
            password_hash: user.password_hash.clone(),
            revoked_after: 0,
        })
    }

    /// The user with this id.
    pub async fn by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ?");
        let row = on_pool!(self.store, pool => sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(pool).await)
            .map_err(StoreError::from_sqlx)?;
        row.map(UserRow::into_user).transpose()
    }

    /// The user whose canonical username is `canonical` (the output of
    /// [`crate::auth::canonical::canonical_username`]). The argument is canonicalised
    /// again (idempotent), so a raw spelling finds the same account and an invalid one
    /// finds nothing.
    pub async fn by_username(&self, canonical: &str) -> Result<Option<User>, StoreError> {
        let Ok(canonical) = canonical::canonical_username(canonical) else {
            return Ok(None);
        };
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username_canonical = ?");
        let row = on_pool!(self.store, pool => sqlx::query_as::<_, UserRow>(&sql).bind(&canonical).fetch_optional(pool).await)
            .map_err(StoreError::from_sqlx)?;
        row.map(UserRow::into_user).transpose()
    }

    /// Users ordered by id, at most `limit` of them after skipping `offset`.
    pub async fn list(&self, limit: u32, offset: u32) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY id LIMIT ? OFFSET ?");
        let rows = on_pool!(self.store, pool => sqlx::query_as::<_, UserRow>(&sql)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await)
        .map_err(StoreError::from_sqlx)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    /// Applies a patch in one UPDATE; a change of role or is_active moves `revoked_after`
    /// to `now` (never backwards; CONTRACT 4.5). [`StoreError::NotFound`] for an unknown
    /// id, [`StoreError::Duplicate`] for a taken email, [`StoreError::InvalidName`] for an
    /// invalid one.
    pub async fn update(&self, id: i64, patch: UserPatch, now: i64) -> Result<User, StoreError> {
        let UserPatch { role, is_active, email, phone, address } = patch;
        let emails = email.as_deref().map(email_forms).transpose()?;
        if let Some(role) = &role {
            check_len("role", role, ROLE_MAX)?;
        }
        if let Some(phone) = &phone {
            check_len("phone", phone, PHONE_MAX)?;
        }
        let (email, email_canonical) = match emails {
            Some((display, canonical)) => (Some(display), canonical),
            None => (None, None),
        };
        let done = on_pool!(self.store, pool => sqlx::query(UPDATE)
            .bind(&role)
            .bind(&role)
            .bind(is_active)
            .bind(is_active)
            .bind(now)
            .bind(now)
            .bind(&role)
            .bind(is_active)
            .bind(&email)
            .bind(email.is_some())
            .bind(&email_canonical)
            .bind(&phone)
            .bind(&address)
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::from_sqlx)?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.by_id(id).await?.ok_or(StoreError::NotFound)
    }

    /// Stores a new hash; when `revoke` (a password change, not a rehash on login) also
    /// moves `revoked_after` to `now` and revokes the user's refresh tokens, in one
    /// transaction. [`StoreError::NotFound`] for an unknown id.
    pub async fn set_password_hash(&self, id: i64, hash: &str, revoke: bool, now: i64) -> Result<(), StoreError> {
        check_len("password_hash", hash, HASH_MAX)?;
        on_pool!(self.store, pool => {
            let mut tx = pool.begin_write().await.map_err(StoreError::from_sqlx)?;
            let found = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
                .bind(hash)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?
                .rows_affected();
            if found == 0 {
                return Err(StoreError::NotFound);
            }
            if revoke {
                sqlx::query(REVOKE_AT).bind(now).bind(now).bind(id).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
                sqlx::query(REVOKE_REFRESH).bind(id).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
            }
            tx.commit().await.map_err(StoreError::from_sqlx)
        })
    }

    /// Records a successful login. [`StoreError::NotFound`] for an unknown id.
    pub async fn touch_last_login(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let done = on_pool!(self.store, pool => sqlx::query("UPDATE users SET last_login = ? WHERE id = ?")
            .bind(now.trunc_subsecs(6))
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::from_sqlx)?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Logout everywhere / disable: `revoked_after = now` (never moved backwards) and the
    /// user's refresh tokens revoked, in one transaction. [`StoreError::NotFound`] for an
    /// unknown id.
    pub async fn revoke_tokens(&self, id: i64, now: i64) -> Result<(), StoreError> {
        on_pool!(self.store, pool => {
            let mut tx = pool.begin_write().await.map_err(StoreError::from_sqlx)?;
            let found = sqlx::query(REVOKE_AT)
                .bind(now)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?
                .rows_affected();
            if found == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query(REVOKE_REFRESH).bind(id).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
            tx.commit().await.map_err(StoreError::from_sqlx)
        })
    }

    /// `(id, revoked_after)` of every user whose `revoked_after > 0`: what the revocation
    /// poller loads.
    pub async fn revocation_points(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        on_pool!(self.store, pool => sqlx::query_as::<_, (i64, i64)>(
            "SELECT id, revoked_after FROM users WHERE revoked_after > 0 ORDER BY id",
        )
        .fetch_all(pool)
        .await)
        .map_err(StoreError::from_sqlx)
    }
}

/// The id the last INSERT generated, from either driver's result type.
trait LastInsertId {
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

fn last_insert_id(done: &impl LastInsertId) -> i64 {
    done.id()
}
