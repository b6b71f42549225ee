//! `GET /auth/me`: the calling user (bearer access token), as stored now.

use super::error::AuthError;
use super::principal;
use crate::answer::Answer;
use super::service::{Call, Shared};
use super::user_body::user_response;

pub(crate) async fn serve(shared: &Shared, call: &Call) -> Result<Answer, AuthError> {
    let user = principal::authenticate(shared, call).await?;
    Ok(user_response(200, &user))
}
