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
    // A fixed public key: no maintained library generates RSA keys this weak any more.
    let public = include_bytes!("rsa1024_public.pem").to_vec();
    assert_eq!(
        err(&asym(Algorithm::RS256, None, public)),
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

/// The private key in the other common container of its type: PKCS#1 (`RSA PRIVATE KEY`)
/// for RSA and SEC1 (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes) for P-256.
fn private_pem_in_legacy_form(alg: Algorithm) -> Vec<u8> {
    use aws_lc_rs::encoding::{AsDer, EcPrivateKeyRfc5915Der, Pkcs8V1Der};
    let pkcs8 = pem::parse(private_pem(alg)).unwrap().into_contents();
    let (tag, der) = match alg {
        Algorithm::RS256 => {
            let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&pkcs8).unwrap();
            // PKCS#8 wraps the PKCS#1 structure: re-export and unwrap it.
            let reexported = AsDer::<Pkcs8V1Der<'_>>::as_der(&pair).unwrap();
            let info = pem::Pem::new("PRIVATE KEY", reexported.as_ref().to_vec());
            let inner = pkcs1_inside(info.contents());
            ("RSA PRIVATE KEY", inner)
        }
        _ => {
            let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &pkcs8,
            )
            .unwrap();
            let sec1 = AsDer::<EcPrivateKeyRfc5915Der<'_>>::as_der(&pair.private_key()).unwrap();
            ("EC PRIVATE KEY", sec1.as_ref().to_vec())
        }
    };
    pem::encode(&pem::Pem::new(tag, der)).into_bytes()
}

/// The `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo`: the last element of the
/// outer SEQUENCE (version, algorithm, privateKey).
fn pkcs1_inside(pkcs8: &[u8]) -> Vec<u8> {
    fn header(der: &[u8]) -> (usize, usize) {
        let first = der[1];
        if first < 0x80 {
            (2, first as usize)
        } else {
            let n = (first & 0x7f) as usize;
            let len = der[2..2 + n].iter().fold(0usize, |a, b| a << 8 | *b as usize);
            (2 + n, len)
        }
    }
    let (outer, _) = header(pkcs8);
    let mut rest = &pkcs8[outer..];
    // version INTEGER, then AlgorithmIdentifier SEQUENCE, then privateKey OCTET STRING.
    for _ in 0..2 {
        let (h, len) = header(rest);
        rest = &rest[h + len..];
    }
    assert_eq!(rest[0], 0x04, "privateKey is an OCTET STRING");
    let (h, len) = header(rest);
    rest[h..h + len].to_vec()
}

#[test]
fn legacy_private_key_containers_load_and_sign() {
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let settings = asym(alg, Some(private_pem_in_legacy_form(alg)), public_pem(alg));
        let kit = kit(&settings);
        let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
        kit.verifier
            .verify_access(&token, NOW)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
    }
}

#[test]
fn our_signatures_verify_with_jsonwebtoken_and_its_signatures_with_ours() {
    for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let kit = kit(&settings(alg));
        let ours = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
        let (signed, signature) = ours.rsplit_once('.').unwrap();
        let decoding = match alg {
            Algorithm::HS256 => DecodingKey::from_secret(HMAC_SECRET.as_bytes()),
            Algorithm::RS256 => DecodingKey::from_rsa_pem(&public_pem(alg)).unwrap(),
            Algorithm::ES256 => DecodingKey::from_ec_pem(&public_pem(alg)).unwrap(),
            _ => DecodingKey::from_ed_pem(&public_pem(alg)).unwrap(),
        };
        assert!(
            jsonwebtoken::crypto::verify(signature, signed.as_bytes(), &decoding, alg).unwrap(),
            "{alg:?}: jsonwebtoken refused our signature"
        );
        let theirs = forge_asymmetric_or_hmac(alg, &access_json(NOW, ""));
        kit.verifier
            .verify_access(&theirs, NOW)
            .unwrap_or_else(|e| panic!("{alg:?}: we refused jsonwebtoken's signature: {e}"));
    }
}

fn forge_asymmetric_or_hmac(alg: Algorithm, claims: &str) -> String {
    let header = format!(r#"{{"alg":"{alg:?}","typ":"JWT"}}"#);
    match alg {
        Algorithm::HS256 => forge_hs256(&header, claims),
        _ => forge_asymmetric(&header, claims, alg),
    }
}
