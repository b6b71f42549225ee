//! `keygen`: files, modes, no overwriting, and that the output loads.

use super::fixtures::*;
use crate::{
    keygen, Algorithm, KeyMaterial, KeySpec, KeygenError, Keys, Secret, PRIVATE_FILE, PUBLIC_FILE,
    SECRET_FILE,
};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn hmac_secrets_are_long_url_safe_strings_in_a_0600_file() {
    for (alg, len) in [
        (Algorithm::HS256, 64),
        (Algorithm::HS384, 64),
        (Algorithm::HS512, 86),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("keys");
        let written = keygen(alg, &out).unwrap();
        assert_eq!(written, vec![out.join(SECRET_FILE)]);
        let secret = std::fs::read_to_string(&written[0]).unwrap();
        assert_eq!(secret.len(), len, "{alg:?}");
        assert!(secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        #[cfg(unix)]
        assert_eq!((mode(&written[0]), mode(&out)), (0o600, 0o700));
        let spec = KeySpec {
            kid: None,
            algorithm: alg,
            material: KeyMaterial::Hmac(Secret::new(secret)),
        };
        let kit = kit(&settings_with(spec));
        let token = kit.issuer.mint_access(&SUBJECT, NOW, None).unwrap();
        kit.verifier.verify_access(&token, NOW).unwrap();
    }
}

#[test]
fn key_pairs_are_pkcs8_and_spki_files_that_load() {
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        let dir = tempfile::tempdir().unwrap();
        let written = keygen(alg, dir.path()).unwrap();
        assert_eq!(
            written,
            vec![dir.path().join(PRIVATE_FILE), dir.path().join(PUBLIC_FILE)]
        );
        let private_pem = std::fs::read(&written[0]).unwrap();
        let public_pem = std::fs::read(&written[1]).unwrap();
        assert!(
            private_pem.starts_with(b"-----BEGIN PRIVATE KEY-----\n"),
            "{alg:?}"
        );
        assert!(
            public_pem.starts_with(b"-----BEGIN PUBLIC KEY-----\n"),
            "{alg:?}"
        );
        #[cfg(unix)]
        assert_eq!((mode(&written[0]), mode(&written[1])), (0o600, 0o644));
        let material = KeyMaterial::Asymmetric {
            private_pem: Some(private_pem),
            public_pem,
        };
        Keys::new(&settings_with(KeySpec {
            kid: None,
            algorithm: alg,
            material,
        }))
        .unwrap();
    }
}

#[test]
fn existing_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let first = keygen(Algorithm::EdDSA, dir.path()).unwrap();
    let before = std::fs::read(&first[0]).unwrap();
    let again = keygen(Algorithm::EdDSA, dir.path()).unwrap_err();
    assert!(
        matches!(&again, KeygenError::Exists { path } if *path == first[0]),
        "{again}"
    );
    assert_eq!(std::fs::read(&first[0]).unwrap(), before);
    // Only the public file in the way: nothing is written, no half pair left behind.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(PUBLIC_FILE), b"mine").unwrap();
    assert!(matches!(
        keygen(Algorithm::ES256, dir.path()),
        Err(KeygenError::Exists { .. })
    ));
    assert!(!dir.path().join(PRIVATE_FILE).exists());
    assert_eq!(
        std::fs::read(dir.path().join(PUBLIC_FILE)).unwrap(),
        b"mine"
    );
}

#[test]
fn unsupported_algorithms_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = keygen(Algorithm::PS256, dir.path()).unwrap_err();
    assert!(matches!(
        err,
        KeygenError::UnsupportedAlgorithm {
            algorithm: Algorithm::PS256
        }
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
