//! [`RefreshTokenRepo`]: the `refresh_tokens` table. Only the `jti` of a refresh token is
//! stored, never the token.
//!
//! Rotation is ONE statement: an `INSERT … SELECT` that adds the successor row only if the
//! presented token is live, recording the token it replaces in `parent_jti`. The UNIQUE
//! index on `parent_jti` makes exactly one of any number of racing rotations succeed; the
//! others fail on the duplicate and are reported as reuse (docs/REFERENCE.md#sec-refresh-rotation). A token is "used"
//! once it has a successor (or, for rows consumed before that column existed, once its
//! `used_at` is set). One statement means one round trip and one commit per refresh, and
//! nothing half-written if the process dies mid-rotation.

use super::{bounded, on_pool, Pool, Store, StoreError};

/// The outcome of presenting a refresh token's jti.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed {
    /// First use: the caller may issue new tokens for `user_id` in `family`.
    Fresh {
        /// The token's owner.
        user_id: i64,
        /// The rotation family (the jti of the login's first refresh token).
        family: String,
    },
    /// Used before: a stolen or replayed token. The caller revokes `family`.
    Reused {
        /// The family to revoke.
        family: String,
    },
    /// No such jti (forged, or from another database).
    Unknown,
    /// Revoked by logout, password change, disable or family revocation.
    Revoked,
    /// Past `expires_at`.
    Expired,
}

/// Queries and changes to the `refresh_tokens` table.
#[derive(Debug, Clone, Copy)]
pub struct RefreshTokenRepo<'a> {
    store: &'a Store,
}

const INSERT: &str = "INSERT INTO refresh_tokens (jti, user_id, family_id, expires_at, used_at, revoked, created_at) \
     VALUES (?, ?, ?, ?, NULL, 0, ?)";
/// Adds the successor of a live token: binds new jti, expires_at, created_at, then the
/// presented jti, its owner and family (from the verified claims), and now.
const ROTATE: &str = "INSERT INTO refresh_tokens (jti, user_id, family_id, expires_at, used_at, revoked, created_at, parent_jti) \
     SELECT ?, user_id, family_id, ?, NULL, 0, ?, jti FROM refresh_tokens \
     WHERE jti = ? AND user_id = ? AND family_id = ? AND used_at IS NULL AND revoked = 0 AND expires_at > ?";
const STATE: &str = "SELECT r.user_id, r.family_id, r.used_at, r.revoked, r.expires_at, \
     (SELECT COUNT(*) FROM refresh_tokens c WHERE c.parent_jti = r.jti) \
     FROM refresh_tokens r WHERE r.jti = ?";

/// What the table holds for one jti: `(user_id, family_id, used_at, revoked, expires_at,
/// successors)`.
type StateRow = (i64, Vec<u8>, Option<i64>, bool, i64, i64);

/// The owner and family a presented token claims; a row of another owner or family under
/// its jti was never issued with it.
#[derive(Debug, Clone, Copy)]
struct Claimed<'a> {
    user_id: i64,
    family: &'a str,
}

/// What the stored state of a token means. Used before wins over everything else: a
/// replay is the signal that matters, whatever happened to the token since.
fn classify(state: Option<StateRow>, now: i64, claimed: Option<Claimed<'_>>) -> Result<Consumed, StoreError> {
    let Some((user_id, family, used_at, revoked, expires_at, successors)) = state else {
        return Ok(Consumed::Unknown);
    };
    let family = text(family)?;
    if claimed.is_some_and(|c| c.user_id != user_id || c.family != family) {
        return Ok(Consumed::Unknown);
    }
    Ok(if used_at.is_some() || successors > 0 {
        Consumed::Reused { family }
    } else if revoked {
        Consumed::Revoked
    } else if expires_at <= now {
        Consumed::Expired
    } else {
        Consumed::Fresh { user_id, family }
    })
}

/// Family ids are ASCII hex; read as bytes for the same reason as the user columns.
fn text(bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| StoreError::Other("refresh token family id is not UTF-8".into()))
}

/// Longest jti or family id, in bytes (the columns' size on both dialects).
const ID_MAX: usize = 32;

/// Refuses ids longer than the columns before the database does, the same way on both.
fn check_ids(jti: &str, family: &str) -> Result<(), StoreError> {
    if jti.len() > ID_MAX {
        return Err(StoreError::TooLong { field: "jti", max: ID_MAX });
    }
    if family.len() > ID_MAX {
        return Err(StoreError::TooLong { field: "family", max: ID_MAX });
    }
    Ok(())
}

/// Whether a unique violation is on `parent_jti` (SQLite: `UNIQUE constraint failed:
/// refresh_tokens.parent_jti`; MySQL: `Duplicate entry '…' for key 'refresh_tokens_parent'`).
fn is_parent_violation(message: &str) -> bool {
    super::error::violated_index(message).contains("parent")
}

fn map_insert_error(e: sqlx::Error) -> StoreError {
    let fk = matches!(&e, sqlx::Error::Database(db) if db.is_foreign_key_violation());
    match StoreError::from_sqlx(e) {
        StoreError::Duplicate { .. } => StoreError::Duplicate { field: "jti" },
        _ if fk => StoreError::NotFound,
        other => other,
    }
}

impl<'a> RefreshTokenRepo<'a> {
    pub(super) fn new(store: &'a Store) -> RefreshTokenRepo<'a> {
        RefreshTokenRepo { store }
    }

    /// Records a newly issued refresh token (`jti` and `family`: the 32 hex digits of
    /// [`crate::token::new_jti`]; `expires_at`, `now`: unix seconds).
    /// [`StoreError::Duplicate`] (field `"jti"`) for a jti already stored,
    /// [`StoreError::NotFound`] for an unknown user, [`StoreError::TooLong`] for an id over
    /// 32 bytes.
    pub async fn insert(
        &self,
        jti: &str,
        user_id: i64,
        family: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        check_ids(jti, family)?;
        on_pool!(self.store, pool => sqlx::query(INSERT)
            .bind(jti)
            .bind(user_id)
            .bind(family)
            .bind(expires_at)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(map_insert_error)
    }

    /// Rotation: adds `new_jti` (same owner and family, expiring at `expires_at`) as the
    /// successor of `old_jti`, in one statement that succeeds only if `old_jti` is stored
    /// for `user_id` in `family`, unused, unrevoked and unexpired. [`Consumed::Fresh`] when
    /// it did; otherwise nothing was written and the reason is returned — a token that
    /// already has a successor (including one added by a racing call a moment ago) is
    /// [`Consumed::Reused`], and the caller revokes the family.
    pub async fn rotate(
        &self,
        old_jti: &str,
        user_id: i64,
        family: &str,
        new_jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Consumed, StoreError> {
        check_ids(new_jti, family)?;
        let claimed = Claimed { user_id, family };
        let inserted = on_pool!(self.store, pool => sqlx::query(ROTATE)
            .bind(new_jti)
            .bind(expires_at)
            .bind(now)
            .bind(old_jti)
            .bind(user_id)
            .bind(family)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()));
        match inserted {
            Ok(1) => return Ok(Consumed::Fresh { user_id, family: family.to_owned() }),
            Ok(_) => {}
            // The loser of a race on the same parent; `state` sees the winner's row.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() && is_parent_violation(db.message()) => {}
            Err(e) => return Err(map_insert_error(e)),
        }
        classify(self.state(old_jti).await?, now, Some(claimed))
    }

    /// The state of `jti` without changing it (refresh when `tokens.rotate_refresh` is
    /// off): [`Consumed::Fresh`] when it is unused, not revoked and not expired; otherwise
    /// why not, as [`Self::rotate`] reports it.
    pub async fn check(&self, jti: &str, now: i64) -> Result<Consumed, StoreError> {
        classify(self.state(jti).await?, now, None)
    }

    async fn state(&self, jti: &str) -> Result<Option<StateRow>, StoreError> {
        on_pool!(self.store, pool => sqlx::query_as::<_, StateRow>(STATE).bind(jti).fetch_optional(pool).await)
            .map_err(StoreError::from_sqlx)
    }

    /// Revokes every token of a family (reuse detected); returns how many changed.
    pub async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        self.revoke_where("family_id = ?", family).await
    }

    /// Revokes one token (logout); `false` when it was unknown or already revoked.
    pub async fn revoke(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self.revoke_where("jti = ?", jti).await? == 1)
    }

    /// Revokes every token of a user (password change, disable); returns how many changed.
    pub async fn revoke_user(&self, user_id: i64) -> Result<u64, StoreError> {
        on_pool!(self.store, pool => sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0")
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::from_sqlx)
    }

    /// Deletes tokens that expired before `before` (unix seconds); returns how many.
    pub async fn delete_expired(&self, before: i64) -> Result<u64, StoreError> {
        on_pool!(self.store, pool => sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < ?")
            .bind(before)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::from_sqlx)
    }

    /// Deletes at most `batch` tokens that expired before `before` (unix
    /// seconds); returns how many. Small batches keep each statement's locks
    /// short, and any number of replicas may run it at once: a row is either
    /// still there or gone.
    pub async fn prune_expired(&self, before: i64, batch: u32) -> Result<u64, StoreError> {
        let done = bounded(self.store.op_timeout, async {
            match &self.store.pool {
                // SQLite has no DELETE ... LIMIT without a compile option.
                Pool::Sqlite(pool) => sqlx::query(
                    "DELETE FROM refresh_tokens WHERE jti IN \
                     (SELECT jti FROM refresh_tokens WHERE expires_at < ? LIMIT ?)",
                )
                .bind(before)
                .bind(batch)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
                // MySQL and MariaDB refuse LIMIT in an IN subquery.
                Pool::MySql(pool) => sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < ? LIMIT ?")
                    .bind(before)
                    .bind(batch)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected()),
            }
        })
        .await;
        done.map_err(StoreError::from_sqlx)
    }

    async fn revoke_where(&self, condition: &'static str, value: &str) -> Result<u64, StoreError> {
        let sql = format!("UPDATE refresh_tokens SET revoked = 1 WHERE {condition} AND revoked = 0");
        on_pool!(self.store, pool => sqlx::query(&sql).bind(value).execute(pool).await.map(|done| done.rows_affected()))
            .map_err(StoreError::from_sqlx)
    }
}
