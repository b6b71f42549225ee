//! `POST /auth/refresh {"refresh"}`: a new access token and, when `tokens.rotate_refresh`
//! (the default), a new refresh token in the same family (RFC 9700 §4.14, docs/REFERENCE.md#sec-refresh-rotation).
//!
//! - The successor is stored by ONE conditional insert inside `RefreshTokenRepo::rotate`
//!   (unique on the token it replaces), so of any number of parallel refreshes with one
//!   token exactly one wins.
//! - A token presented again after it was rotated is a replay: its whole family is
//!   revoked (the winner's new token included) and the answer is 401 `token_not_valid`.
//! - The user is re-read: missing or inactive → 401; the token issued before the user's
//!   revocation point → 401. The new access token carries the user's current role.
//! - Refused tokens count against the client address and the token's user (429).
//! - Refresh tokens minted by the legacy simplejwt stack (no `fam` claim, no row here)
//!   are refused: clients log in once after the cut-over.


use serde::Serialize;

use crate::store::{Consumed, Store};
use crate::token::{RefreshClaims, Subject, TokenError};

use super::body;
use super::error::AuthError;
use super::fields::{char_field, CharSpec, FieldErrors};
use super::rate_limit::Scope;
use crate::answer::Answer;
use super::service::{Call, Shared};

/// simplejwt's order: access, then refresh (only when rotating).
#[derive(Serialize)]
struct Refreshed<'a> {
    access: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh: Option<&'a str>,
}

pub(crate) async fn serve(shared: &Shared, call: &Call) -> Result<Answer, AuthError> {
    let mut keys = Vec::with_capacity(2);
    let outcome = refresh(shared, call, &mut keys).await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(AuthError::TokenRevoked) => "revoked",
        Err(AuthError::TokenNotValid(_)) | Err(AuthError::NoActiveAccount) => "invalid",
        Err(AuthError::RateLimited { .. }) => "rate_limited",
        Err(AuthError::Unavailable(_)) => "unavailable",
        Err(AuthError::Internal(_)) => "error",
        Err(_) => "bad_request",
    };
    if label == "revoked" || label == "invalid" {
        shared
            .limiter
            .record(call.gen.config.auth.rate_limit, &keys)
            .await;
    }
    shared.metrics.refresh.with_label_values(&[label]).inc();
    outcome
}

async fn refresh(
    shared: &Shared,
    call: &Call,
    keys: &mut Vec<String>,
) -> Result<Answer, AuthError> {
    let form = body::parse(&call.req.headers, &call.req.body)?;
    let mut errors = FieldErrors::new(&["refresh"]);
    let Some(token) = char_field(&form, "refresh", CharSpec::REQUIRED, &mut errors) else {
        return Err(AuthError::Invalid(errors));
    };
    let limit = call.gen.config.auth.rate_limit;
    if let Some(ip) = call.req.client_ip {
        keys.push(Scope::Refresh.address(ip));
    }
    shared.limiter.check(limit, keys).await?;

    let claims = call
        .gen
        .verifier
        .verify_refresh(&token, call.now)
        .map_err(AuthError::TokenNotValid)?;
    let user_id = claims
        .user_id
        .parse::<i64>()
        .map_err(|_| AuthError::TokenNotValid(TokenError::NoUserId))?;
    keys.push(Scope::Refresh.user(&claims.user_id));
    shared.limiter.check(limit, keys).await?;

    let store = shared.link.store()?;
    let observe = |e: crate::store::StoreError| {
        shared.link.observe(&e);
        AuthError::from(e)
    };
    let user = store.users().by_id(user_id).await.map_err(observe)?;
    let user = user
        .filter(|u| u.is_active)
        .ok_or(AuthError::NoActiveAccount)?;
    if i128::from(claims.issued_ms()) < i128::from(user.revoked_after) {
        shared.revocations.note(user.id, user.revoked_after);
        return Err(AuthError::TokenRevoked);
    }
    let id_text = user.id.to_string();
    let subject = Subject {
        user_id: &id_text,
        username: &user.username,
        role: &user.role,
        revoked_after_ms: u64::try_from(user.revoked_after).unwrap_or(0),
    };
    let access = call
        .gen
        .issuer
        .mint_access(&subject, call.now, None)
        .map_err(|e| AuthError::Internal(e.to_string()))?;

    if !call.gen.config.token_policy.rotate_refresh {
        let state = store
            .refresh_tokens()
            .check(&claims.jti, now_i64(call))
            .await
            .map_err(observe)?;
        admit_state(&store, state, user.id)
            .await
            .map_err(observe)??;
        return Ok(Answer::json(
            200,
            &Refreshed {
                access: &access,
                refresh: None,
            },
        ));
    }

    // Tokens without a family were not issued here: they have no row to rotate.
    let family = claims
        .family
        .as_deref()
        .ok_or(AuthError::TokenNotValid(TokenError::Malformed))?;
    let next = call
        .gen
        .issuer
        .mint_refresh(&subject, family, call.now)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let exp = i64::try_from(next.exp).unwrap_or(i64::MAX);
    let state = store
        .refresh_tokens()
        .rotate(&claims.jti, user.id, family, &next.jti, exp, now_i64(call))
        .await
        .map_err(observe)?;
    admit_state(&store, state, user.id)
        .await
        .map_err(observe)??;
    log_rotation(&claims);
    Ok(Answer::json(
        200,
        &Refreshed {
            access: &access,
            refresh: Some(&next.token),
        },
    ))
}

/// What the stored state of a presented token means for the request; a replay revokes
/// the family before answering.
async fn admit_state(
    store: &Store,
    state: Consumed,
    user_id: i64,
) -> Result<Result<(), AuthError>, crate::store::StoreError> {
    Ok(match state {
        Consumed::Fresh { user_id: owner, .. } if owner == user_id => Ok(()),
        // A row of another user under this jti: never issued by us.
        Consumed::Fresh { .. } | Consumed::Unknown => {
            Err(AuthError::TokenNotValid(TokenError::Malformed))
        }
        Consumed::Reused { family } => {
            let revoked = store.refresh_tokens().revoke_family(&family).await?;
            tracing::warn!(user_id, revoked, "refresh token replayed: family revoked");
            Err(AuthError::TokenRevoked)
        }
        Consumed::Revoked => Err(AuthError::TokenRevoked),
        Consumed::Expired => Err(AuthError::TokenNotValid(TokenError::Expired)),
    })
}

fn log_rotation(claims: &RefreshClaims) {
    tracing::debug!(user_id = %claims.user_id, "refresh token rotated");
}

fn now_i64(call: &Call) -> i64 {
    i64::try_from(call.now).unwrap_or(i64::MAX)
}
