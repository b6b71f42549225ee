//! The key set of one config generation: every configured key loaded once, each pinned to
//! its own algorithm, plus the JWKS document of the public keys.
//!
//! A token's header never chooses an algorithm or a key source: a `kid` is only a lookup
//! key among these entries (never a path, URL or query), and `jku`/`x5u`/`jwk`/`x5c` are
//! never read. Building is the only place key material is checked; after it, lookups are
//! allocation-free scans of a handful of entries.

use std::fmt;

use jsonwebtoken::Algorithm;

use super::crypto::{SignKey, VerifyKey};
use super::key_error::{KeyError, KeyRef};
use serde_json::{json, Value};

use super::material::{self, PublishedSecrets};
use super::settings::{KeyMaterial, KeySpec, TokenSettings};

/// Longest accepted `kid`, in bytes.
const MAX_KID_BYTES: usize = 128;

/// One loaded key, pinned to its algorithm.
pub(crate) struct KeyEntry {
    pub(crate) kid: Option<Box<str>>,
    pub(crate) algorithm: Algorithm,
    /// The header `alg` string a token must carry to be checked against this key.
    pub(crate) alg_name: &'static str,
    pub(crate) decoding: VerifyKey,
    /// Only on the current key.
    pub(crate) encoding: Option<SignKey>,
}

/// All verification keys of one config generation (current first), and the signing key.
///
/// Immutable once built; share it as `Arc<Keys>`. A reload builds a new `Keys`.
pub struct Keys {
    entries: Vec<KeyEntry>,
    jwks: Value,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<_> = self
            .entries
            .iter()
            .map(|e| (e.kid.as_deref(), e.alg_name))
            .collect();
        f.debug_struct("Keys").field("keys", &kids).finish()
    }
}

impl Keys {
    /// Loads and checks every key of `settings`: supported algorithm, secret strength,
    /// PEM type and size, a private key on the current key that matches its public key,
    /// unique kids.
    pub fn new(settings: &TokenSettings) -> Result<Keys, KeyError> {
        Keys::build(settings, PublishedSecrets::Refuse)
    }

    /// Like [`Keys::new`] but accepts published secrets, for the simplejwt reference
    /// vectors in unit tests only.
    #[cfg(test)]
    pub(crate) fn new_allowing_published_secret(
        settings: &TokenSettings,
    ) -> Result<Keys, KeyError> {
        Keys::build(settings, PublishedSecrets::Allow)
    }

    fn build(settings: &TokenSettings, published: PublishedSecrets) -> Result<Keys, KeyError> {
        let specs = std::iter::once((KeyRef::Current, &settings.current)).chain(
            settings
                .previous
                .iter()
                .enumerate()
                .map(|(i, s)| (KeyRef::Previous(i), s)),
        );
        let mut entries: Vec<KeyEntry> = Vec::with_capacity(1 + settings.previous.len());
        let mut jwks = Vec::new();
        for (key, spec) in specs {
            check_kid(key, spec, settings, &entries)?;
            let (entry, jwk) = load(key, spec, published)?;
            if let Some(mut jwk) = jwk {
                jwk["alg"] = json!(entry.alg_name);
                jwk["use"] = json!("sig");
                if let Some(kid) = &entry.kid {
                    jwk["kid"] = json!(kid);
                }
                jwks.push(jwk);
            }
            entries.push(entry);
        }
        Ok(Keys {
            entries,
            jwks: json!({ "keys": jwks }),
        })
    }

    /// The public keys of asymmetric algorithms as a JWKS document (`{"keys": [...]}`,
    /// each with `alg`, `use: "sig"` and `kid` when configured). Empty for HMAC keys,
    /// which are secret.
    pub fn jwks(&self) -> Value {
        self.jwks.clone()
    }

    /// The algorithm new tokens are signed with.
    pub fn current_algorithm(&self) -> Algorithm {
        self.current().algorithm
    }

    pub(crate) fn current(&self) -> &KeyEntry {
        // `build` always pushes the current key first; an empty set cannot be built.
        &self.entries[0]
    }

    /// The key with this `kid`, if configured.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&KeyEntry> {
        self.entries.iter().find(|e| e.kid.as_deref() == Some(kid))
    }

    /// Keys tried for a token without `kid`: the current key, then previous keys that have
    /// no `kid` themselves.
    pub(crate) fn without_kid(&self) -> impl Iterator<Item = &KeyEntry> {
        let (current, previous) = self.entries.split_at(1);
        current
            .iter()
            .chain(previous.iter().filter(|e| e.kid.is_none()))
    }
}

fn check_kid(
    key: KeyRef,
    spec: &KeySpec,
    settings: &TokenSettings,
    loaded: &[KeyEntry],
) -> Result<(), KeyError> {
    match &spec.kid {
        Some(kid) => {
            let printable = kid.bytes().all(|b| b.is_ascii_graphic());
            if kid.is_empty() || kid.len() > MAX_KID_BYTES || !printable {
                return Err(KeyError::InvalidKid { key });
            }
            if loaded
                .iter()
                .any(|e| e.kid.as_deref() == Some(kid.as_str()))
            {
                return Err(KeyError::DuplicateKid {
                    key,
                    kid: kid.clone(),
                });
            }
        }
        None if key != KeyRef::Current && settings.current.kid.is_some() => {
            return Err(KeyError::PreviousKeyWithoutKid { key });
        }
        None => {}
    }
    Ok(())
}

fn load(
    key: KeyRef,
    spec: &KeySpec,
    published: PublishedSecrets,
) -> Result<(KeyEntry, Option<Value>), KeyError> {
    let algorithm = spec.algorithm;
    let alg_name = alg_name(algorithm).ok_or(KeyError::UnsupportedAlgorithm { key, algorithm })?;
    let is_hmac = matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    );
    let loaded = match (&spec.material, is_hmac) {
        (KeyMaterial::Hmac(secret), true) => material::hmac(key, spec, secret, published)?,
        (KeyMaterial::Asymmetric { .. }, true) => {
            return Err(KeyError::HmacWithPem { key, algorithm })
        }
        (KeyMaterial::Hmac(_), false) => {
            return Err(KeyError::AsymmetricWithSecret { key, algorithm })
        }
        (
            KeyMaterial::Asymmetric {
                private_pem,
                public_pem,
            },
            false,
        ) => {
            // Previous keys only verify: their private key is not even parsed.
            let private_pem = if key == KeyRef::Current {
                private_pem.as_deref()
            } else {
                None
            };
            material::asymmetric(key, spec, private_pem, public_pem)?
        }
    };
    let encoding = if key == KeyRef::Current {
        Some(loaded.encoding.ok_or(KeyError::MissingPrivateKey { key })?)
    } else {
        None
    };
    let kid = spec.kid.as_deref().map(Box::from);
    Ok((
        KeyEntry {
            kid,
            algorithm,
            alg_name,
            decoding: loaded.decoding,
            encoding,
        },
        loaded.jwk,
    ))
}

/// The JOSE name of a supported algorithm; `None` for the ones we refuse.
pub(crate) fn alg_name(algorithm: Algorithm) -> Option<&'static str> {
    Some(match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        _ => return None,
    })
}
