//! [`UserRepo`]: the `users` table. Every lookup and insert canonicalises the username
//! and email in Rust first ([`crate::store::canonical`]); the unique indexes on
//! `username_canonical` / `email_canonical` compare bytes, so the database can only
//! confirm what the code decided.

mod columns;

use chrono::{DateTime, SubsecRound, Utc};

use self::columns::{
    check_fields, check_len, email_forms, last_insert_id, Names, UserRow, HASH_MAX, PHONE_MAX, ROLE_MAX,
};
use super::{on_pool, BeginWrite, ImportedUser, NewUser, Store, StoreError, User, UserPatch};
use crate::store::canonical;

/// Queries and changes to the `users` table.
#[derive(Debug, Clone, Copy)]
pub struct UserRepo<'a> {
    store: &'a Store,
}

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

const TAKEN: &str = "SELECT (SELECT COUNT(*) FROM users WHERE id = ?), \
     (SELECT COUNT(*) FROM users WHERE username_canonical = ?), (SELECT COUNT(*) FROM users WHERE email_canonical = ?)";

const REVOKE_AT: &str =
    "UPDATE users SET revoked_after = CASE WHEN revoked_after < ? THEN ? ELSE revoked_after END WHERE id = ?";
const REVOKE_REFRESH: &str = "UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0";

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
                .await;
            done.map(|done| last_insert_id(&done))
        });
        let id = match id.map_err(StoreError::from_sqlx) {
            Err(StoreError::Duplicate { field }) => return Err(self.which_taken(None, &names, field).await),
            other => other?,
        };
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
        let inserted = on_pool!(self.store, pool => sqlx::query(INSERT_WITH_ID)
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
            .map(|_| ()))
        .map_err(StoreError::from_sqlx);
        if let Err(e) = inserted {
            return Err(match e {
                StoreError::Duplicate { field } => self.which_taken(Some(user.id), &names, field).await,
                other => other,
            });
        }
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
    /// [`crate::store::canonical::canonical_username`]). The argument is canonicalised
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
    /// to `point` ([`super::revocation_point`]; never backwards; docs/REFERENCE.md#revocation). [`StoreError::NotFound`] for an unknown
    /// id, [`StoreError::Duplicate`] for a taken email, [`StoreError::InvalidName`] for an
    /// invalid one.
    pub async fn update(&self, id: i64, patch: UserPatch, point: i64) -> Result<User, StoreError> {
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
            .bind(point)
            .bind(point)
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
    /// moves `revoked_after` to `point` and revokes the user's refresh tokens, in one
    /// transaction. [`StoreError::NotFound`] for an unknown id.
    pub async fn set_password_hash(&self, id: i64, hash: &str, revoke: bool, point: i64) -> Result<(), StoreError> {
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
                sqlx::query(REVOKE_AT).bind(point).bind(point).bind(id).execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
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

    /// Logout everywhere / disable: `revoked_after = point` (never moved backwards) and the
    /// user's refresh tokens revoked, in one transaction. [`StoreError::NotFound`] for an
    /// unknown id.
    pub async fn revoke_tokens(&self, id: i64, point: i64) -> Result<(), StoreError> {
        on_pool!(self.store, pool => {
            let mut tx = pool.begin_write().await.map_err(StoreError::from_sqlx)?;
            let found = sqlx::query(REVOKE_AT)
                .bind(point)
                .bind(point)
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

    /// `(id, revoked_after)` of every user whose revocation point is after
    /// `since` (unix milliseconds): what the revocation poller loads. The
    /// `users_revoked_after` index keeps it a range scan of recent changes.
    pub async fn revocation_points(&self, since: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        on_pool!(self.store, pool => sqlx::query_as::<_, (i64, i64)>(
            "SELECT id, revoked_after FROM users WHERE revoked_after > ? ORDER BY id",
        )
        .bind(since.max(0))
        .fetch_all(pool)
        .await)
        .map_err(StoreError::from_sqlx)
    }

    /// After a unique violation: the first taken column in serializer order (id,
    /// username, email), so every dialect names the same field whichever index it checked
    /// first. Falls back to what the database said (`reported`) if nothing is taken any
    /// more (a concurrent delete).
    async fn which_taken(&self, id: Option<i64>, names: &Names, reported: &'static str) -> StoreError {
        let counts = on_pool!(self.store, pool => sqlx::query_as::<_, (i64, i64, i64)>(TAKEN)
            .bind(id)
            .bind(&names.username_canonical)
            .bind(&names.email_canonical)
            .fetch_one(pool)
            .await);
        let field = match counts {
            Ok((ids, _, _)) if ids > 0 => "id",
            Ok((_, usernames, _)) if usernames > 0 => "username",
            Ok((_, _, emails)) if emails > 0 => "email",
            Ok(_) => reported,
            Err(e) => return StoreError::from_sqlx(e),
        };
        StoreError::Duplicate { field }
    }
}
