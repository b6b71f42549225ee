//! Turns one [`KeySpec`]'s material into jsonwebtoken keys, refusing weak or mismatched
//! material: short or published HMAC secrets (T4), PEM files for an HMAC algorithm (T2),
//! PEM of the wrong key type, RSA moduli under 2048 bits, and key pairs that don't match.
//!
//! PEM files are parsed with the RustCrypto crate of the exact key type first, so a P-384
//! key given for ES256 or an Ed25519 key given for RS256 is refused here rather than
//! failing on every request later.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{json, Value};

use super::key_error::{KeyError, KeyRef, PemRole};
use super::settings::{KeySpec, Secret};

/// Secrets that appear in documentation, tutorials or our own reference stack. Compared
/// after trimming and ASCII-lowercasing.
const PUBLISHED_SECRETS: &[&str] = &[
    "",
    "changeme",
    "change-me",
    "secret",
    "password",
    "your-256-bit-secret",
    "your-384-bit-secret",
    "your-512-bit-secret",
    "nexora-reference-hs256-signing-key-0123456789abcdef0123456789abcd",
];

/// Whether published secrets are refused. Only unit tests may allow them (to check the
/// simplejwt reference vectors); real configs always go through `Refuse`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishedSecrets {
    Refuse,
    #[cfg(test)]
    Allow,
}

/// The jsonwebtoken keys built from one spec.
pub(crate) struct Material {
    pub(crate) decoding: DecodingKey,
    /// Present only when a private key was given and loaded.
    pub(crate) encoding: Option<EncodingKey>,
    /// The public key as a JWK without `kid`/`alg`/`use` (asymmetric keys only).
    pub(crate) jwk: Option<Value>,
}

/// The shortest acceptable HMAC key for `alg`: the hash output size (RFC 7518 §3.2).
pub(crate) fn min_secret_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// Checks and loads an HMAC secret. Never called with PEM bytes (see `Keys::new`).
pub(crate) fn hmac(
    key: KeyRef,
    spec: &KeySpec,
    secret: &Secret,
    published: PublishedSecrets,
) -> Result<Material, KeyError> {
    let text = secret.expose_secret();
    let folded = text.trim().to_ascii_lowercase();
    if published == PublishedSecrets::Refuse && PUBLISHED_SECRETS.contains(&folded.as_str()) {
        return Err(KeyError::PublishedSecret { key });
    }
    let min = min_secret_len(spec.algorithm);
    if text.len() < min {
        return Err(KeyError::SecretTooShort {
            key,
            algorithm: spec.algorithm,
            min,
            actual: text.len(),
        });
    }
    let mut chars = text.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(KeyError::RepetitiveSecret { key });
    }
    Ok(Material {
        decoding: DecodingKey::from_secret(text.as_bytes()),
        encoding: Some(EncodingKey::from_secret(text.as_bytes())),
        jwk: None,
    })
}

/// Checks and loads an RS256 / ES256 / EdDSA key (pair).
pub(crate) fn asymmetric(
    key: KeyRef,
    spec: &KeySpec,
    private_pem: Option<&[u8]>,
    public_pem: &[u8],
) -> Result<Material, KeyError> {
    let ctx = Ctx {
        key,
        algorithm: spec.algorithm,
    };
    let public_text = ctx.text(PemRole::Public, public_pem)?;
    let (decoding, jwk) = match spec.algorithm {
        Algorithm::RS256 => rsa_public(&ctx, public_text, public_pem)?,
        Algorithm::ES256 => p256_public(&ctx, public_text, public_pem)?,
        Algorithm::EdDSA => ed25519_public(&ctx, public_text, public_pem)?,
        algorithm => return Err(KeyError::UnsupportedAlgorithm { key, algorithm }),
    };
    let encoding = match private_pem {
        None => None,
        Some(pem) => {
            let text = ctx.text(PemRole::Private, pem)?;
            let (encoding, derived) =
                private(spec.algorithm, text, pem).map_err(|r| ctx.bad(PemRole::Private, r))?;
            // The pair matches when the private key's own public key is the configured one.
            if derived.as_ref() != Some(&jwk) {
                return Err(KeyError::KeyPairMismatch { key });
            }
            Some(encoding)
        }
    };
    Ok(Material {
        decoding,
        encoding,
        jwk: Some(jwk),
    })
}

/// Which key is being loaded, for error messages.
struct Ctx {
    key: KeyRef,
    algorithm: Algorithm,
}

impl Ctx {
    fn bad(&self, role: PemRole, reason: impl std::fmt::Display) -> KeyError {
        KeyError::InvalidPem {
            key: self.key,
            role,
            algorithm: self.algorithm,
            reason: reason.to_string(),
        }
    }

    fn text<'p>(&self, role: PemRole, pem: &'p [u8]) -> Result<&'p str, KeyError> {
        std::str::from_utf8(pem).map_err(|_| self.bad(role, "the file is not PEM text"))
    }
}

fn rsa_public(ctx: &Ctx, text: &str, pem: &[u8]) -> Result<(DecodingKey, Value), KeyError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let public = rsa::RsaPublicKey::from_public_key_pem(text)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(text))
        .map_err(|e| {
            ctx.bad(
                PemRole::Public,
                format_args!("not an RSA public key (SPKI or PKCS#1): {e}"),
            )
        })?;
    let bits = public.size() * 8;
    if bits < 2048 {
        return Err(KeyError::RsaKeyTooSmall { key: ctx.key, bits });
    }
    let decoding = DecodingKey::from_rsa_pem(pem).map_err(|e| ctx.bad(PemRole::Public, e))?;
    Ok((decoding, rsa_jwk(&public)))
}

fn rsa_jwk(public: &rsa::RsaPublicKey) -> Value {
    use rsa::traits::PublicKeyParts;
    json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    })
}

fn p256_public(ctx: &Ctx, text: &str, pem: &[u8]) -> Result<(DecodingKey, Value), KeyError> {
    use p256::pkcs8::DecodePublicKey;
    let public = p256::PublicKey::from_public_key_pem(text).map_err(|e| {
        ctx.bad(
            PemRole::Public,
            format_args!("not a P-256 public key (SPKI): {e}"),
        )
    })?;
    let decoding = DecodingKey::from_ec_pem(pem).map_err(|e| ctx.bad(PemRole::Public, e))?;
    let jwk = p256_jwk(&public).ok_or_else(|| {
        ctx.bad(
            PemRole::Public,
            "the P-256 public key is the identity point",
        )
    })?;
    Ok((decoding, jwk))
}

/// The JWK of a P-256 point, or None for the identity point (no coordinates).
fn p256_jwk(public: &p256::PublicKey) -> Option<Value> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let point = public.to_encoded_point(false);
    let (x, y) = (point.x()?, point.y()?);
    Some(json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(x),
        "y": URL_SAFE_NO_PAD.encode(y),
    }))
}

fn ed25519_public(ctx: &Ctx, text: &str, pem: &[u8]) -> Result<(DecodingKey, Value), KeyError> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let public = ed25519_dalek::VerifyingKey::from_public_key_pem(text).map_err(|e| {
        ctx.bad(
            PemRole::Public,
            format_args!("not an Ed25519 public key (SPKI): {e}"),
        )
    })?;
    let decoding = DecodingKey::from_ed_pem(pem).map_err(|e| ctx.bad(PemRole::Public, e))?;
    Ok((decoding, ed25519_jwk(&public)))
}

fn ed25519_jwk(public: &ed25519_dalek::VerifyingKey) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(public.as_bytes()),
    })
}

/// The signing key, and the JWK of the public key derived from it (compared with the
/// configured public key's to prove the pair: no signature is made).
fn private(alg: Algorithm, text: &str, pem: &[u8]) -> Result<(EncodingKey, Option<Value>), String> {
    let derived = match alg {
        Algorithm::RS256 => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::pkcs8::DecodePrivateKey;
            let private = rsa::RsaPrivateKey::from_pkcs8_pem(text)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(text))
                .map_err(|e| format!("not an RSA private key (PKCS#8 or PKCS#1): {e}"))?;
            Some(rsa_jwk(&private.to_public_key()))
        }
        Algorithm::ES256 => {
            use p256::pkcs8::DecodePrivateKey;
            let secret = p256::SecretKey::from_pkcs8_pem(text)
                .map_err(|e| format!("not a P-256 private key (PKCS#8): {e}"))?;
            p256_jwk(&secret.public_key())
        }
        _ => {
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(text)
                .map_err(|e| format!("not an Ed25519 private key (PKCS#8): {e}"))?;
            Some(ed25519_jwk(&signing.verifying_key()))
        }
    };
    let encoding = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
        _ => EncodingKey::from_ed_pem(pem),
    }
    .map_err(|e| e.to_string())?;
    Ok((encoding, derived))
}
