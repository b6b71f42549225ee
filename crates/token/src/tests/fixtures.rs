//! Shared test fixtures: keys per algorithm (generated once per test binary), settings,
//! and a forger that signs arbitrary header/claims JSON.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::EncodingKey;

use crate::{
    Algorithm, Issuer, KeyMaterial, KeySpec, Keys, Secret, Subject, TokenSettings, Verifier,
};

/// "Now" in most tests (2027-01-15).
pub(super) const NOW: u64 = 1_800_000_000;
/// Leeway in most tests, as in docs/REFERENCE.md#configuration.
pub(super) const LEEWAY: u64 = 30;
/// A strong test-only HMAC secret (long enough for HS512).
pub(super) const HMAC_SECRET: &str =
    "test-only-hmac-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// The simplejwt reference key (docs/REFERENCE.md#token-format); published, so refused by `Keys::new`.
pub(super) const REFERENCE_KEY: &str =
    "nexora-reference-hs256-signing-key-0123456789abcdef0123456789abcd";

pub(super) const SUBJECT: Subject<'static> = Subject {
    user_id: "400",
    username: "alice",
    role: "CUSTOMER",
    revoked_after_ms: 0,
};

/// Key material for `alg`: a fixed secret for HMAC, generated once per process otherwise.
pub(super) fn material(alg: Algorithm) -> KeyMaterial {
    static RS: OnceLock<KeyMaterial> = OnceLock::new();
    static ES: OnceLock<KeyMaterial> = OnceLock::new();
    static ED: OnceLock<KeyMaterial> = OnceLock::new();
    let cell = match alg {
        Algorithm::RS256 => &RS,
        Algorithm::ES256 => &ES,
        Algorithm::EdDSA => &ED,
        _ => return KeyMaterial::Hmac(Secret::new(HMAC_SECRET)),
    };
    cell.get_or_init(|| crate::generate(alg).unwrap())
        .clone()
}

/// A second, different key pair or secret for `alg` (fresh on every call).
pub(super) fn other_material(alg: Algorithm) -> KeyMaterial {
    crate::generate(alg).unwrap()
}

pub(super) fn spec(alg: Algorithm, kid: Option<&str>) -> KeySpec {
    KeySpec {
        kid: kid.map(String::from),
        algorithm: alg,
        material: material(alg),
    }
}

/// Settings around `current` with a 30 s leeway and a small cache.
pub(super) fn settings_with(current: KeySpec) -> TokenSettings {
    let mut settings = TokenSettings::new(current);
    settings.leeway = Duration::from_secs(LEEWAY);
    settings.cache_max_entries = 1000;
    settings
}

pub(super) fn settings(alg: Algorithm) -> TokenSettings {
    settings_with(spec(alg, None))
}

/// Keys, verifier and issuer built from one settings value.
pub(super) struct Kit {
    pub(super) keys: Arc<Keys>,
    pub(super) verifier: Verifier,
    pub(super) issuer: Issuer,
}

pub(super) fn kit(settings: &TokenSettings) -> Kit {
    let keys = Arc::new(Keys::new(settings).unwrap());
    Kit {
        verifier: Verifier::new(Arc::clone(&keys), settings),
        issuer: Issuer::new(Arc::clone(&keys), settings),
        keys,
    }
}

pub(super) fn hs256() -> Kit {
    kit(&settings(Algorithm::HS256))
}

/// Valid access claims JSON issued at `iat`, with `extra` (starting with a comma) appended.
pub(super) fn access_json(iat: u64, extra: &str) -> String {
    format!(
        r#"{{"token_type":"access","exp":{},"iat":{iat},"jti":"0123456789abcdef0123456789abcdef","user_id":"400"{extra}}}"#,
        iat + 3600
    )
}

pub(super) const HS256_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs `header.claims` exactly as given (claims may be any bytes) with `key` under `alg`.
pub(super) fn forge(header: &str, claims: impl AsRef<[u8]>, alg: Algorithm, key: &EncodingKey) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// Signs with the test HMAC secret under HS256.
pub(super) fn forge_hs256(header: &str, claims: impl AsRef<[u8]>) -> String {
    forge(
        header,
        claims,
        Algorithm::HS256,
        &EncodingKey::from_secret(HMAC_SECRET.as_bytes()),
    )
}

/// Signs with the private key of an asymmetric fixture `alg`.
pub(super) fn forge_asymmetric(header: &str, claims: &str, alg: Algorithm) -> String {
    let KeyMaterial::Asymmetric {
        private_pem: Some(pem),
        ..
    } = material(alg)
    else {
        unreachable!()
    };
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_ed_pem(&pem),
    };
    forge(header, claims, alg, &key.unwrap())
}

/// The public PEM of an asymmetric fixture.
pub(super) fn public_pem(alg: Algorithm) -> Vec<u8> {
    let KeyMaterial::Asymmetric { public_pem, .. } = material(alg) else {
        unreachable!()
    };
    public_pem
}
