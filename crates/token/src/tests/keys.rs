//! Key loading: every `KeyError`, the JWKS document, and secret redaction.

use jsonwebtoken::{jwk::Jwk, DecodingKey};

use super::fixtures::*;
use crate::{
    Algorithm, KeyError, KeyMaterial, KeyRef, KeySpec, Keys, PemRole, Secret, TokenSettings,
};

fn hmac(alg: Algorithm, secret: &str) -> TokenSettings {
    settings_with(KeySpec {
        kid: None,
        algorithm: alg,
        material: KeyMaterial::Hmac(Secret::new(secret)),
    })
}

fn err(settings: &TokenSettings) -> KeyError {
    Keys::new(settings).unwrap_err()
}

const CURRENT: KeyRef = KeyRef::Current;

#[test]
fn only_the_six_supported_algorithms_load() {
    for alg in [
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::ES384,
    ] {
        let s = settings_with(KeySpec {
            kid: None,
            algorithm: alg,
            material: material(Algorithm::RS256),
        });
        assert_eq!(
            err(&s),
            KeyError::UnsupportedAlgorithm {
                key: CURRENT,
                algorithm: alg
            }
        );
    }
}

#[test]
fn hmac_secrets_must_be_as_long_as_the_hash() {
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        let short = "ab".repeat(min / 2 - 1) + "c";
        assert_eq!(
            err(&hmac(alg, &short)),
            KeyError::SecretTooShort {
                key: CURRENT,
                algorithm: alg,
                min,
                actual: min - 1
            }
        );
        let enough = "ab".repeat(min / 2);
        Keys::new(&hmac(alg, &enough)).unwrap();
    }
}

#[test]
fn published_and_repetitive_secrets_are_refused() {
    for secret in [
        "",
        "changeme",
        "secret",
        "your-256-bit-secret",
        REFERENCE_KEY,
        " Changeme\n",
    ] {
        assert_eq!(
            err(&hmac(Algorithm::HS256, secret)),
            KeyError::PublishedSecret { key: CURRENT },
            "{secret:?}"
        );
    }
    assert_eq!(
        err(&hmac(Algorithm::HS256, &"a".repeat(64))),
        KeyError::RepetitiveSecret { key: CURRENT }
    );
}

#[test]
fn hmac_and_pem_material_never_mix() {
    let pem = KeyMaterial::Asymmetric {
        private_pem: None,
        public_pem: public_pem(Algorithm::RS256),
    };
    let s = settings_with(KeySpec {
        kid: None,
        algorithm: Algorithm::HS256,
        material: pem,
    });
    assert_eq!(
        err(&s),
        KeyError::HmacWithPem {
            key: CURRENT,
            algorithm: Algorithm::HS256
        }
    );
    let s = settings_with(KeySpec {
        kid: None,
        algorithm: Algorithm::ES256,
        material: material(Algorithm::HS256),
    });
    assert_eq!(
        err(&s),
        KeyError::AsymmetricWithSecret {
            key: CURRENT,
            algorithm: Algorithm::ES256
        }
    );
}

fn asym(alg: Algorithm, private_pem: Option<Vec<u8>>, public_pem: Vec<u8>) -> TokenSettings {
    settings_with(KeySpec {
        kid: None,
        algorithm: alg,
        material: KeyMaterial::Asymmetric {
            private_pem,
            public_pem,
        },
    })
}

fn private_pem(alg: Algorithm) -> Vec<u8> {
    let KeyMaterial::Asymmetric {
        private_pem: Some(pem),
        ..
    } = material(alg)
    else {
        unreachable!()
    };
    pem
}

#[test]
fn pem_files_must_hold_the_configured_key_type() {
    let cases = [
        (Algorithm::RS256, Algorithm::ES256),
        (Algorithm::ES256, Algorithm::EdDSA),
        (Algorithm::EdDSA, Algorithm::RS256),
    ];
    for (alg, other) in cases {
        let wrong_public = asym(alg, Some(private_pem(alg)), public_pem(other));
        assert!(
            matches!(
                err(&wrong_public),
                KeyError::InvalidPem {
                    role: PemRole::Public,
                    ..
                }
            ),
            "{alg:?}"
        );
        let wrong_private = asym(alg, Some(private_pem(other)), public_pem(alg));
        assert!(
            matches!(
                err(&wrong_private),
                KeyError::InvalidPem {
                    role: PemRole::Private,
                    ..
                }
            ),
            "{alg:?}"
        );
        let garbage = asym(
            alg,
            Some(private_pem(alg)),
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_vec(),
        );
        assert!(
            matches!(
                err(&garbage),
                KeyError::InvalidPem {
                    role: PemRole::Public,
                    ..
                }
            ),
            "{alg:?}"
        );
        let binary = asym(alg, Some(private_pem(alg)), vec![0xff, 0xfe, 0x00]);
        assert!(
            matches!(
                err(&binary),
                KeyError::InvalidPem {
                    role: PemRole::Public,
                    ..
                }
            ),
            "{alg:?}"
        );
    }
}

#[test]
fn the_current_key_needs_its_own_private_key() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        assert_eq!(
            err(&asym(alg, None, public_pem(alg))),
            KeyError::MissingPrivateKey { key: CURRENT }
        );
        let KeyMaterial::Asymmetric {
            public_pem: stranger,
            ..
        } = other_material(alg)
        else {
            unreachable!()
        };
        assert_eq!(
            err(&asym(alg, Some(private_pem(alg)), stranger)),
            KeyError::KeyPairMismatch { key: CURRENT }
        );
    }
    // Previous keys only verify: a public key alone is enough.
    let mut s = settings_with(spec(Algorithm::HS256, Some("new")));
    s.previous.push(KeySpec {
        kid: Some("old".into()),
        algorithm: Algorithm::EdDSA,
        material: KeyMaterial::Asymmetric {
            private_pem: None,
            public_pem: public_pem(Algorithm::EdDSA),
        },
    });
    Keys::new(&s).unwrap();
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
    let public = small
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    assert_eq!(
        err(&asym(Algorithm::RS256, None, public.into_bytes())),
        KeyError::RsaKeyTooSmall {
            key: CURRENT,
            bits: 1024
        }
    );
}

#[test]
fn kids_are_unique_printable_and_all_or_nothing() {
    let mut s = settings_with(spec(Algorithm::HS256, Some("k1")));
    s.previous.push(KeySpec {
        kid: Some("k1".into()),
        algorithm: Algorithm::ES256,
        material: material(Algorithm::ES256),
    });
    assert_eq!(
        err(&s),
        KeyError::DuplicateKid {
            key: KeyRef::Previous(0),
            kid: "k1".into()
        }
    );
    s.previous[0].kid = None;
    assert_eq!(
        err(&s),
        KeyError::PreviousKeyWithoutKid {
            key: KeyRef::Previous(0)
        }
    );
    for kid in ["", "a b", "k\n", &"k".repeat(129)] {
        let s = settings_with(spec(Algorithm::HS256, Some(kid)));
        assert_eq!(err(&s), KeyError::InvalidKid { key: CURRENT }, "{kid:?}");
    }
}

#[test]
fn jwks_publishes_asymmetric_public_keys_only() {
    assert_eq!(
        Keys::new(&settings(Algorithm::HS256)).unwrap().jwks(),
        serde_json::json!({ "keys": [] })
    );
    let mut s = settings_with(spec(Algorithm::ES256, Some("es")));
    s.previous.push(spec(Algorithm::RS256, Some("rs")));
    s.previous.push(spec(Algorithm::EdDSA, Some("ed")));
    s.previous.push(spec(Algorithm::HS512, Some("hs")));
    let kit = kit(&s);
    let jwks = kit.keys.jwks();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
    for (jwk, kid, kty, alg) in [
        (&keys[0], "es", "EC", "ES256"),
        (&keys[1], "rs", "RSA", "RS256"),
        (&keys[2], "ed", "OKP", "EdDSA"),
    ] {
        assert_eq!(
            (jwk["kid"].as_str(), jwk["kty"].as_str()),
            (Some(kid), Some(kty))
        );
        assert_eq!(
            (jwk["alg"].as_str(), jwk["use"].as_str()),
            (Some(alg), Some("sig"))
        );
        assert!(jwk.get("d").is_none(), "no private parts");
        // The published key is usable by a third party: it parses as a JWK.
        let parsed: Jwk = serde_json::from_value(jwk.clone()).unwrap();
        DecodingKey::from_jwk(&parsed).unwrap();
    }
    // And it verifies what we mint with the current key.
    let parsed: Jwk = serde_json::from_value(keys[0].clone()).unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    let key = DecodingKey::from_jwk(&parsed).unwrap();
    assert!(
        jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, Algorithm::ES256)
            .unwrap()
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let s = settings(Algorithm::HS256);
    let shown = format!("{s:?}");
    assert!(
        !shown.contains(HMAC_SECRET) && shown.contains("[redacted]"),
        "{shown}"
    );
    let s = settings(Algorithm::EdDSA);
    let shown = format!("{s:?} {:?}", Keys::new(&s).unwrap());
    assert!(
        !shown.contains("PRIVATE KEY") && shown.contains("[redacted]"),
        "{shown}"
    );
    assert!(err(&hmac(Algorithm::HS256, "changeme"))
        .to_string()
        .contains("nexora-gate keygen"));
}
