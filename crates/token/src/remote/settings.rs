//! What the gateway requires of one external issuer's tokens, and where in their
//! claims the identity is: [`IssuerSettings`], [`Audiences`], [`ClaimMap`] and
//! [`ClaimPath`].

use std::fmt;
use std::time::Duration;

use http::HeaderName;
use jsonwebtoken::Algorithm;
use serde_json::Value;

/// One external issuer, as its tokens are verified (where its keys come from is the
/// gateway's business, not this crate's).
#[derive(Debug, Clone)]
pub struct IssuerSettings {
    /// The operator's name for the issuer: logs, metrics, `explain --issuer`.
    pub name: String,
    /// The exact `iss` its tokens carry.
    pub issuer: String,
    /// Which `aud` values are accepted.
    pub audiences: Audiences,
    /// The algorithms its keys may verify; never HMAC, never `none`.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Where the identity is in the claims.
    pub claims: ClaimMap,
    /// A `token_type` the tokens must carry, when the issuer sets one.
    pub token_type: Option<String>,
    /// Extra headers sent upstream, each from one claim.
    pub claim_headers: Vec<(HeaderName, ClaimPath)>,
    /// The configured role names: only these count as roles.
    pub known_roles: Vec<String>,
}

/// The audiences an issuer's tokens must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audiences {
    /// Any audience, or none (`audiences: any`, written explicitly).
    Any,
    /// At least one of these must be in `aud`.
    OneOf(Vec<String>),
}

/// Where the identity is in an issuer's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMap {
    /// The user id (a string or an integer claim). Typically `sub`.
    pub user_id: ClaimPath,
    /// The user name, when the issuer sends one (`preferred_username`, `email`).
    pub username: Option<ClaimPath>,
    /// The roles: an array of strings or one space-separated string
    /// (`realm_access.roles`, `groups`, `scope`, `permissions`).
    pub roles: Option<ClaimPath>,
    /// The scopes a route may require: an array of strings or one
    /// space-separated string (`scope`, Entra ID's `scp`).
    pub scopes: ClaimPath,
}

/// A dotted path into a claims object: `realm_access.roles` is the `roles` member of
/// the `realm_access` object. Members are looked up by exact name; a claim whose name
/// itself has a dot cannot be reached (none of the common providers use one).
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimPath {
    segments: Vec<String>,
}

/// Why a claim path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("claim path {0:?} is not valid: write member names separated by dots, like realm_access.roles")]
pub struct ClaimPathError(pub String);

impl ClaimPath {
    /// Parses `a.b.c`: non-empty segments without whitespace.
    pub fn parse(text: &str) -> Result<ClaimPath, ClaimPathError> {
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        let valid = |s: &String| !s.is_empty() && !s.chars().any(char::is_whitespace);
        if text.len() > 256 || segments.len() > 8 || !segments.iter().all(valid) {
            return Err(ClaimPathError(text.to_owned()));
        }
        Ok(ClaimPath { segments })
    }

    /// The value at this path in `claims`, if every segment is there.
    pub fn find<'v>(&self, claims: &'v Value) -> Option<&'v Value> {
        self.segments
            .iter()
            .try_fold(claims, |value, segment| value.as_object()?.get(segment))
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self)
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_walk_nested_objects_and_refuse_bad_spellings() {
        let claims = json!({"sub": "u1", "realm_access": {"roles": ["ADMIN"]}, "a.b": 1});
        let roles = ClaimPath::parse("realm_access.roles").unwrap();
        assert_eq!(roles.find(&claims), Some(&json!(["ADMIN"])));
        assert_eq!(ClaimPath::parse("sub").unwrap().find(&claims), Some(&json!("u1")));
        assert_eq!(ClaimPath::parse("realm_access.missing").unwrap().find(&claims), None);
        assert_eq!(ClaimPath::parse("sub.deeper").unwrap().find(&claims), None);
        for bad in ["", ".", "a..b", "a.", " a", "a b"] {
            assert!(ClaimPath::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(roles.to_string(), "realm_access.roles");
    }
}
