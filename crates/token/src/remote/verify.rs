//! Verifying a token of an external issuer and mapping its claims to the
//! gateway's identity.
//!
//! The issuer was chosen by the token's `iss` (exact match, before any key
//! lookup). From there: the header `alg` must be one of the issuer's algorithms
//! and a key of its current set must serve it; a `kid` the set lacks asks for a
//! refetch (rate-limited, `keys_cell.rs`) and refuses this token; then the
//! signature, time (`exp` required, `nbf`, a future `iat`), audience and
//! `token_type` rules, and last the claim mapping. `jku`, `x5u`, `jwk` and `x5c`
//! are never read.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::jwks::alg_name;
use super::keys_cell::IssuerKeys;
use super::settings::{Audiences, IssuerSettings};
use crate::error::TokenError;
use crate::identity_values::IdentityValues;
use crate::wire::{Loose, RawClaims, RawHeader};
use crate::AccessClaims;

/// Longest signature any remote key makes: RSA with an 8192-bit modulus.
const MAX_SIGNATURE_BYTES: usize = 1024;

/// One external issuer: what its tokens must satisfy, and its keys.
pub struct RemoteIssuer {
    /// The issuer's rules and claim mapping.
    pub settings: IssuerSettings,
    /// Its current key set, shared with the fetcher.
    pub keys: Arc<IssuerKeys>,
    name: Arc<str>,
}

impl RemoteIssuer {
    /// An issuer verified with `settings` against the keys in `keys`.
    pub fn new(settings: IssuerSettings, keys: Arc<IssuerKeys>) -> RemoteIssuer {
        let name = Arc::from(settings.name.as_str());
        RemoteIssuer { settings, keys, name }
    }

    /// The operator's name for this issuer.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Debug for RemoteIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteIssuer")
            .field("name", &self.name)
            .field("issuer", &self.settings.issuer)
            .finish()
    }
}

/// The parts of one token, as the verifier split and parsed them.
pub(crate) struct Parts<'t> {
    pub(crate) header: &'t RawHeader<'t>,
    pub(crate) signed: &'t str,
    pub(crate) signature_b64: &'t str,
    pub(crate) claims: &'t RawClaims<'t>,
    /// The payload's JSON text, for the claim mapping.
    pub(crate) payload_json: &'t str,
}

/// Verifies a token `issuer` is named in by its `iss`, at unix time `now`.
pub(crate) fn verify(
    issuer: &RemoteIssuer,
    parts: &Parts<'_>,
    now: u64,
) -> Result<AccessClaims, TokenError> {
    let settings = &issuer.settings;
    let alg = *settings
        .algorithms
        .iter()
        .find(|a| alg_name(**a) == parts.header.alg)
        .ok_or(TokenError::WrongAlgorithm)?;
    let keys = issuer.keys.current().ok_or(TokenError::KeysUnavailable)?;
    let kid = parts.header.kid.as_deref();
    if let Some(kid) = kid {
        if !keys.has_kid(kid) {
            issuer.keys.unknown_kid(now.saturating_mul(1000));
            return Err(TokenError::UnknownKey);
        }
    }
    let mut buf = [0u8; MAX_SIGNATURE_BYTES];
    let len = URL_SAFE_NO_PAD
        .decode_slice(parts.signature_b64, &mut buf)
        .map_err(|_| TokenError::Malformed)?;
    let signature = buf.get(..len).ok_or(TokenError::Malformed)?;
    let mut candidates = keys.candidates(kid, alg).peekable();
    if candidates.peek().is_none() {
        return Err(TokenError::WrongAlgorithm);
    }
    if !candidates.any(|key| key.verify(parts.signed.as_bytes(), signature)) {
        return Err(TokenError::BadSignature);
    }
    check_time_and_audience(settings, parts.claims, now)?;
    map_claims(issuer, parts, now)
}

fn check_time_and_audience(
    settings: &IssuerSettings,
    claims: &RawClaims<'_>,
    now: u64,
) -> Result<(), TokenError> {
    let leeway = settings.leeway.as_secs();
    let exp = claims.exp.ok_or(TokenError::NoExp)?;
    if exp.saturating_add(leeway) <= now {
        return Err(TokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(TokenError::NotYetValid);
    }
    if claims.iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(TokenError::IssuedInFuture);
    }
    if let Audiences::OneOf(accepted) = &settings.audiences {
        let named = match &claims.aud {
            Loose::Str(aud) => accepted.iter().any(|a| a == aud),
            Loose::StrList(list) => list.iter().any(|aud| accepted.iter().any(|a| a == aud)),
            _ => false,
        };
        if !named {
            return Err(TokenError::WrongAudience);
        }
    }
    if let Some(wanted) = &settings.token_type {
        match &claims.token_type {
            Loose::Absent => return Err(TokenError::NoType),
            Loose::Str(t) if t == wanted => {}
            _ => return Err(TokenError::WrongType),
        }
    }
    Ok(())
}

/// The gateway's identity from the issuer's claims, through its claim map.
fn map_claims(
    issuer: &RemoteIssuer,
    parts: &Parts<'_>,
    now: u64,
) -> Result<AccessClaims, TokenError> {
    let settings = &issuer.settings;
    let claims: Value =
        serde_json::from_str(parts.payload_json).map_err(|_| TokenError::Malformed)?;
    let user_id = user_id_of(settings, &claims)?;
    let username: Option<Box<str>> = match settings.claims.username.as_ref() {
        None => None,
        Some(path) => match path.find(&claims) {
            Some(Value::String(s)) => Some(s.as_str().into()),
            _ => None,
        },
    };
    let roles = mapped_roles(settings, &claims);
    let scopes = words(settings.claims.scopes.find(&claims)).map(Box::from).collect();
    let audiences = match &parts.claims.aud {
        Loose::Str(aud) => vec![Box::from(&**aud)].into(),
        Loose::StrList(list) => list.iter().map(|a| Box::from(&**a)).collect(),
        _ => Box::default(),
    };
    let role: Option<Box<str>> = (!roles.is_empty()).then(|| roles.join(",").into());
    let header_values = IdentityValues::new(&user_id, username.as_deref(), role.as_deref())?;
    let mut extra_headers = Vec::with_capacity(settings.claim_headers.len());
    for (name, path) in &settings.claim_headers {
        if let Some(value) = path.find(&claims).and_then(header_text) {
            let value = HeaderValue::from_str(&value).map_err(|_| TokenError::Malformed)?;
            extra_headers.push((name.clone(), value));
        }
    }
    Ok(AccessClaims {
        user_id,
        username,
        role,
        iat: parts.claims.iat.unwrap_or(now),
        exp: parts.claims.exp.unwrap_or(now),
        jti: parts.claims.jti.clone().unwrap_or_default(),
        header_values,
        roles: roles.into_iter().map(Box::from).collect(),
        issuer: Some(Arc::clone(&issuer.name)),
        extra_headers: extra_headers.into(),
        scopes,
        audiences,
    })
}

/// The user id at the issuer's user id path: a non-empty string, or an integer.
fn user_id_of(settings: &IssuerSettings, claims: &Value) -> Result<Box<str>, TokenError> {
    match settings.claims.user_id.find(claims) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str().into()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string().into()),
        _ => Err(TokenError::NoUserId),
    }
}

/// What the gateway makes of an issuer's claims, for `explain`: the checks
/// that depend on the claims alone (audience, `token_type`, a user id) and
/// the mapped identity. Signature and times are not looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedIdentity {
    /// The user id.
    pub user_id: Box<str>,
    /// The configured roles, in the token's order.
    pub roles: Vec<String>,
    /// The scopes.
    pub scopes: Box<[Box<str>]>,
    /// The audiences the claims name.
    pub audiences: Box<[Box<str>]>,
}

/// Maps `claims` as a token of `settings`' issuer would be: refused as
/// verification would refuse it for its audience, `token_type` or user id.
pub fn map_identity(settings: &IssuerSettings, claims: &Value) -> Result<MappedIdentity, TokenError> {
    let audiences: Box<[Box<str>]> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![Box::from(aud.as_str())].into(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(Box::from).collect(),
        _ => Box::default(),
    };
    if let Audiences::OneOf(accepted) = &settings.audiences {
        if !audiences.iter().any(|aud| accepted.iter().any(|a| **a == **aud)) {
            return Err(TokenError::WrongAudience);
        }
    }
    if let Some(wanted) = &settings.token_type {
        match claims.get("token_type") {
            None => return Err(TokenError::NoType),
            Some(Value::String(t)) if t == wanted => {}
            Some(_) => return Err(TokenError::WrongType),
        }
    }
    Ok(MappedIdentity {
        user_id: user_id_of(settings, claims)?,
        roles: mapped_roles(settings, claims).into_iter().map(str::to_owned).collect(),
        scopes: words(settings.claims.scopes.find(claims)).map(Box::from).collect(),
        audiences,
    })
}

/// The configured roles the token names at the roles path (an array of strings, or
/// one space-separated string), in the token's order, each once.
fn mapped_roles<'c>(settings: &IssuerSettings, claims: &'c Value) -> Vec<&'c str> {
    let found = settings.claims.roles.as_ref().and_then(|p| p.find(claims));
    let mut roles: Vec<&str> = Vec::new();
    for name in words(found) {
        if settings.known_roles.iter().any(|r| r == name) && !roles.contains(&name) {
            roles.push(name);
        }
    }
    roles
}

/// The names in a list claim: an array's strings, or a string's
/// space-separated words; nothing for anything else or no claim.
fn words(found: Option<&Value>) -> impl Iterator<Item = &str> {
    let (text, items) = match found {
        Some(Value::String(s)) => (Some(s.as_str()), None),
        Some(Value::Array(items)) => (None, Some(items)),
        _ => (None, None),
    };
    let from_text = text.into_iter().flat_map(str::split_ascii_whitespace);
    let from_items = items.into_iter().flatten().filter_map(Value::as_str);
    from_text.chain(from_items)
}

/// A claim as a header value: strings as they are, numbers and booleans as JSON
/// writes them, arrays of strings comma-joined. Objects are not sent.
fn header_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let texts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            Some(texts?.join(","))
        }
        _ => None,
    }
}

/// Whether a header name may be used for a claim header: not one the gateway
/// manages itself, that frames the message, that carries credentials, or
/// that asks a backend to route differently (`X-Original-URL` and kin) —
/// in any spelling a backend might fold into one of those
/// ([`fold_header_name`]).
pub fn claim_header_allowed(name: &HeaderName) -> bool {
    const RESERVED: &[&str] = &[
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "forwarded",
        "via",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-real-ip",
        "x-request-id",
        "x-original-url",
        "x-rewrite-url",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    ];
    let folded = fold_header_name(name.as_str());
    !RESERVED.contains(&folded.as_str())
}

/// `name` lower-cased with every character but letters and digits read as
/// `-`: the spelling a CGI/WSGI-style backend reduces `X_User_Id` or
/// `x.user.id` to, so two names that fold alike are one header to it.
pub fn fold_header_name(name: &str) -> String {
    name.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b.to_ascii_lowercase()) } else { '-' })
        .collect()
}
