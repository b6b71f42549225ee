//! Turns one [`KeySpec`]'s material into jsonwebtoken keys, refusing weak or mismatched
//! material: short or published HMAC secrets (T4), PEM files for an HMAC algorithm (T2),
//! PEM of the wrong key type, RSA moduli under 2048 bits, and key pairs that don't match.
//!
//! PEM files are parsed and validated by aws-lc for the exact key type, once, so a P-384
//! key given for ES256 or an Ed25519 key given for RS256 is refused here rather than
//! failing on every request later.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RsaKeyPair};
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

use super::crypto::{self, SignKey, VerifyKey};
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

/// The parsed keys built from one spec.
pub(crate) struct Material {
    pub(crate) decoding: VerifyKey,
    /// Present only when a private key was given and loaded.
    pub(crate) encoding: Option<SignKey>,
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
    let digest = crypto::hmac_algorithm(spec.algorithm)
        .ok_or(KeyError::UnsupportedAlgorithm { key, algorithm: spec.algorithm })?;
    let secret = hmac::Key::new(digest, text.as_bytes());
    Ok(Material {
        decoding: VerifyKey::Hmac(Box::new(secret.clone())),
        encoding: Some(SignKey::Hmac(Box::new(secret))),
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
    let family = Family::of(spec.algorithm)
        .ok_or(KeyError::UnsupportedAlgorithm { key, algorithm: spec.algorithm })?;
    let public_text = ctx.text(PemRole::Public, public_pem)?;
    let (decoding, jwk) = public(&ctx, family, public_text)?;
    let encoding = match private_pem {
        None => None,
        Some(pem) => {
            let text = ctx.text(PemRole::Private, pem)?;
            let (encoding, derived) =
                private(spec.algorithm, family, text).map_err(|r| ctx.bad(PemRole::Private, r))?;
            // The pair matches when the private key's own public key is the configured one.
            if derived != jwk {
                return Err(KeyError::KeyPairMismatch { key });
            }
            Some(encoding)
        }
    };
    Ok(Material {
        decoding: VerifyKey::Public(decoding),
        encoding,
        jwk: Some(jwk),
    })
}

/// The key type an asymmetric algorithm needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Rsa,
    /// ECDSA, with the byte length of one coordinate.
    Ec { curve: &'static str, coordinate: usize },
    Ed25519,
}

impl Family {
    fn of(alg: Algorithm) -> Option<Family> {
        Some(match alg {
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => Family::Rsa,
            Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 => Family::Rsa,
            Algorithm::ES256 => Family::Ec { curve: "P-256", coordinate: 32 },
            Algorithm::ES384 => Family::Ec { curve: "P-384", coordinate: 48 },
            Algorithm::EdDSA => Family::Ed25519,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Family::Rsa => "an RSA public key (SPKI or PKCS#1)",
            Family::Ec { curve: "P-256", .. } => "a P-256 public key (SPKI)",
            Family::Ec { .. } => "a P-384 public key (SPKI)",
            Family::Ed25519 => "an Ed25519 public key (SPKI)",
        }
    }
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

/// The DER inside the first PEM block of `text`, if its label is one of `labels`.
fn pem_block(text: &str, labels: &[&str]) -> Result<(String, Vec<u8>), String> {
    let block = pem::parse(text).map_err(|e| format!("no PEM block: {e}"))?;
    let tag = block.tag().to_owned();
    if !labels.contains(&tag.as_str()) {
        return Err(format!(
            "a PEM block labelled {tag:?}, expected {}",
            labels.join(" or ")
        ));
    }
    Ok((tag, block.into_contents()))
}

fn public(ctx: &Ctx, family: Family, text: &str) -> Result<(ParsedPublicKey, Value), KeyError> {
    let labels: &[&str] = match family {
        Family::Rsa => &["PUBLIC KEY", "RSA PUBLIC KEY"],
        _ => &["PUBLIC KEY"],
    };
    let wrong = |detail: &dyn std::fmt::Display| {
        ctx.bad(
            PemRole::Public,
            format_args!("not {}: {detail}", family.describe()),
        )
    };
    let (_, der) = pem_block(text, labels).map_err(|e| wrong(&e))?;
    let algorithm = crypto::public_algorithm(ctx.algorithm)
        .ok_or(KeyError::UnsupportedAlgorithm { key: ctx.key, algorithm: ctx.algorithm })?;
    if family == Family::Rsa {
        // The size is checked before the library's own 2048-bit floor, for a clearer error.
        let (n, _) = crypto::rsa_components(&der).ok_or_else(|| wrong(&"the key does not parse"))?;
        let bits = n.len() * 8;
        if bits < 2048 {
            return Err(KeyError::RsaKeyTooSmall { key: ctx.key, bits });
        }
    }
    let parsed = ParsedPublicKey::new(algorithm, &der).map_err(|e| wrong(&e))?;
    let jwk = public_jwk(family, &parsed).ok_or_else(|| wrong(&"the key does not encode"))?;
    Ok((parsed, jwk))
}

/// The JWK (without `kid`/`alg`/`use`) of a parsed public key, read from its canonical
/// SubjectPublicKeyInfo: the key is the SPKI's trailing bytes for EC and Ed25519.
fn public_jwk(family: Family, parsed: &ParsedPublicKey) -> Option<Value> {
    let spki = parsed.as_der().ok()?;
    let spki = spki.as_ref();
    match family {
        Family::Rsa => {
            let (n, e) = crypto::rsa_components(spki)?;
            Some(rsa_jwk(&n, &e))
        }
        Family::Ec { curve, coordinate } => {
            let point = spki.get(spki.len().checked_sub(1 + 2 * coordinate)?..)?;
            ec_jwk(curve, coordinate, point)
        }
        Family::Ed25519 => Some(ed25519_jwk(spki.get(spki.len().checked_sub(32)?..)?)),
    }
}

fn rsa_jwk(n: &[u8], e: &[u8]) -> Value {
    json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(n),
        "e": URL_SAFE_NO_PAD.encode(e),
    })
}

/// The JWK of an uncompressed EC point (`04 || x || y`).
fn ec_jwk(curve: &str, coordinate: usize, point: &[u8]) -> Option<Value> {
    let (tag, xy) = point.split_first()?;
    if *tag != 0x04 || xy.len() != 2 * coordinate {
        return None;
    }
    let (x, y) = xy.split_at(coordinate);
    Some(json!({
        "kty": "EC",
        "crv": curve,
        "x": URL_SAFE_NO_PAD.encode(x),
        "y": URL_SAFE_NO_PAD.encode(y),
    }))
}

fn ed25519_jwk(public: &[u8]) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(public),
    })
}

/// The signing key, and the JWK of the public key derived from it (compared with the
/// configured public key's to prove the pair: no signature is made).
fn private(alg: Algorithm, family: Family, text: &str) -> Result<(SignKey, Value), String> {
    let unusable = |what: &str, e: &dyn std::fmt::Display| format!("not {what}: {e}");
    match family {
        Family::Rsa => {
            const WHAT: &str = "an RSA private key (PKCS#8 or PKCS#1)";
            let (tag, der) =
                pem_block(text, &["PRIVATE KEY", "RSA PRIVATE KEY"]).map_err(|e| unusable(WHAT, &e))?;
            let pair = if tag == "PRIVATE KEY" {
                RsaKeyPair::from_pkcs8(&der)
            } else {
                RsaKeyPair::from_der(&der)
            }
            .map_err(|e| unusable(WHAT, &e))?;
            let (n, e) = crypto::rsa_pair_components(&pair);
            let padding = crypto::rsa_encoding(alg).ok_or("not an RSA algorithm")?;
            Ok((SignKey::Rsa(pair, padding), rsa_jwk(&n, &e)))
        }
        Family::Ec { curve, coordinate } => {
            let what = format!("a {curve} private key (PKCS#8 or SEC1)");
            let (tag, der) =
                pem_block(text, &["PRIVATE KEY", "EC PRIVATE KEY"]).map_err(|e| unusable(&what, &e))?;
            let signing = crypto::ecdsa_signing(alg).ok_or("not an ECDSA algorithm")?;
            let pair = if tag == "PRIVATE KEY" {
                EcdsaKeyPair::from_pkcs8(signing, &der)
            } else {
                EcdsaKeyPair::from_private_key_der(signing, &der)
            }
            .map_err(|e| unusable(&what, &e))?;
            let jwk = ec_jwk(curve, coordinate, pair.public_key().as_ref())
                .ok_or_else(|| format!("{what}: its public point does not encode"))?;
            Ok((SignKey::Ecdsa(pair), jwk))
        }
        Family::Ed25519 => {
            const WHAT: &str = "an Ed25519 private key (PKCS#8)";
            let (_, der) = pem_block(text, &["PRIVATE KEY"]).map_err(|e| unusable(WHAT, &e))?;
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map_err(|e| unusable(WHAT, &e))?;
            let jwk = ed25519_jwk(pair.public_key().as_ref());
            Ok((SignKey::Ed25519(pair), jwk))
        }
    }
}
