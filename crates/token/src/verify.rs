//! `Verifier`: verifies bearer access tokens behind a cache of verified claims, and refresh
//! and `/auth/verify` tokens without one.
//!
//! The cache (moka) maps the SHA-256 of the exact token bytes to the verified claims. Only
//! successful verifications are inserted, and once the cache is full only those of a token
//! seen before (`doorkeeper.rs`: a one-off token would only be evicted again); each entry
//! expires at `exp + leeway` (capped at `access_ttl + leeway`), and a hit re-checks
//! `exp + leeway > now` before it is used, so a cached entry never outlives its token.
//! The cache belongs to one `Verifier`, and a `Verifier` to one config generation: a reload
//! builds a new `Verifier` with an empty cache, so no entry outlives the key set, issuer or
//! audience it was verified under. What the cache cannot know — the user's revocation point
//! (docs/REFERENCE.md#revocation) and the route's roles — the caller checks on every
//! request, hit or miss, from the returned claims.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use moka::Expiry;
use sha2::{Digest, Sha256};

use super::decode::{self, Checked, Outcome, Rules, TokenKind, MAX_TOKEN_BYTES};
use super::doorkeeper::Doorkeeper;
use super::error::TokenError;
use super::keys::Keys;
use super::remote::Issuers;
use super::identity_values::IdentityValues;
use super::settings::TokenSettings;
use super::{AccessClaims, RefreshClaims};

/// A successfully verified access token.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The token's claims, shared with the cache.
    pub claims: Arc<AccessClaims>,
    /// Whether the claims came from the cache (no signature check on this call).
    pub from_cache: bool,
}

/// Verifies tokens against one [`Keys`] and one set of claim rules. Cheap to share
/// (`Arc<Verifier>`); all methods take `&self` and are safe to call from many threads.
pub struct Verifier {
    keys: Arc<Keys>,
    rules: Rules,
    issuers: Issuers,
    cache: Option<Cache<[u8; 32], CachedClaims>>,
    /// In front of a full cache: a token gets in on its second sighting.
    /// Made the first time the cache is full, so a cache that never fills
    /// never pays for its bitset.
    doorkeeper: OnceLock<Doorkeeper>,
    /// The cache's capacity in entries.
    cache_capacity: u64,
    /// Inserts made (tests: what the doorkeeper kept out).
    #[cfg(test)]
    inserts: std::sync::atomic::AtomicUsize,
    /// Upper bound of one cache entry's lifetime.
    max_entry_life: u64,
}

#[derive(Clone)]
struct CachedClaims {
    claims: Arc<AccessClaims>,
    /// Computed at insertion from the injected `now`; read by [`UntilTokenExpiry`].
    life: Duration,
    /// The last second the token is accepted: its `exp` plus the leeway of
    /// whoever issued it (the gateway's or the external issuer's).
    valid_until: u64,
}

/// Per-entry expiry: the entry goes when its token does (see the module doc).
struct UntilTokenExpiry;

impl Expiry<[u8; 32], CachedClaims> for UntilTokenExpiry {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        value: &CachedClaims,
        _: Instant,
    ) -> Option<Duration> {
        Some(value.life)
    }
}

impl Verifier {
    /// A verifier for the keys and claim rules (leeway, issuer, audience, cache size) of
    /// one config generation.
    pub fn new(keys: Arc<Keys>, settings: &TokenSettings) -> Verifier {
        let leeway = settings.leeway.as_secs();
        let cache = (settings.cache_max_entries > 0).then(|| {
            Cache::builder()
                .max_capacity(settings.cache_max_entries)
                .expire_after(UntilTokenExpiry)
                .build()
        });
        Verifier {
            keys,
            issuers: Issuers::default(),
            rules: Rules {
                leeway,
                issuer: settings.issuer.as_deref().map(Box::from),
                audience: settings.audience.as_deref().map(Box::from),
            },
            doorkeeper: OnceLock::new(),
            cache,
            cache_capacity: settings.cache_max_entries,
            #[cfg(test)]
            inserts: std::sync::atomic::AtomicUsize::new(0),
            max_entry_life: settings.access_ttl.as_secs().saturating_add(leeway),
        }
    }

    /// This verifier, also accepting the access tokens of `issuers` (chosen by their
    /// `iss`). Their entries in the cache live no longer than the token's `exp`, like
    /// the gateway's own.
    pub fn with_issuers(mut self, issuers: Issuers) -> Verifier {
        self.issuers = issuers;
        self
    }

    /// The external issuers this verifier accepts.
    pub fn issuers(&self) -> &Issuers {
        &self.issuers
    }

    /// Verifies a bearer access token, cache first. `now` is unix seconds (injected so
    /// tests can move the clock; production passes the current time).
    ///
    /// A cache hit costs a SHA-256 of the token, one moka lookup and an `Arc` clone.
    pub fn verify_access(&self, token: &str, now: u64) -> Result<Verified, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let Some(cache) = &self.cache else {
            let claims = Arc::new(self.check_access(token, now)?);
            return Ok(Verified {
                claims,
                from_cache: false,
            });
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = cache.get(&digest) {
            if hit.valid_until <= now {
                cache.invalidate(&digest);
                return Err(TokenError::Expired);
            }
            return Ok(Verified {
                claims: hit.claims,
                from_cache: true,
            });
        }
        let claims = Arc::new(self.check_access(token, now)?);
        let valid_until = claims.exp.saturating_add(self.leeway_of(&claims));
        let life = valid_until.saturating_sub(now).min(self.max_entry_life);
        if life > 0 && self.admits(cache, &digest) {
            #[cfg(test)]
            self.inserts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            cache.insert(
                digest,
                CachedClaims {
                    claims: Arc::clone(&claims),
                    life: Duration::from_secs(life),
                    valid_until,
                },
            );
        }
        Ok(Verified {
            claims,
            from_cache: false,
        })
    }

    /// Verifies a refresh token (`token_type` must be `"refresh"`). Never cached: refresh
    /// is rare, and its `jti` is checked against the store by the caller anyway.
    pub fn verify_refresh(&self, token: &str, now: u64) -> Result<RefreshClaims, TokenError> {
        let checked = self.check_own(token, now, TokenKind::Refresh)?;
        let Checked {
            exp,
            iat,
            jti,
            user_id,
            username,
            role,
            family,
        } = checked;
        let user_id = user_id.ok_or(TokenError::NoUserId)?;
        Ok(RefreshClaims {
            user_id,
            username,
            role,
            iat,
            exp,
            jti: jti.into(),
            family,
        })
    }

    /// `/auth/verify` semantics (simplejwt `TokenVerifyView`): signature, time, issuer and
    /// audience when configured, and `jti`; any `token_type`, no user. Not cached.
    pub fn verify_any(&self, token: &str, now: u64) -> Result<(), TokenError> {
        self.check_own(token, now, TokenKind::Any).map(drop)
    }

    /// Approximate number of cached tokens (moka applies writes lazily); `0` when the
    /// cache is disabled.
    ///
    /// Applies moka's pending bookkeeping first, so the count is exact; meant
    /// for the metrics scrape, not the hot path.
    pub fn cache_entry_count(&self) -> u64 {
        self.cache.as_ref().map_or(0, |cache| {
            cache.run_pending_tasks();
            cache.entry_count()
        })
    }

    /// How many verified tokens were put into the cache (tests).
    #[cfg(test)]
    pub(crate) fn cache_inserts(&self) -> usize {
        self.inserts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Applies moka's pending writes and evictions, so counts are exact in tests.
    #[cfg(test)]
    pub(crate) fn sync_cache(&self) {
        if let Some(cache) = &self.cache {
            cache.run_pending_tasks();
        }
    }

    /// Whether a freshly verified token goes into the cache: always while it
    /// has room, and once it is full only a token seen before ([`Doorkeeper`]),
    /// so a flood of one-off tokens does not pay an insert that admission
    /// would undo.
    fn admits(&self, cache: &Cache<[u8; 32], CachedClaims>, digest: &[u8; 32]) -> bool {
        cache.entry_count() < self.cache_capacity
            || self.doorkeeper.get_or_init(|| Doorkeeper::new(self.cache_capacity)).seen(digest)
    }

    /// The clock skew allowed on `claims`' expiry: its external issuer's
    /// `leeway`, or the gateway's own.
    fn leeway_of(&self, claims: &AccessClaims) -> u64 {
        match &claims.issuer {
            Some(name) => self.issuers.by_name(name).map_or(0, |i| i.settings.leeway.as_secs()),
            None => self.rules.leeway,
        }
    }

    /// A token of the gateway's own (refresh, `/auth/verify`): another issuer's is
    /// refused as unknown.
    fn check_own(&self, token: &str, now: u64, expect: TokenKind) -> Result<Checked, TokenError> {
        match decode::check(&self.keys, &self.rules, &self.issuers, token, now, expect)? {
            Outcome::Own(checked) => Ok(checked),
            Outcome::Remote(_) => Err(TokenError::UnknownIssuer),
        }
    }

    fn check_access(&self, token: &str, now: u64) -> Result<AccessClaims, TokenError> {
        let outcome =
            decode::check(&self.keys, &self.rules, &self.issuers, token, now, TokenKind::Access)?;
        let checked = match outcome {
            Outcome::Own(checked) => checked,
            Outcome::Remote(claims) => return Ok(claims),
        };
        let Checked {
            exp,
            iat,
            jti,
            user_id,
            username,
            role,
            family: _,
        } = checked;
        let user_id = user_id.ok_or(TokenError::NoUserId)?;
        let header_values = IdentityValues::new(&user_id, username.as_deref(), role.as_deref())?;
        Ok(AccessClaims {
            roles: role.iter().cloned().collect(),
            user_id,
            username,
            role,
            iat,
            exp,
            jti,
            header_values,
            issuer: None,
            extra_headers: Box::default(),
            scopes: Box::default(),
            audiences: self.rules.audience.iter().cloned().collect(),
        })
    }
}
