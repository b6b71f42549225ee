//! [`RefreshTokenRepo`]: the `refresh_tokens` table. Only the `jti` of a refresh token is
//! stored, never the token. Consuming one is a single conditional UPDATE, so of any number
//! of racing refreshes exactly one wins (THREATS §8).

use super::{on_pool, BeginWrite, Store, StoreError};

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
const CONSUME: &str =
    "UPDATE refresh_tokens SET used_at = ? WHERE jti = ? AND used_at IS NULL AND revoked = 0 AND expires_at > ?";
const OWNER: &str = "SELECT user_id, family_id FROM refresh_tokens WHERE jti = ?";
const STATE: &str = "SELECT family_id, used_at, revoked, expires_at FROM refresh_tokens WHERE jti = ?";

/// What a failed consume found: `(family_id, used_at, revoked, expires_at)`.
type StateRow = (Vec<u8>, Option<i64>, bool, i64);

/// Why a token that did not consume is refused. Used before wins over everything else:
/// a replay is the signal that matters, whatever happened to the token since.
fn classify(state: Option<StateRow>, now: i64) -> Result<Consumed, StoreError> {
    let Some((family, used_at, revoked, expires_at)) = state else {
        return Ok(Consumed::Unknown);
    };
    Ok(if used_at.is_some() {
        Consumed::Reused { family: text(family)? }
    } else if revoked {
        Consumed::Revoked
    } else if expires_at <= now {
        Consumed::Expired
    } else {
        // Unreachable unless the row changed between the UPDATE and this SELECT (only a
        // concurrent consume can do that): report it as the replay it is.
        Consumed::Reused { family: text(family)? }
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

    /// Marks `jti` used with ONE conditional
    /// `UPDATE … SET used_at = now WHERE jti = ? AND used_at IS NULL AND revoked = 0 AND expires_at > now`;
    /// one row affected ⇒ [`Consumed::Fresh`], so of any number of racing calls exactly
    /// one wins. Otherwise a SELECT says why; used before ⇒ [`Consumed::Reused`] (the
    /// caller then revokes the family).
    pub async fn consume(&self, jti: &str, now: i64) -> Result<Consumed, StoreError> {
        on_pool!(self.store, pool => {
            let won = sqlx::query(CONSUME).bind(now).bind(jti).bind(now).execute(pool).await
                .map_err(StoreError::from_sqlx)?
                .rows_affected() == 1;
            if won {
                let (user_id, family) = sqlx::query_as::<_, (i64, Vec<u8>)>(OWNER).bind(jti).fetch_one(pool).await
                    .map_err(StoreError::from_sqlx)?;
                Ok(Consumed::Fresh { user_id, family: text(family)? })
            } else {
                let state = sqlx::query_as::<_, StateRow>(STATE).bind(jti).fetch_optional(pool).await
                    .map_err(StoreError::from_sqlx)?;
                classify(state, now)
            }
        })
    }

    /// Rotation in one transaction: consume `old_jti` and insert `new_jti` in the same
    /// family expiring at `expires_at`; [`Consumed::Fresh`] only if both happened,
    /// otherwise nothing changed and the reason is returned.
    pub async fn rotate(
        &self,
        old_jti: &str,
        new_jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Consumed, StoreError> {
        check_ids(new_jti, "")?;
        on_pool!(self.store, pool => {
            let mut tx = pool.begin_write().await.map_err(StoreError::from_sqlx)?;
            let won = sqlx::query(CONSUME).bind(now).bind(old_jti).bind(now).execute(&mut *tx).await
                .map_err(StoreError::from_sqlx)?
                .rows_affected() == 1;
            if won {
                let (user_id, family) = sqlx::query_as::<_, (i64, Vec<u8>)>(OWNER).bind(old_jti).fetch_one(&mut *tx).await
                    .map_err(StoreError::from_sqlx)?;
                let family = text(family)?;
                sqlx::query(INSERT)
                    .bind(new_jti)
                    .bind(user_id)
                    .bind(&family)
                    .bind(expires_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_insert_error)?;
                tx.commit().await.map_err(StoreError::from_sqlx)?;
                Ok(Consumed::Fresh { user_id, family })
            } else {
                tx.rollback().await.map_err(StoreError::from_sqlx)?;
                let state = sqlx::query_as::<_, StateRow>(STATE).bind(old_jti).fetch_optional(pool).await
                    .map_err(StoreError::from_sqlx)?;
                classify(state, now)
            }
        })
    }

    /// The state of `jti` without consuming it (refresh when `tokens.rotate_refresh` is
    /// off): [`Consumed::Fresh`] when it is unused, not revoked and not expired; otherwise
    /// why not, as [`Self::consume`] reports it.
    pub async fn check(&self, jti: &str, now: i64) -> Result<Consumed, StoreError> {
        on_pool!(self.store, pool => {
            let state = sqlx::query_as::<_, StateRow>(STATE).bind(jti).fetch_optional(pool).await
                .map_err(StoreError::from_sqlx)?;
            match state {
                Some((_, None, false, expires_at)) if expires_at > now => {
                    let (user_id, family) = sqlx::query_as::<_, (i64, Vec<u8>)>(OWNER).bind(jti).fetch_one(pool).await
                        .map_err(StoreError::from_sqlx)?;
                    Ok(Consumed::Fresh { user_id, family: text(family)? })
                }
                other => classify(other, now),
            }
        })
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

    async fn revoke_where(&self, condition: &'static str, value: &str) -> Result<u64, StoreError> {
        let sql = format!("UPDATE refresh_tokens SET revoked = 1 WHERE {condition} AND revoked = 0");
        on_pool!(self.store, pool => sqlx::query(&sql).bind(value).execute(pool).await.map(|done| done.rows_affected()))
            .map_err(StoreError::from_sqlx)
    }
}
