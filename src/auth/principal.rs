//! Who is calling an identity endpoint: the bearer access token, verified exactly as the
//! hot path verifies it (same outcomes, same bodies) and minted by the gateway itself
//! (an external issuer's token is refused), then the user row, which must exist, be
//! active, and not have been revoked after the token was issued.

use crate::admission::bearer::bearer_token;
use crate::admission::Denial;
use crate::store::User;
use crate::token::TokenError;

use super::error::AuthError;
use super::service::{Call, Shared};

/// The calling user, from `Authorization: Bearer <access token>`.
pub(crate) async fn authenticate(shared: &Shared, call: &Call) -> Result<User, AuthError> {
    let token = bearer_token(&call.req.headers).map_err(AuthError::Denied)?;
    user_of(shared, call, token).await
}

/// Like [`authenticate`], but `None` when the request carries no bearer credentials (no
/// `Authorization` header, or another scheme); a malformed header or a bad token is still
/// refused, as DRF's `JWTAuthentication` does on `AllowAny` views.
pub(crate) async fn optional(shared: &Shared, call: &Call) -> Result<Option<User>, AuthError> {
    match bearer_token(&call.req.headers) {
        Err(Denial::NotAuthenticated) => Ok(None),
        Err(denial) => Err(AuthError::Denied(denial)),
        Ok(token) => user_of(shared, call, token).await.map(Some),
    }
}

/// The calling user, who must hold the ADMIN role (403 otherwise).
pub(crate) async fn admin(shared: &Shared, call: &Call) -> Result<User, AuthError> {
    let user = authenticate(shared, call).await?;
    if is_admin(&user) {
        Ok(user)
    } else {
        Err(AuthError::Denied(Denial::Forbidden(
            crate::policy::DenyReason::RoleNotAllowed,
        )))
    }
}

/// Whether `user` may administer users (the role, as stored now, not as in the token).
pub(crate) fn is_admin(user: &User) -> bool {
    user.role == "ADMIN"
}

async fn user_of(shared: &Shared, call: &Call, token: &str) -> Result<User, AuthError> {
    let verified = call
        .gen
        .verifier
        .verify_access(token, call.now)
        .map_err(|e| AuthError::Denied(Denial::InvalidToken(e)))?;
    let claims = verified.claims;
    // The identity endpoints serve the gateway's own users. An external
    // issuer's subject lives in another namespace: its `sub` "7" is not our
    // user 7, so its tokens never act as one here.
    if claims.issuer.is_some() {
        return Err(AuthError::Denied(Denial::InvalidToken(TokenError::UnknownIssuer)));
    }
    if shared.revocations.is_revoked(&claims.user_id, || claims.issued_ms()) {
        return Err(AuthError::Denied(Denial::Revoked));
    }
    let Ok(id) = claims.user_id.parse::<i64>() else {
        return Err(AuthError::UserNotFound);
    };
    let store = shared.link.store()?;
    let user = store
        .users()
        .by_id(id)
        .await?
        .ok_or(AuthError::UserNotFound)?;
    if !user.is_active {
        return Err(AuthError::UserInactive);
    }
    if i128::from(claims.issued_ms()) < i128::from(user.revoked_after) {
        // The poller has not caught up yet; the row is the truth.
        shared.revocations.note(user.id, user.revoked_after);
        return Err(AuthError::Denied(Denial::Revoked));
    }
    Ok(user)
}
