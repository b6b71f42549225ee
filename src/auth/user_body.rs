//! The JSON shape of a user (docs/REFERENCE.md#user-object): `id, username, email, role, phone, address,
//! is_active, date_joined, last_login`, never the password or its hash.
//!
//! Times are ISO 8601 in UTC with a `Z`, as DRF's `DateTimeField` writes them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::store::User;

use crate::answer::Answer;

/// A user as the endpoints answer it.
#[derive(Serialize)]
pub(crate) struct UserBody<'a> {
    id: i64,
    username: &'a str,
    email: &'a str,
    role: &'a str,
    phone: &'a str,
    address: &'a str,
    is_active: bool,
    date_joined: String,
    last_login: Option<String>,
}

impl<'a> UserBody<'a> {
    /// The public fields of `user`.
    pub(crate) fn of(user: &'a User) -> UserBody<'a> {
        UserBody {
            id: user.id,
            username: &user.username,
            email: &user.email,
            role: &user.role,
            phone: &user.phone,
            address: &user.address,
            is_active: user.is_active,
            date_joined: iso(user.date_joined),
            last_login: user.last_login.map(iso),
        }
    }
}

/// `status` with `user` as the body.
pub(crate) fn user_response(status: u16, user: &User) -> Answer {
    Answer::json(status, &UserBody::of(user))
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
