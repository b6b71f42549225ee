//! `POST /auth/login {"username","password"}` (simplejwt's `TokenObtainPairView`):
//! 200 `{"refresh","access"}` in that order; 401 with one generic message for an unknown
//! user, a wrong password and an inactive account alike, each costing one password
//! verification (unknown users verify against a dummy hash).
//!
//! Attempts are limited per canonical username and per client address: failures count,
//! a success clears the username's count; an exhausted budget answers 429 before any
//! hashing. A successful login with a legacy (PBKDF2 or Django argon2) hash stores a
//! fresh argon2id hash, and `last_login` is updated.


use chrono::Utc;
use serde::Serialize;

use crate::store::User;
use crate::token::{new_jti, Subject};

use super::body;
use crate::store::canonical::canonical_username;
use super::error::AuthError;
use super::fields::{char_field, CharSpec, FieldErrors};
use super::password::Verification;
use super::rate_limit::Scope;
use crate::answer::Answer;
use super::service::{Call, Shared};

/// simplejwt's key order: refresh first.
#[derive(Serialize)]
struct TokenPair<'a> {
    refresh: &'a str,
    access: &'a str,
}

pub(crate) async fn serve(shared: &Shared, call: &Call) -> Result<Answer, AuthError> {
    let outcome = login(shared, call).await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(AuthError::InvalidCredentials) => "invalid",
        Err(AuthError::RateLimited { .. }) => "rate_limited",
        Err(AuthError::Unavailable(_)) => "unavailable",
        Err(AuthError::Internal(_)) => "error",
        Err(_) => "bad_request",
    };
    shared.metrics.login.with_label_values(&[label]).inc();
    outcome
}

async fn login(shared: &Shared, call: &Call) -> Result<Answer, AuthError> {
    let form = body::parse(&call.req.headers, &call.req.body)?;
    let mut errors = FieldErrors::new(&["username", "password"]);
    let username = char_field(&form, "username", CharSpec::REQUIRED, &mut errors);
    let password = char_field(&form, "password", CharSpec::REQUIRED, &mut errors);
    let (Some(username), Some(password)) = (username, password) else {
        return Err(AuthError::Invalid(errors));
    };

    // A name that cannot be canonical cannot be an account; it is still counted per
    // address and costs a dummy verification like any unknown user.
    let canonical = canonical_username(&username).ok();
    let mut keys = Vec::with_capacity(2);
    if let Some(c) = &canonical {
        keys.push(Scope::Login.user(c));
    }
    if let Some(ip) = call.req.client_ip {
        keys.push(Scope::Login.address(ip));
    }
    let limit = call.gen.config.auth.rate_limit;
    shared.limiter.check(limit, &keys).await?;

    let store = shared.link.store()?;
    let user = match &canonical {
        Some(c) => store.users().by_username(c).await.map_err(|e| {
            shared.link.observe(&e);
            AuthError::from(e)
        })?,
        None => None,
    };
    let too_long = password.len() > call.gen.config.auth.password_max_length;
    let verification = if too_long {
        // Refused before hashing (docs/REFERENCE.md#sec-passwords); the same answer as any wrong password.
        Verification {
            ok: false,
            needs_rehash: false,
        }
    } else {
        shared
            .hasher
            .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?
    };
    let user = match user {
        Some(user) if verification.ok && user.is_active => user,
        _ => {
            shared.limiter.record(limit, &keys).await;
            return Err(AuthError::InvalidCredentials);
        }
    };
    if let Some(c) = &canonical {
        shared.limiter.clear(&Scope::Login.user(c)).await;
    }
    if verification.needs_rehash {
        rehash(shared, &store, &user, &password).await;
    }
    touch(&store, &user).await;
    let (refresh, access) = issue_pair(shared, call, &store, &user).await?;
    Ok(Answer::json(
        200,
        &TokenPair {
            refresh: &refresh,
            access: &access,
        },
    ))
}

/// Replaces a legacy hash by argon2id; a failure is logged, never fatal.
async fn rehash(shared: &Shared, store: &crate::store::Store, user: &User, password: &str) {
    match shared.hasher.hash(password).await {
        Ok(hash) => match store
            .users()
            .set_password_hash(user.id, &hash, false, 0)
            .await
        {
            Ok(()) => tracing::info!(
                user_id = user.id,
                "legacy password hash upgraded to argon2id"
            ),
            Err(e) => tracing::warn!(user_id = user.id, error = %e, "rehash not stored"),
        },
        Err(e) => tracing::warn!(user_id = user.id, error = %e, "rehash failed"),
    }
}

async fn touch(store: &crate::store::Store, user: &User) {
    if let Err(e) = store.users().touch_last_login(user.id, Utc::now()).await {
        tracing::warn!(user_id = user.id, error = %e, "last_login not updated");
    }
}

/// A new refresh token (a new rotation family, recorded in the store) and an access
/// token, both issued now.
pub(crate) async fn issue_pair(
    shared: &Shared,
    call: &Call,
    store: &crate::store::Store,
    user: &User,
) -> Result<(String, String), AuthError> {
    let user_id = user.id.to_string();
    let subject = Subject {
        user_id: &user_id,
        username: &user.username,
        role: &user.role,
        revoked_after_ms: u64::try_from(user.revoked_after).unwrap_or(0),
    };
    let issuer = &call.gen.issuer;
    let family = new_jti();
    let refresh = issuer
        .mint_refresh(&subject, &family, call.now)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let access = issuer
        .mint_access(&subject, call.now, None)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let exp = i64::try_from(refresh.exp).unwrap_or(i64::MAX);
    let now = i64::try_from(call.now).unwrap_or(i64::MAX);
    store
        .refresh_tokens()
        .insert(&refresh.jti, user.id, &family, exp, now)
        .await
        .map_err(|e| {
            shared.link.observe(&e);
            AuthError::from(e)
        })?;
    Ok((refresh.token, access))
}
