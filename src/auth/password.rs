//! Password hashing and verification: argon2id (OWASP parameters) for new hashes, plus
//! the Django formats an imported user table carries (`pbkdf2_sha256$…`, `argon2$…`).
//!
//! Hashing is CPU- and memory-heavy, so it runs on its own low-priority threads
//! ([`pool`], `max(1, cores - 1)` of them, at nice 19) behind a semaphore with as many
//! permits: a login flood queues here instead of stalling a runtime, the scheduler always
//! prefers the proxy's workers over a hash, and memory stays bounded by permits ×
//! `memory_kib`. Passwords
//! longer than the maximum are refused before any work. Unknown users, unusable (`!…`)
//! and unreadable hashes are verified against a dummy hash made with the current
//! parameters, so they cost what a wrong password costs (docs/REFERENCE.md#sec-passwords, docs/REFERENCE.md#sec-rate-limits).

mod django;
mod pool;

pub use pool::{PoolError, HASH_THREAD_NICE};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Longest password accepted by default, in bytes (`auth.password.max_length`).
pub const DEFAULT_MAX_PASSWORD_BYTES: usize = 4096;

/// Length of the argon2 output, in bytes.
const OUTPUT_LEN: usize = 32;

/// Largest argon2 memory cost a stored hash may ask for (KiB): Django's default is
/// 102400; a hash demanding more is refused rather than allocated.
const MAX_STORED_MEMORY_KIB: u32 = 256 * 1024;
/// Largest argon2 pass count a stored hash may ask for.
const MAX_STORED_ITERATIONS: u32 = 16;

pub use crate::config::Argon2Params;

/// Why hashing or verifying failed (a wrong password is not an error: see
/// [`Verification::ok`]).
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Longer than the configured maximum; refused before hashing.
    #[error("password longer than {max} bytes")]
    TooLong {
        /// The maximum, in bytes.
        max: usize,
    },
    /// The argon2 parameters are out of range (fix `auth.password.argon2`).
    #[error("invalid argon2 parameters (fix auth.password.argon2): {0}")]
    Params(String),
    /// The hashing task failed (panicked or was cancelled).
    #[error("password hashing failed: {0}")]
    Internal(String),
    /// The hashing threads could not run the work.
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// The result of [`PasswordHasher::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matches the stored hash.
    pub ok: bool,
    /// The stored hash is not argon2id with the current parameters: store a fresh
    /// [`PasswordHasher::hash`] after this successful login. Only ever true when `ok`.
    pub needs_rehash: bool,
}

impl Verification {
    const FAILED: Verification = Verification { ok: false, needs_rehash: false };
}

/// Hashes and verifies passwords off the async workers. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
    max_bytes: usize,
}

#[derive(Debug)]
struct Inner {
    params: Argon2Params,
    /// `Err` when the parameters are out of range: every call reports it.
    argon2: Result<Argon2<'static>, String>,
    permits: Arc<Semaphore>,
    /// The low-priority threads the work runs on; started on first use.
    threads: OnceLock<Result<pool::HashPool, String>>,
    /// Hash of a random password with the current parameters, made on first need.
    dummy: OnceLock<Option<String>>,
    dummy_verifications: AtomicU64,
}

impl PasswordHasher {
    /// A hasher with these argon2id parameters and the default maximum length. Out-of-range
    /// parameters make every call fail with [`PasswordError::Params`]; check them at
    /// startup with [`PasswordHasher::try_new`].
    pub fn new(params: Argon2Params) -> PasswordHasher {
        let argon2 = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(OUTPUT_LEN))
            .map(|p| Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
            .map_err(|e| e.to_string());
        let inner = Inner {
            params,
            argon2,
            permits: Arc::new(Semaphore::new(hashing_threads())),
            threads: OnceLock::new(),
            dummy: OnceLock::new(),
            dummy_verifications: AtomicU64::new(0),
        };
        PasswordHasher { inner: Arc::new(inner), max_bytes: DEFAULT_MAX_PASSWORD_BYTES }
    }

    /// Like [`PasswordHasher::new`], but refuses out-of-range parameters.
    pub fn try_new(params: Argon2Params) -> Result<PasswordHasher, PasswordError> {
        let hasher = PasswordHasher::new(params);
        match &hasher.inner.argon2 {
            Ok(_) => Ok(hasher),
            Err(e) => Err(PasswordError::Params(e.clone())),
        }
    }

    /// Sets the longest password accepted, in bytes (`auth.password.max_length`).
    pub fn with_max_length(mut self, max_bytes: usize) -> PasswordHasher {
        self.max_bytes = max_bytes;
        self
    }

    /// The argon2id parameters new hashes use.
    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// How many verifications went through the dummy hash (unknown user, unusable or
    /// unreadable stored hash) since start; for tests and metrics.
    pub fn dummy_verifications(&self) -> u64 {
        self.inner.dummy_verifications.load(Ordering::Relaxed)
    }

    /// A new PHC string `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` with a random salt.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        self.check_length(password)?;
        let password = password.to_owned();
        self.run(move |inner| inner.hash(&password)).await?
    }

    /// Verifies against an argon2id PHC string, Django `pbkdf2_sha256$iter$salt$b64` or
    /// Django `argon2$argon2id$…`; `!…` (Django's unusable password) and unknown formats
    /// never verify. `None` (unknown user) verifies against a dummy hash with the current
    /// parameters, so it costs the same as a wrong password, and returns `ok: false`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verification, PasswordError> {
        self.check_length(password)?;
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        self.run(move |inner| inner.verify(&password, stored.as_deref())).await?
    }

    fn check_length(&self, password: &str) -> Result<(), PasswordError> {
        if password.len() > self.max_bytes {
            return Err(PasswordError::TooLong { max: self.max_bytes });
        }
        Ok(())
    }

    /// Runs `work` on a hashing thread once a permit is free. The permit moves into the
    /// job, so a caller that gives up (client gone) does not free it before the work ends.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|e| PasswordError::Internal(e.to_string()))?;
        let threads = self
            .inner
            .threads
            .get_or_init(|| pool::HashPool::start(hashing_threads()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| PasswordError::Internal(e.clone()))?;
        let inner = Arc::clone(&self.inner);
        Ok(threads
            .run(move || {
                let _permit = permit;
                work(&inner)
            })
            .await?)
    }
}

/// How many hashes run at once: one core is always left to the proxy.
fn hashing_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.saturating_sub(1).max(1)
}

// === impl Inner (runs on the hashing threads) ===

impl Inner {
    fn argon2(&self) -> Result<&Argon2<'static>, PasswordError> {
        self.argon2.as_ref().map_err(|e| PasswordError::Params(e.clone()))
    }

    fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        self.argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Internal(e.to_string()))
    }

    fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verification, PasswordError> {
        let argon2 = self.argon2()?;
        let outcome = match stored {
            Some(phc) if phc.starts_with("$argon2") => verify_phc(argon2, password, phc)
                .map(|ok| Verification { ok, needs_rehash: ok && !self.is_current(phc) }),
            // Django's Argon2PasswordHasher: "argon2" + the PHC string of argon2-cffi.
            Some(django) if django.starts_with("argon2$argon2") => {
                verify_phc(argon2, password, &django["argon2".len()..]).map(|ok| Verification { ok, needs_rehash: ok })
            }
            Some(django) if django.starts_with("pbkdf2_sha256$") => {
                django::verify_pbkdf2_sha256(password, django).map(|ok| Verification { ok, needs_rehash: ok })
            }
            // `!…` (unusable), unknown schemes, unknown users.
            _ => None,
        };
        match outcome {
            Some(v) => Ok(v),
            None => {
                self.verify_dummy(argon2, password);
                Ok(Verification::FAILED)
            }
        }
    }

    /// Whether `phc` is argon2id, version 19, with exactly the current parameters.
    fn is_current(&self, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else { return false };
        let Ok(params) = Params::try_from(&hash) else { return false };
        hash.algorithm == Algorithm::Argon2id.ident()
            && hash.version == Some(Version::V0x13.into())
            && params.m_cost() == self.params.memory_kib
            && params.t_cost() == self.params.iterations
            && params.p_cost() == self.params.parallelism
            && hash.hash.is_some_and(|h| h.len() == OUTPUT_LEN)
    }

    /// Spends what a real verification costs, whatever the outcome.
    fn verify_dummy(&self, argon2: &Argon2<'static>, password: &str) {
        self.dummy_verifications.fetch_add(1, Ordering::Relaxed);
        let dummy = self.dummy.get_or_init(|| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2.hash_password(b"nexora-gate dummy password", &salt).ok().map(|h| h.to_string())
        });
        match dummy {
            Some(phc) => {
                let _ = verify_phc(argon2, password, phc);
            }
            // Unreachable with valid parameters; hash anyway so the cost stays the same.
            None => {
                let _ = self.hash(password);
            }
        }
    }
}

/// Verifies a PHC argon2 string with the parameters it carries. `None` when it does not
/// parse or asks for more than [`MAX_STORED_MEMORY_KIB`] / [`MAX_STORED_ITERATIONS`]
/// (treated like an unknown format).
fn verify_phc(argon2: &Argon2<'static>, password: &str, phc: &str) -> Option<bool> {
    let hash = PasswordHash::new(phc).ok()?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return None;
    }
    let params = Params::try_from(&hash).ok()?;
    if params.m_cost() > MAX_STORED_MEMORY_KIB || params.t_cost() > MAX_STORED_ITERATIONS {
        return None;
    }
    Some(argon2.verify_password(password.as_bytes(), &hash).is_ok())
}

#[cfg(test)]
mod tests;
