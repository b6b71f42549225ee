//! User administration for ADMINs: `GET/POST /auth/users`, `GET/PATCH/DELETE
//! /auth/users/{id}`.
//!
//! - `GET /auth/users?limit=100&offset=0`: a JSON array of users by id (limit 1–1000).
//! - `POST /auth/users`: create a user of any role (same body and answers as register).
//! - `PATCH /auth/users/{id}`: any of `role`, `is_active`, `email`, `phone`, `address`,
//!   `password`; a new role, active flag or password moves the user's revocation point
//!   (their tokens stop working), a new password also revokes their refresh tokens.
//!   Unknown fields are ignored, as DRF does.
//! - `DELETE /auth/users/{id}`: deactivates (rows are kept, tokens revoked); 204.
//! - Deactivation (either way) revokes every token issued up to and including the
//!   current second: a disabled user can get no new one, so no same-second grace.
//!
//! Anonymous callers get 401, non-ADMINs 403, before any validation.

use crate::store::{revocation_point, Store, User, UserPatch};

use super::body::{self, parse_query};
use crate::store::canonical::canonical_email;
use super::error::AuthError;
use super::fields::{bool_field, char_field, choice_field, CharSpec, FieldErrors};
use super::principal;
use super::register;
use crate::answer::Answer;
use super::service::{Call, Shared};
use super::user_body::{user_response, UserBody};
use super::validate_password::{too_long, validate_password};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;
const PATCH_FIELDS: &[&str] = &["email", "password", "role", "phone", "address", "is_active"];

pub(crate) async fn serve_collection(
    shared: &Shared,
    call: &Call,
) -> Result<Answer, AuthError> {
    principal::admin(shared, call).await?;
    if call.req.method == http::Method::POST {
        let form = body::parse(&call.req.headers, &call.req.body)?;
        return register::create(shared, call, &form, true).await;
    }
    let query = parse_query(call.req.query.as_deref().unwrap_or(""));
    let mut errors = FieldErrors::new(&["limit", "offset"]);
    let limit = int_param(&query, "limit", &mut errors).unwrap_or(DEFAULT_LIMIT);
    let offset = int_param(&query, "offset", &mut errors).unwrap_or(0);
    if limit == 0 || limit > MAX_LIMIT {
        errors.add(
            "limit",
            format!("Ensure this value is between 1 and {MAX_LIMIT}."),
        );
    }
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }
    let store = shared.link.store()?;
    let users = store
        .users()
        .list(limit, offset)
        .await
        .map_err(|e| observe(shared, e))?;
    let bodies: Vec<UserBody<'_>> = users.iter().map(UserBody::of).collect();
    Ok(Answer::json(200, &bodies))
}

pub(crate) async fn serve_one(
    shared: &Shared,
    call: &Call,
    id: Option<i64>,
) -> Result<Answer, AuthError> {
    principal::admin(shared, call).await?;
    let id = id.ok_or(AuthError::NotFound)?;
    let store = shared.link.store()?;
    // Tokens minted up to and in the change's millisecond die; tokens
    // minted after reading it live (docs/REFERENCE.md#revocation-boundary).
    let point = revocation_point(call.now_ms);
    match call.req.method.as_str() {
        "PATCH" => patch(shared, call, id, point).await,
        "DELETE" => {
            let patch = UserPatch {
                is_active: Some(false),
                ..UserPatch::default()
            };
            let mut user = store
                .users()
                .update(id, patch, point)
                .await
                .map_err(|e| observe(shared, e))?;
            revoke_inactive(shared, &store, &mut user, point).await?;
            tracing::info!(user_id = id, "user deactivated");
            Ok(Answer::empty(204))
        }
        _ => {
            let user = store
                .users()
                .by_id(id)
                .await
                .map_err(|e| observe(shared, e))?;
            Ok(user_response(200, &user.ok_or(AuthError::NotFound)?))
        }
    }
}

async fn patch(shared: &Shared, call: &Call, id: i64, point: i64) -> Result<Answer, AuthError> {
    let form = body::parse(&call.req.headers, &call.req.body)?;
    let config = &call.gen.config;
    let store = shared.link.store()?;
    let current = store
        .users()
        .by_id(id)
        .await
        .map_err(|e| observe(shared, e))?;
    let current = current.ok_or(AuthError::NotFound)?;

    let mut errors = FieldErrors::new(PATCH_FIELDS);
    let optional_text = CharSpec {
        required: false,
        allow_blank: true,
        max_chars: None,
    };
    let email = char_field(&form, "email", optional_text, &mut errors);
    if let Some(email) = email.as_deref().filter(|e| !e.is_empty()) {
        if let Err(e) = canonical_email(email) {
            errors.add("email", e.to_string());
        }
    }
    let password = char_field(
        &form,
        "password",
        CharSpec {
            required: false,
            ..CharSpec::REQUIRED
        },
        &mut errors,
    );
    if let Some(password) = &password {
        match too_long(password, config.auth.password_max_length) {
            Some(message) => errors.add("password", message),
            None => {
                let email_now = email.as_deref().unwrap_or(&current.email);
                let min = config.auth.password_min_length;
                for message in validate_password(password, &current.username, email_now, min) {
                    errors.add("password", message);
                }
            }
        }
    }
    let roles: Vec<&str> = config.roles.names().iter().map(String::as_str).collect();
    let role = choice_field(&form, "role", &roles, &mut errors);
    let phone = char_field(
        &form,
        "phone",
        CharSpec {
            max_chars: Some(20),
            ..optional_text
        },
        &mut errors,
    );
    let address = char_field(&form, "address", optional_text, &mut errors);
    let is_active = bool_field(&form, "is_active", &mut errors);
    if !errors.is_empty() {
        return Err(AuthError::Invalid(errors));
    }

    let hash = match &password {
        Some(p) => Some(
            shared
                .hasher
                .hash(p)
                .await
                .map_err(|e| AuthError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    // Only real changes move the revocation point.
    let patch = UserPatch {
        role: role.filter(|r| *r != current.role),
        is_active: is_active.filter(|a| *a != current.is_active),
        email,
        phone,
        address,
    };
    let mut user = store
        .users()
        .update(id, patch, point)
        .await
        .map_err(|e| observe(shared, e))?;
    if let Some(hash) = hash {
        store
            .users()
            .set_password_hash(id, &hash, true, point)
            .await
            .map_err(|e| observe(shared, e))?;
        user.revoked_after = user.revoked_after.max(point);
    }
    if !user.is_active {
        revoke_inactive(shared, &store, &mut user, point).await?;
    } else if user.revoked_after > 0 {
        shared.revoke(user.id, user.revoked_after).await;
    }
    tracing::info!(user_id = id, role = %user.role, active = user.is_active, "user changed");
    Ok(user_response(200, &user))
}

/// An inactive user's tokens all die at `point`: also revokes their refresh
/// tokens, and tells this replica's map at once.
async fn revoke_inactive(
    shared: &Shared,
    store: &Store,
    user: &mut User,
    point: i64,
) -> Result<(), AuthError> {
    store
        .users()
        .revoke_tokens(user.id, point)
        .await
        .map_err(|e| observe(shared, e))?;
    user.revoked_after = user.revoked_after.max(point);
    shared.revoke(user.id, user.revoked_after).await;
    Ok(())
}

fn int_param(form: &body::Form, name: &'static str, errors: &mut FieldErrors) -> Option<u32> {
    let text = form.get(name)?.as_str()?;
    match text.trim().parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(name, "A valid integer is required.");
            None
        }
    }
}

fn observe(shared: &Shared, e: crate::store::StoreError) -> AuthError {
    shared.link.observe(&e);
    AuthError::from(e)
}
