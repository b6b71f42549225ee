//! Signing and verification keys over aws-lc-rs, the crate's one crypto library.
//!
//! Every key is parsed once, when a config generation loads it: a verification then
//! costs the signature check alone, with no DER parsing, key validation or HMAC key
//! schedule per token. HMAC tags are compared in constant time by the library.
//! jsonwebtoken (built with the same aws-lc backend) keeps only its `Algorithm` names.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey, RsaKeyPair};
use aws_lc_rs::{hmac, rsa};
use jsonwebtoken::Algorithm;

/// A key that checks signatures of exactly one algorithm.
pub(crate) enum VerifyKey {
    /// An HMAC secret with its key schedule done.
    Hmac(Box<hmac::Key>),
    /// A parsed and validated RSA, ECDSA or Ed25519 public key.
    Public(ParsedPublicKey),
}

impl VerifyKey {
    /// Whether `signature` is a valid signature of `message` under this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            VerifyKey::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            VerifyKey::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

/// A key that signs with exactly one algorithm.
pub(crate) enum SignKey {
    Hmac(Box<hmac::Key>),
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// Signing failed inside the crypto library (it never does for a loaded key; the
/// caller reports it as a signing error rather than trusting that).
#[derive(Debug)]
pub(crate) struct SignFailed;

impl SignKey {
    /// The signature of `message`, in JWS form (raw `r || s` for ECDSA).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignFailed> {
        match self {
            SignKey::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            SignKey::Rsa(pair, encoding) => {
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(*encoding, &SystemRandom::new(), message, &mut out)
                    .map_err(|_| SignFailed)?;
                Ok(out)
            }
            SignKey::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignFailed),
            SignKey::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// The HMAC digest of an `HS*` algorithm.
pub(crate) fn hmac_algorithm(alg: Algorithm) -> Option<hmac::Algorithm> {
    Some(match alg {
        Algorithm::HS256 => hmac::HMAC_SHA256,
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => return None,
    })
}

/// The verification algorithm of an asymmetric JWS algorithm. RSA moduli from 2048 to
/// 8192 bits; ECDSA signatures in JWS's fixed-width form.
pub(crate) fn public_algorithm(
    alg: Algorithm,
) -> Option<&'static dyn signature::VerificationAlgorithm> {
    if let Some(rsa) = rsa_parameters(alg) {
        return Some(rsa);
    }
    Some(match alg {
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        _ => return None,
    })
}

/// The RSA verification parameters of an `RS*`/`PS*` algorithm (moduli of 2048 to
/// 8192 bits), for keys built from JWK components.
pub(crate) fn rsa_parameters(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// The RSA signing padding of an `RS*`/`PS*` algorithm.
pub(crate) fn rsa_encoding(alg: Algorithm) -> Option<&'static dyn signature::RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

/// The ECDSA signing algorithm of an `ES*` algorithm.
pub(crate) fn ecdsa_signing(alg: Algorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    Some(match alg {
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => return None,
    })
}

/// The modulus and exponent of an RSA public key (PKCS#1 or SPKI DER), big-endian
/// without leading zeros.
pub(crate) fn rsa_components(public_der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let public = rsa::PublicKey::from_der(public_der).ok()?;
    Some(components(&public))
}

/// The modulus and exponent of an RSA key pair's public half.
pub(crate) fn rsa_pair_components(pair: &RsaKeyPair) -> (Vec<u8>, Vec<u8>) {
    use aws_lc_rs::signature::KeyPair as _;
    components(pair.public_key())
}

fn components(public: &rsa::PublicKey) -> (Vec<u8>, Vec<u8>) {
    (
        public.modulus().big_endian_without_leading_zero().to_vec(),
        public.exponent().big_endian_without_leading_zero().to_vec(),
    )
}
