//! New key material for `nexora-gate keygen`, in memory ([`generate`]) or written to a
//! directory ([`keygen`]) in the form the config reads.
//!
//! HS256/HS384/HS512: `signing_key`, a base64url string (no padding, no newline) of 48,
//! 48 or 64 random bytes, whose UTF-8 bytes are the key (simplejwt semantics). RS256
//! (3072-bit), ES256 (P-256), EdDSA (Ed25519): `private.pem` (PKCS#8, mode 0600) and
//! `public.pem` (SPKI). Randomness comes from the operating system. Existing files are
//! never overwritten.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use rand::rngs::OsRng;
use rand::RngCore as _;

use super::settings::{KeyMaterial, Secret};

/// RSA modulus size of generated RS256 keys (NIST SP 800-57: 128-bit security).
pub const RSA_BITS: usize = 3072;

/// File name of a generated HMAC secret.
pub const SECRET_FILE: &str = "signing_key";
/// File name of a generated private key.
pub const PRIVATE_FILE: &str = "private.pem";
/// File name of a generated public key.
pub const PUBLIC_FILE: &str = "public.pem";

/// Why a key could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// Algorithm outside the supported set.
    #[error("keygen supports HS256, HS384, HS512, RS256, ES256 and EdDSA, not {algorithm:?}")]
    UnsupportedAlgorithm {
        /// The refused algorithm.
        algorithm: Algorithm,
    },
    /// A target file is already there.
    #[error("{} already exists: choose another --out directory or move the old key away first", path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// Creating the directory or writing a file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The crypto library failed to generate or encode the key.
    #[error("key generation failed: {reason}")]
    Generate {
        /// The library's message.
        reason: String,
    },
}

/// Generates new key material for `alg` in memory.
pub fn generate(alg: Algorithm) -> Result<KeyMaterial, KeygenError> {
    let failed = |e: &dyn std::fmt::Display| KeygenError::Generate {
        reason: e.to_string(),
    };
    match alg {
        Algorithm::HS256 | Algorithm::HS384 => Ok(KeyMaterial::Hmac(random_secret(48))),
        Algorithm::HS512 => Ok(KeyMaterial::Hmac(random_secret(64))),
        Algorithm::RS256 => {
            use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
            let private = rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS).map_err(|e| failed(&e))?;
            let private_pem = private
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| failed(&e))?;
            let public_pem = private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| failed(&e))?;
            Ok(pair(private_pem.as_bytes(), public_pem))
        }
        Algorithm::ES256 => {
            use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
            let private = p256::SecretKey::random(&mut OsRng);
            let private_pem = private
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| failed(&e))?;
            let public_pem = private
                .public_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| failed(&e))?;
            Ok(pair(private_pem.as_bytes(), public_pem))
        }
        Algorithm::EdDSA => {
            use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
            use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
            let private = ed25519_dalek::SigningKey::generate(&mut OsRng);
            let private_pem = private
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| failed(&e))?;
            let public_pem = private
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| failed(&e))?;
            Ok(pair(private_pem.as_bytes(), public_pem))
        }
        algorithm => Err(KeygenError::UnsupportedAlgorithm { algorithm }),
    }
}

/// Generates new key material for `alg` and writes it into `out_dir` (created if missing),
/// returning the paths written. Refuses to overwrite: if any target file exists, nothing
/// is written. Secret files are created with mode 0600, a new directory with 0700.
pub fn keygen(alg: Algorithm, out_dir: &Path) -> Result<Vec<PathBuf>, KeygenError> {
    let material = generate(alg)?;
    let files: Vec<(PathBuf, &[u8], bool)> = match &material {
        KeyMaterial::Hmac(secret) => vec![(
            out_dir.join(SECRET_FILE),
            secret.expose_secret().as_bytes(),
            true,
        )],
        KeyMaterial::Asymmetric {
            private_pem,
            public_pem,
        } => vec![
            (
                out_dir.join(PRIVATE_FILE),
                private_pem.as_deref().unwrap_or_default(),
                true,
            ),
            (out_dir.join(PUBLIC_FILE), public_pem.as_slice(), false),
        ],
    };
    if let Some((path, ..)) = files.iter().find(|(path, ..)| path.exists()) {
        return Err(KeygenError::Exists { path: path.clone() });
    }
    create_dir(out_dir)?;
    let mut written = Vec::with_capacity(files.len());
    for (path, bytes, secret) in &files {
        if let Err(e) = write_new(path, bytes, *secret) {
            // Leave no half key pair behind.
            for done in &written {
                let _ = std::fs::remove_file(done);
            }
            return Err(e);
        }
        written.push(path.clone());
    }
    Ok(written)
}

fn random_secret(bytes: usize) -> Secret {
    let mut raw = vec![0u8; bytes];
    OsRng.fill_bytes(&mut raw);
    Secret::new(URL_SAFE_NO_PAD.encode(&raw))
}

fn pair(private_pem: &[u8], public_pem: String) -> KeyMaterial {
    KeyMaterial::Asymmetric {
        private_pem: Some(private_pem.to_vec()),
        public_pem: public_pem.into_bytes(),
    }
}

/// Creates `dir` and its missing parents; on Unix, new directories are private (0700).
fn create_dir(dir: &Path) -> Result<(), KeygenError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| KeygenError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates `path` (failing if it exists, even if created since the check) and writes it.
fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), KeygenError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let io = |source| KeygenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => KeygenError::Exists {
            path: path.to_path_buf(),
        },
        _ => io(source),
    })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}
