//! `Issuer`: mints access and refresh tokens with the current key, byte-compatible with
//! djangorestframework-simplejwt (docs/REFERENCE.md#token-format).
//!
//! The header is written by hand so its bytes match PyJWT's sorted, compact output:
//! `{"alg":"HS256","typ":"JWT"}`, or `{"alg":"HS256","kid":"k1","typ":"JWT"}` when the
//! current key has a `kid`. Claims follow simplejwt's order: `token_type`, `exp`, `iat`,
//! `jti`, `user_id` (a JSON string), then `username`, `role`, `iss`, `aud`, and `fam` on
//! refresh tokens.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;

use super::decode::MAX_TOKEN_BYTES;
use super::error::TokenError;
use super::keys::Keys;
use super::settings::TokenSettings;
use super::wire::MintClaims;

/// Who a token is for.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The user's primary key in its string form (`"400"`). Must not be empty.
    pub user_id: &'a str,
    /// The user's username.
    pub username: &'a str,
    /// The user's role (`ADMIN`, `SELLER`, ...).
    pub role: &'a str,
    /// The user's revocation point as read with the rest of this subject
    /// (unix milliseconds; 0 for none). A token is stamped no earlier than
    /// it, so one minted after reading a change is never refused by that
    /// change, even when the clock has not yet left the change's millisecond.
    pub revoked_after_ms: u64,
}

/// A freshly minted refresh token and what the store needs to remember about it.
#[derive(Debug, Clone)]
pub struct MintedRefresh {
    /// The compact JWS to hand to the client.
    pub token: String,
    /// Its `jti` (store this, never the token).
    pub jti: String,
    /// Its `exp`, unix seconds.
    pub exp: u64,
}

/// Mints tokens with the current key of one [`Keys`].
pub struct Issuer {
    keys: Arc<Keys>,
    /// `base64url(header)` of the current key, computed once.
    header_b64: String,
    access_ttl: u64,
    refresh_ttl: u64,
    issuer: Option<Box<str>>,
    audience: Option<Box<str>>,
}

impl Issuer {
    /// An issuer signing with `keys`' current key, with the lifetimes, issuer and audience
    /// of `settings`.
    pub fn new(keys: Arc<Keys>, settings: &TokenSettings) -> Issuer {
        let current = keys.current();
        let header = match &current.kid {
            // A kid may contain `"` or `\`: write it as a JSON string, never splice it in.
            Some(kid) => format!(
                r#"{{"alg":"{}","kid":{},"typ":"JWT"}}"#,
                current.alg_name,
                serde_json::Value::from(&**kid)
            ),
            None => format!(r#"{{"alg":"{}","typ":"JWT"}}"#, current.alg_name),
        };
        Issuer {
            header_b64: URL_SAFE_NO_PAD.encode(header),
            keys,
            access_ttl: settings.access_ttl.as_secs(),
            refresh_ttl: settings.refresh_ttl.as_secs(),
            issuer: settings.issuer.as_deref().map(Box::from),
            audience: settings.audience.as_deref().map(Box::from),
        }
    }

    /// Mints an access token issued at `now` (unix seconds). `ttl` overrides `access_ttl`
    /// for `nexora-gate token mint --ttl`; it is not capped here, the caller decides.
    ///
    /// Fails with [`TokenError::NoUserId`] for an empty `user_id`, [`TokenError::TooLarge`]
    /// if the token would exceed what verification accepts, and [`TokenError::Signing`] if
    /// the signer fails.
    pub fn mint_access(
        &self,
        subject: &Subject<'_>,
        now: u64,
        ttl: Option<Duration>,
    ) -> Result<String, TokenError> {
        let ttl = ttl.map_or(self.access_ttl, |t| t.as_secs());
        let (now, ms) = stamp(now, subject);
        let jti = jti_at(ms);
        self.sign(&self.claims("access", subject, &jti, now, ttl, None))
    }

    /// Mints a refresh token of rotation family `family` (claim `fam`), issued at `now`,
    /// expiring after `refresh_ttl`. Fails as [`Issuer::mint_access`] does.
    pub fn mint_refresh(
        &self,
        subject: &Subject<'_>,
        family: &str,
        now: u64,
    ) -> Result<MintedRefresh, TokenError> {
        let (now, ms) = stamp(now, subject);
        let jti = jti_at(ms);
        let claims = self.claims(
            "refresh",
            subject,
            &jti,
            now,
            self.refresh_ttl,
            Some(family),
        );
        let exp = claims.exp;
        let token = self.sign(&claims)?;
        Ok(MintedRefresh { token, jti, exp })
    }

    fn claims<'a>(
        &'a self,
        token_type: &'static str,
        subject: &Subject<'a>,
        jti: &'a str,
        now: u64,
        ttl: u64,
        family: Option<&'a str>,
    ) -> MintClaims<'a> {
        MintClaims {
            token_type,
            exp: now.saturating_add(ttl),
            iat: now,
            jti,
            user_id: subject.user_id,
            username: subject.username,
            role: subject.role,
            iss: self.issuer.as_deref(),
            aud: self.audience.as_deref(),
            fam: family,
        }
    }

    fn sign(&self, claims: &MintClaims<'_>) -> Result<String, TokenError> {
        if claims.user_id.is_empty() {
            return Err(TokenError::NoUserId);
        }
        let key = self.keys.current();
        let encoding = key.encoding.as_ref().ok_or(TokenError::Signing)?;
        let payload = serde_json::to_vec(claims).map_err(|_| TokenError::Signing)?;
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 96);
        token.push_str(&self.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = encoding
            .sign(token.as_bytes())
            .map_err(|_| TokenError::Signing)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        Ok(token)
    }
}

/// A new `jti` made now: see [`jti_at`].
pub fn new_jti() -> String {
    jti_at(crate::unix_now_ms())
}

/// A `jti` for a token issued at `issued_ms` (unix milliseconds): 32
/// lowercase hex digits, the shape of Python's `uuid.hex`, and a valid
/// UUIDv7 — the first 48 bits are the millisecond, then 74 random bits from
/// the thread-local CSPRNG, version and variant bits set. The millisecond is
/// what makes revocation exact inside a second ([`issued_ms`]) while `iat`
/// stays the integer simplejwt sends.
pub fn jti_at(issued_ms: u64) -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[..6].copy_from_slice(&issued_ms.to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    hex::encode(bytes)
}

/// When a token was issued, in unix milliseconds, from its `jti` and `iat`.
///
/// A `jti` this gateway minted ([`jti_at`]: a UUIDv7 whose millisecond lies
/// in the `iat` second) gives the exact millisecond. Any other — a token
/// minted by the legacy Django stack, whose `jti` is a random `uuid4().hex`
/// — gives the start of its `iat` second, so a revocation point inside that
/// second revokes it: such a token never survives a change made in the
/// second it was issued (nor, conservatively, is it told apart from one
/// issued just after).
pub fn issued_ms(jti: &str, iat: u64) -> u64 {
    let second_start = iat.saturating_mul(1000);
    let bytes = jti.as_bytes();
    let uuid7 = bytes.len() == 32 && bytes[12] == b'7' && matches!(bytes[16], b'8' | b'9' | b'a' | b'b');
    let ms = if uuid7 { jti.get(..12).and_then(|hex| u64::from_str_radix(hex, 16).ok()) } else { None };
    match ms {
        Some(ms) if (second_start..second_start + 1000).contains(&ms) => ms,
        _ => second_start,
    }
}

/// The `iat` second and the `jti` millisecond of a token minted at `now` for
/// `subject`: never before the subject's revocation point, the `iat` moving
/// on with the millisecond when the point lies in a later second.
fn stamp(now: u64, subject: &Subject<'_>) -> (u64, u64) {
    let ms = issue_ms(now).max(subject.revoked_after_ms);
    (now.max(ms / 1000), ms)
}

/// The millisecond a token issued at `now` (unix seconds) carries: the
/// clock's when it reads inside that second, else the second's start (a
/// caller's fixed time, as in tests and `token mint`).
fn issue_ms(now: u64) -> u64 {
    let clock = crate::unix_now_ms();
    if clock / 1000 == now {
        clock
    } else {
        now.saturating_mul(1000)
    }
}
