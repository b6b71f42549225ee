//! `KeyError`: why a configured key set cannot be used, with the key it is about and what
//! to do about it.

use std::fmt;

use jsonwebtoken::Algorithm;

/// Which configured key an error is about: maps to `tokens` / `tokens.previous_keys[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRef {
    /// `TokenSettings::current`.
    Current,
    /// `TokenSettings::previous[i]`.
    Previous(usize),
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::Current => f.write_str("current key"),
            KeyRef::Previous(i) => write!(f, "previous key #{i}"),
        }
    }
}

/// Which PEM file of a key an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemRole {
    /// The private key file.
    Private,
    /// The public key file.
    Public,
}

impl fmt::Display for PemRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemRole::Private => "private",
            PemRole::Public => "public",
        })
    }
}

/// Why the configured keys cannot be used. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Algorithm outside the supported set.
    #[error("{key}: algorithm {algorithm:?} is not supported: use HS256, HS384, HS512, RS256, ES256 or EdDSA")]
    UnsupportedAlgorithm {
        /// The key concerned.
        key: KeyRef,
        /// Its configured algorithm.
        algorithm: Algorithm,
    },
    /// HMAC secret shorter than the hash output (RFC 7518 §3.2).
    #[error("{key}: a {algorithm:?} secret needs at least {min} bytes, this one has {actual}: generate one with `nexora-gate keygen --alg {algorithm:?}`")]
    SecretTooShort {
        /// The key concerned.
        key: KeyRef,
        /// Its configured algorithm.
        algorithm: Algorithm,
        /// Minimum length in bytes.
        min: usize,
        /// Actual length in bytes.
        actual: usize,
    },
    /// A secret from documentation, tutorials or the reference stack.
    #[error("{key}: the signing secret is a published or placeholder value that anyone can use to forge tokens: generate one with `nexora-gate keygen`")]
    PublishedSecret {
        /// The key concerned.
        key: KeyRef,
    },
    /// A secret made of one repeated character.
    #[error("{key}: the signing secret repeats a single character: generate one with `nexora-gate keygen`")]
    RepetitiveSecret {
        /// The key concerned.
        key: KeyRef,
    },
    /// HMAC algorithm configured with PEM files (never turn a public key into an HMAC key).
    #[error("{key}: {algorithm:?} takes a shared secret (signing_key), not PEM key files: set signing_key, or choose RS256, ES256 or EdDSA for key files")]
    HmacWithPem {
        /// The key concerned.
        key: KeyRef,
        /// Its configured algorithm.
        algorithm: Algorithm,
    },
    /// Asymmetric algorithm configured with a shared secret.
    #[error("{key}: {algorithm:?} takes PEM key files (private_key_file, public_key_file), not a shared secret: set the key files, or choose HS256")]
    AsymmetricWithSecret {
        /// The key concerned.
        key: KeyRef,
        /// Its configured algorithm.
        algorithm: Algorithm,
    },
    /// A PEM file that does not parse, or holds another kind of key.
    #[error("{key}: the {role} key PEM does not hold a {algorithm:?} key ({reason}): generate a pair with `nexora-gate keygen --alg {algorithm:?}`")]
    InvalidPem {
        /// The key concerned.
        key: KeyRef,
        /// Which of its PEM files.
        role: PemRole,
        /// Its configured algorithm.
        algorithm: Algorithm,
        /// What the parser said.
        reason: String,
    },
    /// RSA modulus under 2048 bits (RFC 7518 §3.3).
    #[error("{key}: the RSA key has {bits} bits, at least 2048 are required: generate a new pair with `nexora-gate keygen --alg RS256`")]
    RsaKeyTooSmall {
        /// The key concerned.
        key: KeyRef,
        /// Modulus size.
        bits: usize,
    },
    /// The current key has no private key, so nothing could be signed.
    #[error("{key}: no private key: the current key signs tokens, so set its private_key_file")]
    MissingPrivateKey {
        /// The key concerned.
        key: KeyRef,
    },
    /// Private and public PEM belong to different key pairs.
    #[error("{key}: the private and public key files are not one key pair: point both at the same keygen output")]
    KeyPairMismatch {
        /// The key concerned.
        key: KeyRef,
    },
    /// Two keys share a `kid`.
    #[error("{key}: kid {kid:?} is used by another key: give each key its own kid")]
    DuplicateKid {
        /// The key concerned.
        key: KeyRef,
        /// The repeated kid.
        kid: String,
    },
    /// A previous key has no `kid` while the current key has one.
    #[error("{key}: has no kid while the current key has one: give every previous key a kid")]
    PreviousKeyWithoutKid {
        /// The key concerned.
        key: KeyRef,
    },
    /// An empty, over-long or non-printable `kid`.
    #[error("{key}: kid must be 1 to 128 printable ASCII characters")]
    InvalidKid {
        /// The key concerned.
        key: KeyRef,
    },
}

impl KeyError {
    /// The key the problem is about, so the config compiler can point at it.
    pub fn key(&self) -> KeyRef {
        match self {
            KeyError::UnsupportedAlgorithm { key, .. }
            | KeyError::SecretTooShort { key, .. }
            | KeyError::PublishedSecret { key, .. }
            | KeyError::RepetitiveSecret { key, .. }
            | KeyError::HmacWithPem { key, .. }
            | KeyError::AsymmetricWithSecret { key, .. }
            | KeyError::InvalidPem { key, .. }
            | KeyError::RsaKeyTooSmall { key, .. }
            | KeyError::MissingPrivateKey { key, .. }
            | KeyError::KeyPairMismatch { key, .. }
            | KeyError::DuplicateKid { key, .. }
            | KeyError::PreviousKeyWithoutKid { key, .. }
            | KeyError::InvalidKid { key, .. } => *key,
        }
    }
}
