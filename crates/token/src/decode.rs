//! The uncached verification pipeline: size cap, strict split and base64url, header rules,
//! key choice, signature, then every claim rule against an injected `now`.
//!
//! Signatures are checked by the chosen configured key itself (parsed once, pinned to its
//! algorithm: `crypto.rs`); claims are checked here rather than by `jsonwebtoken::decode`,
//! whose `Validation` reads the wall clock (so `now` could not be injected) and which
//! would parse the header and claims twice each. Pure: no I/O, no clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::error::TokenError;
use super::keys::{KeyEntry, Keys};
use super::remote::{self, Issuers, Route};
use super::wire::{Loose, Presence, RawClaims, RawHeader};
use super::AccessClaims;

/// Longest token accepted, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8192;

/// Decoded header or payload of a token within the cap is at most 3/4 of it.
const PART_BUF: usize = MAX_TOKEN_BYTES / 4 * 3;

/// Longest signature any supported key makes: RSA with an 8192-bit modulus.
const MAX_SIGNATURE_BYTES: usize = 1024;

/// Which `token_type` the caller requires.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    Refresh,
    /// `/auth/verify`: any type, and `user_id` is not required.
    Any,
}

/// The claim rules of one `Verifier` (fixed per config generation).
pub(crate) struct Rules {
    pub(crate) leeway: u64,
    pub(crate) issuer: Option<Box<str>>,
    pub(crate) audience: Option<Box<str>>,
}

/// Claims that passed every rule for the requested [`TokenKind`].
pub(crate) struct Checked {
    pub(crate) exp: u64,
    pub(crate) iat: u64,
    pub(crate) jti: Box<str>,
    /// Canonical string form; `None` only for [`TokenKind::Any`].
    pub(crate) user_id: Option<Box<str>>,
    pub(crate) username: Option<Box<str>>,
    pub(crate) role: Option<Box<str>>,
    pub(crate) family: Option<String>,
}

/// What a verified token turned out to be.
pub(crate) enum Outcome {
    /// One of the gateway's own tokens.
    Own(Checked),
    /// An access token of an external issuer, mapped to the gateway's identity.
    Remote(AccessClaims),
}

/// Verifies `token` completely. `now` is unix seconds.
///
/// The payload is parsed before the signature is checked, for its `iss` alone:
/// it chooses whose keys verify the token ([`Issuers::route`]), and nothing else
/// in it is acted on until the signature has verified.
pub(crate) fn check(
    keys: &Keys,
    rules: &Rules,
    issuers: &Issuers,
    token: &str,
    now: u64,
    expect: TokenKind,
) -> Result<Outcome, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];

    let mut header_buf = [0u8; PART_BUF];
    let (header, _): (RawHeader<'_>, _) = parse_part(header_b64, &mut header_buf)?;
    if header.crit != Presence::Absent {
        return Err(TokenError::UnsupportedCritical);
    }
    let mut payload_buf = [0u8; PART_BUF];
    let (claims, payload_json): (RawClaims<'_>, _) = parse_part(payload_b64, &mut payload_buf)?;
    match issuers.route(&claims.iss, rules.issuer.as_deref()) {
        Route::Own => {
            verify_signature(keys, &header, signed, signature_b64)?;
            check_claims(claims, rules, now, expect).map(Outcome::Own)
        }
        // Only access tokens come from other issuers: refresh and `/auth/verify`
        // are the gateway's own business.
        Route::Remote(issuer) if expect == TokenKind::Access => {
            let parts = remote::Parts {
                header: &header,
                signed,
                signature_b64,
                claims: &claims,
                payload_json,
            };
            remote::verify(issuer, &parts, now).map(Outcome::Remote)
        }
        Route::Remote(_) | Route::Unknown => Err(TokenError::UnknownIssuer),
    }
}

/// Strict base64url (no padding, URL alphabet, canonical trailing bits), then a JSON
/// object into `T`.
fn parse_part<'b, T: serde::Deserialize<'b>>(
    part: &str,
    buf: &'b mut [u8; PART_BUF],
) -> Result<(T, &'b str), TokenError> {
    let len = URL_SAFE_NO_PAD
        .decode_slice(part, buf)
        .map_err(|_| TokenError::Malformed)?;
    let json = buf.get(..len).ok_or(TokenError::Malformed)?;
    // serde's derive also accepts a JSON array for a struct; a JWS header and a JWT claims
    // set are objects (RFC 7515 §4, RFC 7519 §7.2).
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(TokenError::Malformed);
    }
    // JSON text is UTF-8 (RFC 8259 §8.1). serde_json checks that only in the strings it
    // keeps, and skips unknown members unchecked: a signed payload with invalid UTF-8 in
    // an ignored claim passed (found by the `token` fuzz target). Checked whole here.
    let json = std::str::from_utf8(json).map_err(|_| TokenError::Malformed)?;
    let parsed = serde_json::from_str(json).map_err(|_| TokenError::Malformed)?;
    Ok((parsed, json))
}

/// Picks the candidate keys (by `kid`, or current + kid-less previous keys) and verifies
/// with the algorithm of each key, never the header's.
fn verify_signature(
    keys: &Keys,
    header: &RawHeader<'_>,
    signed: &str,
    signature: &str,
) -> Result<(), TokenError> {
    match header.kid.as_deref() {
        Some(kid) => {
            let entry = keys.by_kid(kid).ok_or(TokenError::UnknownKey)?;
            try_keys(std::iter::once(entry), header, signed, signature)
        }
        None => try_keys(keys.without_kid(), header, signed, signature),
    }
}

fn try_keys<'k>(
    candidates: impl Iterator<Item = &'k KeyEntry>,
    header: &RawHeader<'_>,
    signed: &str,
    signature_b64: &str,
) -> Result<(), TokenError> {
    let mut outcome = TokenError::WrongAlgorithm;
    let mut buf = [0u8; MAX_SIGNATURE_BYTES];
    let mut decoded_len: Option<usize> = None;
    for entry in candidates {
        if header.alg != entry.alg_name {
            continue;
        }
        let len = match decoded_len {
            Some(len) => len,
            // Strict base64url, decoded once, only when some key's algorithm matched.
            None => *decoded_len.insert(
                URL_SAFE_NO_PAD
                    .decode_slice(signature_b64, &mut buf)
                    .map_err(|_| TokenError::Malformed)?,
            ),
        };
        let signature = buf.get(..len).ok_or(TokenError::Malformed)?;
        if entry.decoding.verify(signed.as_bytes(), signature) {
            return Ok(());
        }
        outcome = TokenError::BadSignature;
    }
    Err(outcome)
}

/// The claim rules, in simplejwt's order: time, issuer/audience, `jti`, type, user.
fn check_claims(
    claims: RawClaims<'_>,
    rules: &Rules,
    now: u64,
    expect: TokenKind,
) -> Result<Checked, TokenError> {
    let leeway = rules.leeway;
    let exp = claims.exp.ok_or(TokenError::NoExp)?;
    if exp.saturating_add(leeway) <= now {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(TokenError::NotYetValid);
    }
    let iat = claims.iat.ok_or(TokenError::NoIssuedAt)?;
    if iat > now.saturating_add(leeway) {
        return Err(TokenError::IssuedInFuture);
    }
    if rules
        .issuer
        .as_deref()
        .is_some_and(|issuer| claims.iss.as_str() != Some(issuer))
    {
        return Err(TokenError::WrongIssuer);
    }
    if rules
        .audience
        .as_deref()
        .is_some_and(|audience| !names_audience(&claims.aud, audience))
    {
        return Err(TokenError::WrongAudience);
    }
    // PyJWT refuses a non-string `sub`; so do we, to accept exactly what simplejwt accepts.
    if !matches!(claims.sub, Loose::Absent | Loose::Str(_)) {
        return Err(TokenError::Malformed);
    }
    let jti = claims.jti.ok_or(TokenError::NoId)?;
    let wanted = match expect {
        TokenKind::Access => Some("access"),
        TokenKind::Refresh => Some("refresh"),
        TokenKind::Any => None,
    };
    if let Some(wanted) = wanted {
        match &claims.token_type {
            Loose::Absent => return Err(TokenError::NoType),
            Loose::Str(t) if t == wanted => {}
            _ => return Err(TokenError::WrongType),
        }
    }
    let user_id = match (canonical_user_id(&claims.user_id), expect) {
        (None, TokenKind::Access | TokenKind::Refresh) => return Err(TokenError::NoUserId),
        (user_id, _) => user_id,
    };
    // These become identity header values upstream: a control character (CR, LF,
    // NUL ...) there could only be refused later, as a 500, so the token is refused.
    let identity = [user_id.as_deref(), claims.username.as_deref(), claims.role.as_deref()];
    if !identity.into_iter().flatten().all(fits_header_value) {
        return Err(TokenError::Malformed);
    }
    Ok(Checked {
        exp,
        iat,
        jti,
        user_id,
        username: claims.username,
        role: claims.role,
        family: claims.fam,
    })
}

/// Whether `value` is a valid HTTP field value: no control characters but tab.
fn fits_header_value(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || !(b.is_ascii_control()))
}

fn names_audience(aud: &Loose<'_>, audience: &str) -> bool {
    match aud {
        Loose::Str(s) => s == audience,
        Loose::StrList(list) => list.iter().any(|s| s == audience),
        _ => false,
    }
}

/// `"400"` and `400` both become `"400"` (simplejwt ≥ 5.5 sends strings, older integers).
fn canonical_user_id(user_id: &Loose<'_>) -> Option<Box<str>> {
    match user_id {
        Loose::Str(s) if !s.is_empty() => Some(Box::from(&**s)),
        Loose::Int(n) => Some(n.to_string().into_boxed_str()),
        _ => None,
    }
}
