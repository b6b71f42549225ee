//! Identity: canonical usernames and emails, password hashing and the password policy
//! (the storage half of issue 3); the endpoints build on these.

pub mod canonical;
pub mod password;
pub mod validate_password;
