//! Compiling `tokens:`: key material (secrets and PEM files, read here),
//! lifetimes and leeway, issuer/audience, cache size — then building the key
//! set once, so `check` refuses everything `serve` would.

use std::path::{Path, PathBuf};

use super::Compiler;
use crate::files::{read_capped, MAX_KEY_BYTES};
use crate::raw;
use crate::TokenPolicy;
use nexora_token::{Algorithm, KeyMaterial, KeyRef, KeySpec, Keys, Secret, TokenSettings};

impl Compiler<'_> {
    pub(super) fn tokens(&mut self, raw: raw::Tokens) -> (Option<TokenSettings>, Option<TokenPolicy>) {
        let raw::Tokens {
            algorithm,
            signing_key,
            private_key_file,
            public_key_file,
            kid,
            previous_keys,
            access_ttl,
            refresh_ttl,
            leeway,
            issuer,
            audience,
            rotate_refresh,
            revocation_poll,
            cache,
        } = raw;
        let algorithm = to_algorithm(algorithm);
        let current = self.key_spec("tokens", kid, algorithm, signing_key, private_key_file, public_key_file, true);
        let mut previous = Vec::new();
        for (i, key) in previous_keys.unwrap_or_default().into_iter().enumerate() {
            let raw::PreviousKey { kid, algorithm: alg, signing_key, public_key_file } = key;
            let alg = alg.map_or(algorithm, to_algorithm);
            let at = format!("tokens.previous_keys[{i}]");
            previous.push(self.key_spec(&at, Some(kid), alg, signing_key, None, public_key_file, false));
        }
        let access_ttl = self.duration("tokens.access_ttl", access_ttl.as_deref(), "60m");
        let refresh_ttl = self.duration("tokens.refresh_ttl", refresh_ttl.as_deref(), "7d");
        let leeway = self.duration("tokens.leeway", leeway.as_deref(), "30s");
        let poll = self.duration("tokens.revocation_poll", revocation_poll.as_deref(), "5s");
        if access_ttl.is_some_and(|d| d.is_zero()) {
            self.error("tokens.access_ttl", "must be more than 0s");
        }
        if let (Some(a), Some(r)) = (access_ttl, refresh_ttl) {
            if r < a {
                self.error("tokens.refresh_ttl", "must be at least tokens.access_ttl");
            }
        }
        let policy = poll.map(|revocation_poll| TokenPolicy {
            rotate_refresh: rotate_refresh.unwrap_or(true),
            revocation_poll,
        });
        let cache_max_entries = cache.and_then(|c| c.max_entries).unwrap_or(100_000);
        let (Some(current), Some(access_ttl), Some(refresh_ttl), Some(leeway)) = (current, access_ttl, refresh_ttl, leeway) else {
            return (None, policy);
        };
        let Some(previous) = previous.into_iter().collect::<Option<Vec<_>>>() else {
            return (None, policy);
        };
        let settings = TokenSettings {
            current,
            previous,
            access_ttl,
            refresh_ttl,
            leeway,
            issuer,
            audience,
            cache_max_entries,
        };
        // Build the keys once so weak secrets, bad PEM files and key/algorithm
        // mismatches fail `check`, not the first request.
        if let Err(e) = Keys::new(&settings) {
            let (prefix, spec) = match e.key() {
                KeyRef::Current => ("tokens".to_owned(), Some(&settings.current)),
                KeyRef::Previous(i) => (format!("tokens.previous_keys[{i}]"), settings.previous.get(i)),
            };
            let field = match spec.map(|s| &s.material) {
                Some(KeyMaterial::Hmac(_)) => "signing_key",
                _ => "public_key_file",
            };
            self.error(&format!("{prefix}.{field}"), e.to_string());
            return (None, policy);
        }
        (Some(settings), policy)
    }

    /// One key: HMAC secret for HS*, PEM files for asymmetric algorithms.
    #[allow(clippy::too_many_arguments)]
    fn key_spec(
        &mut self,
        at: &str,
        kid: Option<String>,
        algorithm: Algorithm,
        secret: Option<raw::Secret>,
        private_file: Option<String>,
        public_file: Option<String>,
        needs_private: bool,
    ) -> Option<KeySpec> {
        let hmac = matches!(algorithm, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
        let material = if hmac {
            if private_file.is_some() || public_file.is_some() {
                self.error(&format!("{at}.algorithm"), "an HS* algorithm takes signing_key, never key files (a public key must not become an HMAC secret)");
                return None;
            }
            let Some(secret) = secret else {
                self.error(&format!("{at}.signing_key"), "required for HS* algorithms (generate one with `nexora-gate keygen --alg HS256 --out DIR`)");
                return None;
            };
            KeyMaterial::Hmac(Secret::new(secret.expose_secret()))
        } else {
            if secret.is_some() {
                self.error(&format!("{at}.signing_key"), "RS256/ES256/EdDSA take private_key_file and public_key_file, not a secret");
                return None;
            }
            // Both files are looked at before giving up, so both problems are reported.
            let public_pem = match public_file {
                Some(f) => self.read_key_file(&format!("{at}.public_key_file"), &f),
                None => {
                    self.error(&format!("{at}.public_key_file"), "required for asymmetric algorithms");
                    None
                }
            };
            let private_pem = match private_file {
                Some(f) => self.read_key_file(&format!("{at}.private_key_file"), &f).map(Some),
                None if needs_private => {
                    self.error(&format!("{at}.private_key_file"), "required: the gateway signs the tokens it issues");
                    None
                }
                None => Some(None),
            };
            let (public_pem, private_pem) = (public_pem?, private_pem?);
            KeyMaterial::Asymmetric { private_pem, public_pem }
        };
        Some(KeySpec { kid, algorithm, material })
    }

    /// Reads a key file, relative to the config file's directory.
    fn read_key_file(&mut self, at: &str, name: &str) -> Option<Vec<u8>> {
        let path = resolve(&self.src.path, name);
        match read_capped(&path, MAX_KEY_BYTES) {
            Ok(bytes) => {
                self.depends_on(&path, &bytes);
                Some(bytes)
            }
            Err(e) => {
                self.error(at, format!("cannot read {}: {e}", path.display()));
                None
            }
        }
    }
}

/// `name` as written if absolute, else next to the config file.
pub(super) fn resolve(config_path: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        p.to_owned()
    } else {
        config_path.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn to_algorithm(raw: raw::Algorithm) -> Algorithm {
    match raw {
        raw::Algorithm::HS256 => Algorithm::HS256,
        raw::Algorithm::HS384 => Algorithm::HS384,
        raw::Algorithm::HS512 => Algorithm::HS512,
        raw::Algorithm::RS256 => Algorithm::RS256,
        raw::Algorithm::ES256 => Algorithm::ES256,
        raw::Algorithm::EdDSA => Algorithm::EdDSA,
    }
}
