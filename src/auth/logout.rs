//! `POST /auth/logout`: ends sessions.
//!
//! - `{"refresh": R}`: revokes R's rotation family (the session R belongs to), so neither
//!   R nor any token rotated from it can be refreshed again. 200 `{}`.
//! - `{"refresh": R, "all": true}`, or `{"all": true}` with `Authorization: Bearer
//!   <access>`: log out everywhere — the user's revocation point moves past now (every
//!   access token issued before it is refused on every replica within
//!   `tokens.revocation_poll`, at once on this one) and all their refresh tokens are
//!   revoked. 200 `{}`.
//!
//! Access tokens of a single-session logout stay valid until they expire, as with
//! simplejwt's blacklist; use `all` to cut them off too.

use super::body;
use super::error::AuthError;
use super::fields::{bool_field, char_field, CharSpec, FieldErrors, REQUIRED};
use super::principal;
use super::request::Empty;
use crate::answer::Answer;
use super::service::{Call, Shared};
use crate::token::TokenError;

pub(crate) async fn serve(shared: &Shared, call: &Call) -> Result<Answer, AuthError> {
    let form = body::parse(&call.req.headers, &call.req.body)?;
    let mut errors = FieldErrors::new(&["refresh", "all"]);
    let optional = CharSpec {
        required: false,
        ..CharSpec::REQUIRED
    };
    let refresh = char_field(&form, "refresh", optional, &mut errors);
    let all = bool_field(&form, "all", &mut errors).unwrap_or(false);
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    let observe = |e: crate::store::StoreError| {
        shared.link.observe(&e);
        AuthError::from(e)
    };
    let user_id = match &refresh {
        Some(token) => {
            let claims = call
                .gen
                .verifier
                .verify_refresh(token, call.now)
                .map_err(AuthError::TokenNotValid)?;
            let user_id = claims
                .user_id
                .parse::<i64>()
                .map_err(|_| AuthError::TokenNotValid(TokenError::NoUserId))?;
            if !all {
                let store = shared.link.store()?;
                let tokens = store.refresh_tokens();
                match &claims.family {
                    Some(family) => tokens.revoke_family(family).await.map(drop),
                    None => tokens.revoke(&claims.jti).await.map(drop),
                }
                .map_err(observe)?;
                return Ok(Answer::json(200, &Empty {}));
            }
            user_id
        }
        None if all => principal::authenticate(shared, call).await?.id,
        None => {
            errors.add("refresh", REQUIRED);
            return Err(AuthError::Invalid(errors));
        }
    };
    let point = crate::store::revocation_point(call.now_ms);
    let store = shared.link.store()?;
    match store.users().revoke_tokens(user_id, point).await {
        // The token's user is gone: nothing left to log out.
        Ok(()) | Err(crate::store::StoreError::NotFound) => {}
        Err(e) => return Err(observe(e)),
    }
    shared.revoke(user_id, point).await;
    tracing::info!(user_id, "logged out everywhere");
    Ok(Answer::json(200, &Empty {}))
}
