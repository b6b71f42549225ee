//! New key material for `nexora-gate keygen`, in memory ([`generate`]) or written to a
//! directory ([`keygen`]) in the form the config reads.
//!
//! HS256/HS384/HS512: `signing_key`, a base64url string (no padding, no newline) of 48,
//! 48 or 64 random bytes, whose UTF-8 bytes are the key (simplejwt semantics). RS256
//! (3072-bit), ES256 (P-256), EdDSA (Ed25519): `private.pem` (PKCS#8, mode 0600) and
//! `public.pem` (SPKI), made by aws-lc. Randomness comes from the operating system. Existing files are
//! never overwritten.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};

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
        Algorithm::HS256 | Algorithm::HS384 => random_secret(48).map(KeyMaterial::Hmac),
        Algorithm::HS512 => random_secret(64).map(KeyMaterial::Hmac),
        Algorithm::RS256 => generate_rsa(RSA_BITS),
        Algorithm::ES256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|e| failed(&e))?;
            let private = pair.to_pkcs8v1().map_err(|e| failed(&e))?;
            let public = pair.public_key().as_der().map_err(|e| failed(&e))?;
            Ok(pair_pem(private.as_ref(), public.as_ref()))
        }
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::generate().map_err(|e| failed(&e))?;
            let private = pair.to_pkcs8v1().map_err(|e| failed(&e))?;
            let public = pair.public_key().as_der().map_err(|e| failed(&e))?;
            Ok(pair_pem(private.as_ref(), public.as_ref()))
        }
        algorithm => Err(KeygenError::UnsupportedAlgorithm { algorithm }),
    }
}

/// Generates an RSA key pair (for RS256) with a 2048-, 3072- or 4096-bit modulus.
/// [`generate`] makes 3072-bit keys; identity providers commonly sign with 2048.
pub fn generate_rsa(bits: usize) -> Result<KeyMaterial, KeygenError> {
    let failed = |e: &dyn std::fmt::Display| KeygenError::Generate {
        reason: e.to_string(),
    };
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        _ => {
            return Err(KeygenError::Generate {
                reason: format!("RSA keys are 2048, 3072 or 4096 bits, not {bits}"),
            })
        }
    };
    let pair = RsaKeyPair::generate(size).map_err(|e| failed(&e))?;
    let private = AsDer::<Pkcs8V1Der<'_>>::as_der(&pair).map_err(|e| failed(&e))?;
    let public = pair.public_key().as_der().map_err(|e| failed(&e))?;
    Ok(pair_pem(private.as_ref(), public.as_ref()))
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

fn random_secret(bytes: usize) -> Result<Secret, KeygenError> {
    let mut raw = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut raw)
        .map_err(|e| KeygenError::Generate {
            reason: e.to_string(),
        })?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(&raw)))
}

/// A PKCS#8 private key and an SPKI public key, both as PEM with LF line endings.
fn pair_pem(private_der: &[u8], public_der: &[u8]) -> KeyMaterial {
    let lf = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    let encode = |tag: &str, der: &[u8]| pem::encode_config(&pem::Pem::new(tag, der), lf);
    KeyMaterial::Asymmetric {
        private_pem: Some(encode("PRIVATE KEY", private_der).into_bytes()),
        public_pem: encode("PUBLIC KEY", public_der).into_bytes(),
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
