//! `POST /auth/verify {"token"}`: simplejwt's `TokenVerifyView` — 200 `{}` for a token of
//! any type whose signature, times, issuer/audience and `jti` are good; 401
//! `token_not_valid` otherwise. No store access.
//!
//! One addition: a token issued before its user's revocation point (docs/REFERENCE.md#revocation) is
//! refused here too, from the in-memory map, so a backend asking "is this token still
//! good?" gets the same answer the hot path gives.

use super::body;
use super::error::AuthError;
use super::fields::{char_field, CharSpec, FieldErrors};
use super::request::Empty;
use crate::answer::Answer;
use super::service::{Call, Shared};

pub(crate) fn serve(shared: &Shared, call: &Call) -> Result<Answer, AuthError> {
    let form = body::parse(&call.req.headers, &call.req.body)?;
    let mut errors = FieldErrors::new(&["token"]);
    let token = char_field(&form, "token", CharSpec::REQUIRED, &mut errors);
    let Some(token) = token else {
        return Err(AuthError::Invalid(errors));
    };
    let verifier = &call.gen.verifier;
    verifier
        .verify_any(&token, call.now)
        .map_err(AuthError::TokenNotValid)?;
    // Which type it is only matters for reading its claims back.
    let subject = match verifier.verify_access(&token, call.now) {
        Ok(v) => Some((v.claims.user_id.clone(), v.claims.issued_ms())),
        Err(_) => verifier
            .verify_refresh(&token, call.now)
            .ok()
            .map(|c| (c.user_id.clone(), c.issued_ms())),
    };
    if let Some((user_id, issued)) = subject {
        if shared.revocations.is_revoked(&user_id, || issued) {
            return Err(AuthError::TokenRevoked);
        }
    }
    Ok(Answer::json(200, &Empty {}))
}
