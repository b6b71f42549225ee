//! Identity: the endpoints the gateway serves itself under `auth.prefix` (register, login,
//! refresh, verify, logout, me, users, decide) and `/.well-known/jwks.json`, plus the
//! state they share — the user-store link, password hashing, rate limits and the
//! revocation map the hot path reads.
//!
//! No Pingora here: `proxy/` reads the (size-limited) body into an [`AuthRequest`] and
//! writes the [`Answer`], so every endpoint is plain async Rust.
//!
//! ```text
//! proxy ─AuthRequest─▶ AuthService::handle ─ route ─┬─ jwks, verify, decide: inline (no I/O)
//!                                                    └─ the rest: on the AuthRuntime
//!                                                       (store queries, argon2)
//! ```
//!
//! - `service.rs`: routing and the shared state; one file per endpoint.
//! - `error.rs`: the one mapping from [`AuthError`] to status and body.
//! - `body.rs`, `fields.rs`: DRF-compatible parsing and per-field messages.
//! - `rate_limit.rs`, `revocation.rs`, `link.rs`, `runtime.rs`: the shared machinery.
//! - `canonical.rs`, `password.rs`, `validate_password.rs`: usernames, hashing, policy.

pub mod body;
mod decide;
pub mod error;
pub mod fields;
mod jwks;
pub mod link;
mod login;
mod logout;
mod me;
pub mod password;
mod principal;
mod prune;
pub mod rate_limit;
mod refresh;
mod register;
pub mod request;
pub mod revocation;
mod revocation_bus;
mod redis_connection;
pub mod runtime;
mod service;
#[cfg(test)]
mod tests;
mod user_body;
mod users;
pub mod validate_password;
mod verify;

pub use error::AuthError;
pub use link::DatabaseLink;
pub use rate_limit::{RateLimit, RateLimiter};
pub use request::AuthRequest;
pub use crate::answer::Answer;
pub use prune::prune_refresh_tokens;
pub use revocation::poll_revocations;
pub use revocation_bus::{listen_for_revocations, RevocationBus};
pub use runtime::{AuthRuntime, RuntimeError};
pub use service::{AuthService, JWKS_PATH};
