//! Django's `PBKDF2PasswordHasher` format, `pbkdf2_sha256$<iterations>$<salt>$<base64>`
//! (docs/REFERENCE.md#password-hashes): PBKDF2-HMAC-SHA256 over the UTF-8 password and the ASCII salt,
//! standard base64 with padding, compared in constant time.

use base64::Engine as _;
use sha2::Sha256;

/// Iteration counts above this are refused instead of computed: Django 6.1 writes
/// 1 500 000, so ten times that leaves room without letting one row cost minutes.
const MAX_ITERATIONS: u32 = 15_000_000;

/// Whether `password` matches `encoded`; `None` when `encoded` is not a well-formed
/// `pbkdf2_sha256` hash.
pub(super) fn verify_pbkdf2_sha256(password: &str, encoded: &str) -> Option<bool> {
    let mut parts = encoded.split('$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let iterations: u32 = iterations.parse().ok().filter(|&n| (1..=MAX_ITERATIONS).contains(&n))?;
    let expected = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    if salt.is_empty() || !(16..=64).contains(&expected.len()) {
        return None;
    }
    let mut derived = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut derived);
    Some(constant_time_eq(&derived, &expected))
}

/// Compares without an early exit, so timing does not reveal how many bytes matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // docs/REFERENCE.md#password-hashes: produced by Django's own PBKDF2PasswordHasher.encode.
    const VECTORS: &[(&str, &str)] = &[
        ("NexoraTest#2024", "pbkdf2_sha256$1000$nexoraReferenceSalt01A$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU="),
        ("pässwörd-ünïcode", "pbkdf2_sha256$1000$saltSALTsalt0123456789$W/iGWzO/a8YkigJgw1VABKkgpSpxbavHOETEWBZN4SE="),
        ("", "pbkdf2_sha256$1000$emptyPasswordSalt00000$WN5xmDkKsTDG2230fFqdhgxJ45NMgPgLYxZe6uDga28="),
    ];

    #[test]
    fn django_vectors_verify() {
        for (password, encoded) in VECTORS {
            assert_eq!(verify_pbkdf2_sha256(password, encoded), Some(true), "{password:?}");
            assert_eq!(verify_pbkdf2_sha256(&format!("{password}x"), encoded), Some(false), "{password:?}");
        }
    }

    #[test]
    fn django_million_iteration_vector_verifies() {
        let encoded = "pbkdf2_sha256$1000000$nexoraReferenceSalt01A$kc2vbUexTMbcGN7Vaot5fz3ACQ08NpVeFD2ngEoX8E0=";
        assert_eq!(verify_pbkdf2_sha256("NexoraTest#2024", encoded), Some(true));
        let real = "pbkdf2_sha256$1000000$cpQp5gtnlCkSbhxzxbtbf0$6NZkN1FqLKUiihqQa82f2vcejSTXGj1KBVJAW9CysRI=";
        assert_eq!(verify_pbkdf2_sha256("Str0ng-Passw0rd!", real), Some(true));
    }

    #[test]
    fn malformed_hashes_are_not_hashes() {
        for encoded in [
            "pbkdf2_sha256$1000$salt",
            "pbkdf2_sha256$abc$salt$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=",
            "pbkdf2_sha256$0$salt$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=",
            "pbkdf2_sha256$999999999$salt$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=",
            "pbkdf2_sha256$1000$salt$not base64",
            "pbkdf2_sha256$1000$$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=",
            "pbkdf2_sha256$1000$salt$AAAA",
            "pbkdf2_sha256$1000$salt$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=$extra",
            "pbkdf2_sha1$1000$salt$PVNpnINsIcge7NMFgAItYwh5wmU+yWKqvkNxZfoZuzU=",
        ] {
            assert_eq!(verify_pbkdf2_sha256("x", encoded), None, "{encoded}");
        }
    }
}
