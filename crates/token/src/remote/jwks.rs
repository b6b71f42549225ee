//! A remote issuer's key set, parsed from its JWKS document: every usable key
//! parsed once and pinned to the algorithms it may verify.
//!
//! The rules (docs/REFERENCE.md#issuers): `kty` and `crv` decide which algorithms a
//! key can serve; a key's own `alg`, when present, must be one of those and is then
//! the only one; the issuer's `algorithms` list bounds both. Symmetric keys (`oct`)
//! are never used, nor keys whose `use` is not `sig` or whose `key_ops` lack
//! `verify`. RSA moduli under 2048 bits are skipped. Certificates (`x5c`, `x5u`) are
//! not read: the key is its `n`/`e`, `x`/`y` or `x` members. A document with no
//! usable key at all is an error, so a broken publication never replaces good keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::super::crypto::{self, VerifyKey};
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::ParsedPublicKey;

/// Longest `kid` kept; longer ones make the key unusable.
const MAX_KID_BYTES: usize = 256;

/// The parsed keys of one JWKS document.
pub struct KeySet {
    keys: Vec<RemoteKey>,
}

struct RemoteKey {
    kid: Option<Box<str>>,
    /// One parsed key per algorithm this key may verify.
    verifiers: Vec<(Algorithm, VerifyKey)>,
}

/// Why a JWKS document was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// Not a JSON object with a `keys` array.
    #[error("not a JWKS document (a JSON object with a \"keys\" array)")]
    NotJwks,
    /// More keys than the cap.
    #[error("the document has {0} keys, more than the {1} allowed")]
    TooManyKeys(usize, usize),
    /// Not one key could serve an allowed algorithm.
    #[error("no key in the document can verify any of the issuer's algorithms ({0} skipped)")]
    NoUsableKey(usize),
}

impl KeySet {
    /// Parses `document` (at most `max_keys` keys), keeping the keys that can verify
    /// one of `allowed`. Returns the set and how many keys were skipped.
    pub fn from_jwks(
        document: &[u8],
        allowed: &[Algorithm],
        max_keys: usize,
    ) -> Result<(KeySet, usize), JwksError> {
        let value: Value = serde_json::from_slice(document).map_err(|_| JwksError::NotJwks)?;
        let entries = value
            .as_object()
            .and_then(|o| o.get("keys"))
            .and_then(Value::as_array)
            .ok_or(JwksError::NotJwks)?;
        if entries.len() > max_keys {
            return Err(JwksError::TooManyKeys(entries.len(), max_keys));
        }
        let keys: Vec<RemoteKey> = entries
            .iter()
            .filter_map(|entry| parse_key(entry.as_object()?, allowed))
            .collect();
        let skipped = entries.len() - keys.len();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey(skipped));
        }
        Ok((KeySet { keys }, skipped))
    }

    /// The keys that may verify a token with this header: the one with its `kid`
    /// (or every key when the token names none) and a parsed key for `alg`.
    pub(crate) fn candidates<'s>(
        &'s self,
        kid: Option<&'s str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'s VerifyKey> + 's {
        self.keys
            .iter()
            .filter(move |key| kid.is_none() || key.kid.as_deref() == kid)
            .flat_map(move |key| {
                key.verifiers
                    .iter()
                    .filter(move |(a, _)| *a == alg)
                    .map(|(_, v)| v)
            })
    }

    /// Whether a key with this `kid` is in the set.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The `kid`s of the set, in document order (keys without one are left out).
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref()).collect()
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty (never, for a set that parsed).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn parse_key(jwk: &Map<String, Value>, allowed: &[Algorithm]) -> Option<RemoteKey> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => {
            Some(Box::from(kid.as_str()))
        }
        Some(_) => return None,
    };
    let served = algorithms_of(jwk)?;
    // A key's own `alg` narrows what it serves; one its type cannot serve makes it unusable.
    let declared = match text("alg") {
        None if jwk.contains_key("alg") => return None,
        None => None,
        Some(name) => Some(*served.iter().find(|a| alg_name(**a) == name)?),
    };
    let verifiers: Vec<(Algorithm, VerifyKey)> = served
        .iter()
        .filter(|alg| declared.is_none_or(|d| d == **alg) && allowed.contains(alg))
        .filter_map(|alg| Some((*alg, VerifyKey::Public(public_key(jwk, *alg)?))))
        .collect();
    (!verifiers.is_empty()).then_some(RemoteKey { kid, verifiers })
}

/// The algorithms a key of this `kty` (and `crv`) can serve.
fn algorithms_of(jwk: &Map<String, Value>) -> Option<&'static [Algorithm]> {
    use Algorithm::*;
    let crv = jwk.get("crv").and_then(Value::as_str);
    Some(match (jwk.get("kty").and_then(Value::as_str)?, crv) {
        ("RSA", _) => &[RS256, RS384, RS512, PS256, PS384, PS512],
        ("EC", Some("P-256")) => &[ES256],
        ("EC", Some("P-384")) => &[ES384],
        ("OKP", Some("Ed25519")) => &[EdDSA],
        _ => return None,
    })
}

/// The key's material parsed for `alg`.
fn public_key(jwk: &Map<String, Value>, alg: Algorithm) -> Option<ParsedPublicKey> {
    let bytes = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk.get(name)?.as_str()?)
            .ok()
    };
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => {
            let width = if alg == Algorithm::ES256 { 32 } else { 48 };
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != width || y.len() != width {
                return None;
            }
            let point = [&[0x04][..], &x, &y].concat();
            ParsedPublicKey::new(crypto::public_algorithm(alg)?, point).ok()
        }
        Algorithm::EdDSA => {
            let x = bytes("x")?;
            if x.len() != 32 {
                return None;
            }
            ParsedPublicKey::new(crypto::public_algorithm(alg)?, x).ok()
        }
        _ => {
            let (n, e) = (bytes("n")?, bytes("e")?);
            let n = strip_leading_zeros(&n);
            if n.len() * 8 < 2048 {
                return None;
            }
            let components = PublicKeyComponents { n, e: strip_leading_zeros(&e) };
            components
                .to_parsed_public_key(crypto::rsa_parameters(alg)?)
                .ok()
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The JOSE name of an algorithm a remote key may serve.
pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        // HMAC never verifies a remote key set; any other name matches no header.
        _ => "",
    }
}
