//! Access and refresh tokens: the key set, verification behind a per-generation cache, and
//! minting wire-compatible with djangorestframework-simplejwt.
//!
//! Plain Rust: no Pingora, no metrics, no config parsing, no clock (callers pass `now`,
//! unix seconds), no I/O except [`keygen`] writing key files.
//!
//! ```text
//! config ──TokenSettings──▶ Keys::new ──Arc<Keys>──┬─▶ Verifier (cache) ─▶ proxy, auth
//!                           (checks material,      └─▶ Issuer ───────────▶ auth, `token mint`
//!                            pins one alg per key)
//! ```
//!
//! - `keys.rs`, `material.rs`: load and check keys; the JWKS document. `crypto.rs`: the
//!   parsed signing and verification keys (aws-lc-rs).
//! - `decode.rs`, `wire.rs`: the verification rules and the strict JSON shapes.
//! - `remote/`: tokens of external issuers (OIDC providers): key sets, claim mapping.
//! - `verify.rs`: [`Verifier`] and its moka cache; `identity_values.rs`: the claims as
//!   header values, built once per verification. `issue.rs`: [`Issuer`]. `keygen.rs`.
//!
//! Threats closed here (docs/REFERENCE.md#sec-tokens): the algorithm comes from the configured key, never
//! the header (T1, T2); `kid` only selects among configured keys and `jku`/`x5u`/`jwk`/
//! `x5c` are never read (T3); weak secrets are refused (T4); `exp` required, `nbf` and
//! future `iat` checked with leeway, integer-only times (T5); `iss`/`aud` required when
//! configured, `iss` must be a string (T6); `token_type` checked (T7); `crit` refused
//! (T8); duplicate names and non-canonical base64url refused (T9); 8 KiB cap (T10);
//! only successes cached, never past `exp` or the config generation (T11).

mod crypto;
mod decode;
mod doorkeeper;
mod error;
mod identity_values;
mod issue;
mod key_error;
mod keygen;
mod keys;
mod material;
pub mod remote;
mod settings;
mod verify;
mod wire;

#[cfg(test)]
mod tests;

pub use jsonwebtoken::Algorithm;

pub use decode::MAX_TOKEN_BYTES;
pub use error::{SimplejwtReason, TokenError};
pub use identity_values::IdentityValues;
pub use issue::{issued_ms, jti_at, new_jti, Issuer, MintedRefresh, Subject};
pub use key_error::{KeyError, KeyRef, PemRole};
pub use keygen::{generate, generate_rsa, keygen, KeygenError, PRIVATE_FILE, PUBLIC_FILE, RSA_BITS, SECRET_FILE};
pub use keys::Keys;
pub use settings::{KeyMaterial, KeySpec, Secret, TokenSettings};
pub use verify::{Verified, Verifier};

/// The claims of a verified access token, as the proxy needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user's id in canonical string form: simplejwt ≥ 5.5 sends `"400"`, older
    /// versions `400`; both are accepted and both become `"400"`.
    pub user_id: Box<str>,
    /// `username`, absent in simplejwt-minted tokens.
    pub username: Option<Box<str>>,
    /// `role`, absent in simplejwt-minted tokens (the caller then loads the user).
    pub role: Option<Box<str>>,
    /// Issued at, unix seconds; compared with the user's revocation point (docs/REFERENCE.md#revocation).
    pub iat: u64,
    /// Expiry, unix seconds.
    pub exp: u64,
    /// Token id.
    pub jti: Box<str>,
    /// `user_id`, `username` and `role` ready to be identity header values.
    pub header_values: IdentityValues,
    /// Every configured role the token carries: the `role` claim of the gateway's
    /// own tokens, the mapped roles of an external issuer's (for which `role` is
    /// these names comma-joined).
    pub roles: Box<[Box<str>]>,
    /// The external issuer's name; `None` for the gateway's own tokens.
    pub issuer: Option<std::sync::Arc<str>>,
    /// The issuer's `claim_headers`, ready to send upstream.
    pub extra_headers: Box<[(http::HeaderName, http::HeaderValue)]>,
    /// The scopes a route may require: an external issuer's, as mapped; none
    /// for the gateway's own tokens.
    pub scopes: Box<[Box<str>]>,
    /// The audiences the token names, as verified: an external issuer's `aud`;
    /// `tokens.audience` for the gateway's own, when one is configured.
    pub audiences: Box<[Box<str>]>,
}

impl AccessClaims {
    /// When the token was issued, in unix milliseconds ([`issued_ms`]).
    pub fn issued_ms(&self) -> u64 {
        issued_ms(&self.jti, self.iat)
    }
}

/// The claims of a verified refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshClaims {
    /// The user's id in canonical string form (see [`AccessClaims::user_id`]).
    pub user_id: Box<str>,
    /// `username`, absent in simplejwt-minted tokens.
    pub username: Option<Box<str>>,
    /// `role`, absent in simplejwt-minted tokens.
    pub role: Option<Box<str>>,
    /// Issued at, unix seconds.
    pub iat: u64,
    /// Expiry, unix seconds.
    pub exp: u64,
    /// Token id: the key of this token in the refresh-token store.
    pub jti: String,
    /// Our rotation family claim `fam`; absent in simplejwt-minted tokens.
    pub family: Option<String>,
}

impl RefreshClaims {
    /// When the token was issued, in unix milliseconds ([`issued_ms`]).
    pub fn issued_ms(&self) -> u64 {
        issued_ms(&self.jti, self.iat)
    }
}

/// Milliseconds since the Unix epoch: revocation points and the issue time a
/// `jti` carries ([`issued_ms`]).
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch, the unit of `exp`, `iat` and `nbf`.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
