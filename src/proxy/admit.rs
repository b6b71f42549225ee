//! The admission decision for one request: normalise the path, find the
//! rule, verify the bearer token when the rule needs one, ask the policy.
//!
//! Synchronous and free of Pingora session types, so it is the same code for
//! the proxy, `/auth/decide` and the tests. It allocates only when the path
//! had to be rewritten (the normalised path is what the upstream receives).
//! A verified token is also checked against the in-memory revocation points
//! (CONTRACT 4.5): one lock-free map lookup, no query.

use std::borrow::Cow;
use std::sync::Arc;

use http::HeaderMap;

use crate::auth::Revocations;
use crate::generation::Generation;
use crate::metrics::Metrics;
use crate::policy::{authorize, normalize_path, Access, Decision, DefaultAccess, Who};
use crate::token::AccessClaims;

use super::bearer::bearer_token;
use super::respond::Denial;

/// What the request facts are: method, host and the raw path.
pub struct RequestFacts<'a> {
    /// Request method, e.g. `GET`.
    pub method: &'a str,
    /// Host without interpretation (the policy ignores a port).
    pub host: Option<&'a str>,
    /// Path component of the request target, before normalisation.
    pub raw_path: &'a str,
    /// Request headers (for `Authorization`).
    pub headers: &'a HeaderMap,
}

/// A request the policy let through.
#[derive(Debug)]
pub struct Admitted<'p> {
    /// The matched rule's index, None for the default.
    pub rule: Option<usize>,
    /// The normalised path; `Cow::Owned` when it differs from the raw one.
    pub path: Cow<'p, str>,
    /// The verified identity, None on public routes without a token check.
    pub claims: Option<Arc<AccessClaims>>,
}

/// A request the gateway answers itself, with the rule that decided.
#[derive(Debug)]
pub struct Refused {
    /// The matched rule's index, None for the default or a bad path.
    pub rule: Option<usize>,
    /// Why.
    pub denial: Denial,
}

/// Decides one request against generation `gen` at unix time `now`.
pub fn admit<'p>(
    gen: &Generation,
    facts: &RequestFacts<'p>,
    now: u64,
    metrics: &Metrics,
    revocations: &Revocations,
) -> Result<Admitted<'p>, Refused> {
    let path = normalize_path(facts.raw_path)
        .map_err(|e| Refused { rule: None, denial: Denial::BadPath(e) })?;
    admit_path(gen, facts, path, now, metrics, revocations)
}

/// [`admit`] for a path the caller has already normalised (the proxy normalises once
/// to see whether the request is for the identity endpoints).
pub fn admit_path<'p>(
    gen: &Generation,
    facts: &RequestFacts<'_>,
    path: Cow<'p, str>,
    now: u64,
    metrics: &Metrics,
    revocations: &Revocations,
) -> Result<Admitted<'p>, Refused> {
    let refuse = |rule, denial| Refused { rule, denial };
    let rules = &gen.config.rules;
    let found = rules.find(facts.method, facts.host, &path);
    let rule_index = found.map(|r| r.index());
    let access = match found {
        Some(rule) => rule.access(),
        None => match rules.default_access() {
            DefaultAccess::Deny => &Access::Deny,
            DefaultAccess::Authenticated => &Access::Authenticated,
        },
    };
    if matches!(access, Access::Public) {
        return Ok(Admitted { rule: rule_index, path, claims: None });
    }
    if matches!(access, Access::Deny) && found.is_none() {
        // Default deny needs no token: nobody gets in.
        let reason = crate::policy::DenyReason::DefaultDeny;
        return Err(refuse(rule_index, Denial::Forbidden(reason)));
    }
    let claims = verify_bearer(gen, facts.headers, now, metrics).map_err(|d| refuse(rule_index, d))?;
    if revocations.is_revoked(&claims.user_id, claims.iat) {
        metrics.token_verify.with_label_values(&["revoked"]).inc();
        return Err(refuse(rule_index, Denial::Revoked));
    }
    let role = claims.role.as_deref().and_then(|r| gen.config.roles.id(r));
    let who = Who::User { user_id: &claims.user_id, role };
    let owner_value = found.and_then(|r| r.owner_value(&path));
    match authorize(access, owner_value, who) {
        Decision::Allow => Ok(Admitted { rule: rule_index, path, claims: Some(claims) }),
        Decision::Forbidden(reason) => Err(refuse(rule_index, Denial::Forbidden(reason))),
        Decision::Unauthenticated => Err(refuse(rule_index, Denial::NotAuthenticated)),
    }
}

/// Extracts and verifies the bearer token, counting the result.
fn verify_bearer(
    gen: &Generation,
    headers: &HeaderMap,
    now: u64,
    metrics: &Metrics,
) -> Result<Arc<AccessClaims>, Denial> {
    let token = bearer_token(headers)?;
    match gen.verifier.verify_access(token, now) {
        Ok(verified) => {
            if verified.from_cache {
                metrics.token_cache_hits.inc();
            } else {
                metrics.token_cache_misses.inc();
                metrics.token_verify.with_label_values(&["ok"]).inc();
            }
            Ok(verified.claims)
        }
        Err(e) => {
            metrics.token_cache_misses.inc();
            metrics.token_verify.with_label_values(&[e.label()]).inc();
            Err(Denial::InvalidToken(e))
        }
    }
}
