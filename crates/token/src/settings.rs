//! Compiled token settings: the key specs and lifetimes that `config` hands to [`Keys`],
//! [`Verifier`] and [`Issuer`].
//!
//! Plain data, no validation here: [`Keys::new`] is where key material is checked.
//!
//! [`Keys`]: super::Keys
//! [`Keys::new`]: super::Keys::new
//! [`Verifier`]: super::Verifier
//! [`Issuer`]: super::Issuer

use std::fmt;
use std::time::Duration;

use jsonwebtoken::Algorithm;

/// A shared HMAC secret. The UTF-8 bytes of the string are the key, exactly as
/// simplejwt uses `SIGNING_KEY` (no base64 decoding).
///
/// `Debug` prints `[redacted]`, so a secret can sit in a settings struct that gets logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself. Named so that every use is easy to find in review.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Secret {
        Secret(secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The key bytes of one configured key.
#[derive(Clone)]
pub enum KeyMaterial {
    /// HS256 / HS384 / HS512: a shared secret.
    Hmac(Secret),
    /// RS256 / ES256 / EdDSA: PEM files as read from disk.
    Asymmetric {
        /// PKCS#8 (or PKCS#1 for RSA) private key. Required on the current key, which
        /// signs; ignored on previous keys, which only verify.
        private_pem: Option<Vec<u8>>,
        /// SPKI (or PKCS#1 for RSA) public key.
        public_pem: Vec<u8>,
    },
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::Hmac(secret) => f.debug_tuple("Hmac").field(secret).finish(),
            KeyMaterial::Asymmetric {
                private_pem,
                public_pem,
            } => f
                .debug_struct("Asymmetric")
                .field("private_pem", &private_pem.as_ref().map(|_| "[redacted]"))
                .field("public_pem", &format_args!("{} bytes", public_pem.len()))
                .finish(),
        }
    }
}

/// One configured key: its id, its algorithm (which alone decides how tokens under it are
/// verified) and its material.
#[derive(Clone, Debug)]
pub struct KeySpec {
    /// Key id put in the JWS header of minted tokens and used to pick the key when
    /// verifying. `None` for simplejwt-compatible tokens (simplejwt never sends a `kid`).
    pub kid: Option<String>,
    /// The algorithm of this key. A token's header `alg` must equal it.
    pub algorithm: Algorithm,
    /// The secret or PEM files.
    pub material: KeyMaterial,
}

/// Everything the token module needs from the `tokens:` section of the config.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    /// The key that signs new tokens (and verifies).
    pub current: KeySpec,
    /// Keys that still verify during a rotation. When `current` has a `kid`, each of these
    /// must have one too.
    pub previous: Vec<KeySpec>,
    /// Lifetime of minted access tokens (`exp = iat + access_ttl`).
    pub access_ttl: Duration,
    /// Lifetime of minted refresh tokens.
    pub refresh_ttl: Duration,
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (whole seconds are used).
    pub leeway: Duration,
    /// When set, minted tokens carry `iss` and verified tokens must carry exactly this string.
    pub issuer: Option<String>,
    /// When set, minted tokens carry `aud` and verified tokens must name it (string or
    /// array). When unset, a token's `aud` is ignored, as simplejwt does.
    pub audience: Option<String>,
    /// Maximum number of verified access tokens kept in the cache; `0` disables it.
    pub cache_max_entries: u64,
}

impl TokenSettings {
    /// Settings with simplejwt's defaults around `current`: access 60 min, refresh 7 days,
    /// leeway 0, no issuer or audience, and a 100 000-entry cache.
    pub fn new(current: KeySpec) -> TokenSettings {
        TokenSettings {
            current,
            previous: Vec::new(),
            access_ttl: Duration::from_secs(60 * 60),
            refresh_ttl: Duration::from_secs(7 * 24 * 60 * 60),
            leeway: Duration::ZERO,
            issuer: None,
            audience: None,
            cache_max_entries: 100_000,
        }
    }
}
