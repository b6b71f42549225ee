//! `POST /auth/register` (anyone, for a role in `auth.self_register_roles`; an ADMIN
//! token may create any role) and the user creation it shares with `POST /auth/users`.
//!
//! Order of checks: a bad `Authorization` header is refused first (as DRF authenticates
//! before anything else); a role that needs an ADMIN is 403 before any validation; then
//! every field is validated at once and all messages are answered together in DRF's
//! field order (`username, email, password, role, phone, address`), including a taken
//! username; only then is the password hashed and the row inserted — one INSERT, so a
//! refused request never leaves a half-created user, and the unique index settles races.


use chrono::Utc;

use crate::policy::DenyReason;
use crate::admission::Denial;
use crate::store::{NewUser, User};

use super::body::{self, Form};
use crate::store::canonical::{canonical_email, canonical_username};
use super::error::AuthError;
use super::fields::{char_field, choice_field, CharSpec, FieldErrors, REQUIRED};
use super::principal::{self, is_admin};
use super::rate_limit::Scope;
use crate::answer::Answer;
use super::service::{Call, Shared};
use super::user_body::user_response;
use super::validate_password::{too_long, validate_password};

/// DRF's field order for the user serializer.
const FIELDS: &[&str] = &["username", "email", "password", "role", "phone", "address"];
/// The role only an ADMIN may hand out (and never to themselves by registering).
pub(crate) const ADMIN_ROLE: &str = "ADMIN";
const PHONE_MAX_CHARS: usize = 20;

pub(crate) async fn serve(shared: &Shared, call: &Call) -> Result<Answer, AuthError> {
    let creator = principal::optional(shared, call).await?;
    let form = body::parse(&call.req.headers, &call.req.body)?;
    let by_admin = creator.as_ref().is_some_and(is_admin);
    if !by_admin {
        let limit = call.gen.config.auth.rate_limit;
        let mut keys = Vec::with_capacity(2);
        if let Some(ip) = call.req.client_ip {
            keys.push(Scope::Register.address(ip));
        }
        if let Some(name) = form.get("username").and_then(|v| v.as_str()) {
            if let Ok(canonical) = canonical_username(name) {
                keys.push(Scope::Register.user(&canonical));
            }
        }
        shared.limiter.check(limit, &keys).await?;
        // Every attempt counts: each one may cost a hash.
        shared.limiter.record(limit, &keys).await;
    }
    create(shared, call, &form, by_admin).await
}

/// Validates `form` and creates the user; `by_admin` lifts the role restriction.
pub(crate) async fn create(
    shared: &Shared,
    call: &Call,
    form: &Form,
    by_admin: bool,
) -> Result<Answer, AuthError> {
    let config = &call.gen.config;
    let roles: Vec<&str> = config.roles.names().iter().map(String::as_str).collect();
    let mut errors = FieldErrors::new(FIELDS);

    let role = match form.get("role") {
        None => config.auth.self_register_roles.first().cloned(),
        Some(_) => choice_field(form, "role", &roles, &mut errors),
    };
    let may_self_register = |r: &str| config.auth.self_register_roles.iter().any(|s| s == r);
    match &role {
        Some(r) if !by_admin && (r == ADMIN_ROLE || !may_self_register(r)) => {
            return Err(AuthError::Denied(Denial::Forbidden(
                DenyReason::RoleNotAllowed,
            )));
        }
        None if !by_admin && !errors.has("role") => {
            // Self-registration is closed (no self_register_roles).
            return Err(AuthError::Denied(Denial::Forbidden(
                DenyReason::RoleNotAllowed,
            )));
        }
        None if !errors.has("role") => errors.add("role", REQUIRED),
        _ => {}
    }

    let username = char_field(form, "username", CharSpec::REQUIRED, &mut errors);
    let canonical = username
        .as_deref()
        .and_then(|u| match canonical_username(u) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.add("username", e.to_string());
                None
            }
        });
    let optional_text = CharSpec {
        required: false,
        allow_blank: true,
        max_chars: None,
    };
    let email = char_field(form, "email", optional_text, &mut errors).unwrap_or_default();
    if !email.is_empty() {
        if let Err(e) = canonical_email(&email) {
            errors.add("email", e.to_string());
        }
    }
    let password = char_field(form, "password", CharSpec::REQUIRED, &mut errors);
    if let Some(password) = &password {
        let max = config.auth.password_max_length;
        match too_long(password, max) {
            Some(message) => errors.add("password", message),
            None => {
                let name = username.as_deref().unwrap_or("");
                for message in
                    validate_password(password, name, &email, config.auth.password_min_length)
                {
                    errors.add("password", message);
                }
            }
        }
    }
    let phone_spec = CharSpec {
        max_chars: Some(PHONE_MAX_CHARS),
        ..optional_text
    };
    let phone = char_field(form, "phone", phone_spec, &mut errors).unwrap_or_default();
    let address = char_field(form, "address", optional_text, &mut errors).unwrap_or_default();

    let store = shared.link.store()?;
    if let Some(canonical) = &canonical {
        if !errors.has("username") && store.users().by_username(canonical).await?.is_some() {
            errors.add("username", "A user with that username already exists.");
        }
    }
    let (Some(username), Some(password), Some(role), true) =
        (username, password, role, errors.is_empty())
    else {
        return Err(AuthError::Invalid(errors));
    };

    let password_hash = shared
        .hasher
        .hash(&password)
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let new = NewUser {
        username,
        email,
        password_hash,
        role,
        phone,
        address,
    };
    let user: User = store.users().create(new, Utc::now()).await.map_err(|e| {
        shared.link.observe(&e);
        AuthError::from(e)
    })?;
    tracing::info!(user_id = user.id, role = %user.role, by_admin, "user created");
    Ok(user_response(201, &user))
}
