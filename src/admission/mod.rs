//! Admission: the decision for one request — normalise the path, find the
//! rule, verify the bearer token when the rule needs one, check the
//! revocation point, decide through the policy's one
//! [`Ruling`](crate::policy::Ruling).
//!
//! Synchronous and free of Pingora session types, so it is the same code for
//! both proxy paths (the fast lane and Pingora's), `/auth/decide`, shadow mode
//! and the tests. Below the proxy and the identity endpoints: both use it,
//! it uses neither. It allocates only when the path
//! had to be rewritten (the normalised path is what the upstream receives).
//! A verified token is also checked against the in-memory revocation points
//! (docs/REFERENCE.md#revocation): one lock-free map lookup, no query.

use std::borrow::Cow;
use std::sync::Arc;

use http::HeaderMap;

pub mod bearer;
mod denial;
pub mod request_id;
mod revocations;
pub mod shadow;
mod trusted;

pub use denial::Denial;
pub use revocations::Revocations;
pub use trusted::{is_trusted, unmapped};

use crate::generation::Generation;
use crate::metrics::Metrics;
use crate::policy::{normalize_path, Decision, Grants, RoleSet, Rule, RuleSet, Who};
use crate::token::{AccessClaims, TokenError};

use bearer::bearer_token;

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
    /// The request id, for the shadow-mode log line.
    pub request_id: &'a str,
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
    /// The verified identity when the token was fine but the policy said no
    /// (403), for the access log.
    pub claims: Option<Arc<AccessClaims>>,
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
        .map_err(|e| Refused { rule: None, denial: Denial::BadPath(e), claims: None })?;
    admit_path(gen, facts, path, now, metrics, revocations)
}

/// [`admit`] for a path the caller has already normalised (the proxy normalises once
/// to see whether the request is for the identity endpoints).
///
/// With a shadow policy configured the request is also decided by it (one more
/// lookup) and a differing outcome is counted and logged ([`shadow`]);
/// without one, that costs one branch. The shadow never changes the answer.
pub fn admit_path<'p>(
    gen: &Generation,
    facts: &RequestFacts<'_>,
    path: Cow<'p, str>,
    now: u64,
    metrics: &Metrics,
    revocations: &Revocations,
) -> Result<Admitted<'p>, Refused> {
    let found = gen.config.rules.find(facts.method, facts.host, &path);
    let rule_index = found.map(|r| r.index());
    let checks = Checks { gen, facts, now, revocations };
    let mut identity = Identity::NotLooked;
    let outcome = decide(&checks, &gen.config.rules, found, &path, &mut identity, Some(metrics));
    if let (Some(policy), Some(stats)) = (&gen.config.shadow, &gen.shadow) {
        shadow::observe(&checks, policy, stats, rule_index, &outcome, &identity, &path);
    }
    match outcome {
        Ok(()) => Ok(Admitted { rule: rule_index, path, claims: identity.into_claims() }),
        Err(denial) => Err(Refused { rule: rule_index, denial, claims: identity.into_claims() }),
    }
}

/// What every decision of one request shares: the generation, the request and
/// the revocation points.
pub(super) struct Checks<'a> {
    pub(super) gen: &'a Generation,
    pub(super) facts: &'a RequestFacts<'a>,
    pub(super) now: u64,
    pub(super) revocations: &'a Revocations,
}

/// The caller's identity, looked up at most once per request.
pub(super) enum Identity {
    /// Not needed so far: no token was looked at.
    NotLooked,
    /// A verified, unrevoked token.
    User(Arc<AccessClaims>),
    /// No usable token: why.
    Refused(Denial),
}

impl Identity {
    fn into_claims(self) -> Option<Arc<AccessClaims>> {
        match self {
            Identity::User(claims) => Some(claims),
            _ => None,
        }
    }
}

/// Decides the request under `rules` (whose first match is `found`), verifying
/// the bearer token into `identity` the first time a decision needs it.
/// `metrics`: where to count the verification (None: a shadow decision, not counted).
pub(super) fn decide(
    checks: &Checks<'_>,
    rules: &RuleSet,
    found: Option<&Rule>,
    path: &str,
    identity: &mut Identity,
    metrics: Option<&Metrics>,
) -> Result<(), Denial> {
    let ruling = rules.ruling(found, path);
    if let Some(decision) = ruling.without_identity() {
        // Public, or closed to everyone: no token is needed (or verified) to
        // say so, as `explain` and the policy `tests:` say.
        return outcome(decision);
    }
    if matches!(identity, Identity::NotLooked) {
        *identity = look_up(checks, metrics);
    }
    let claims = match identity {
        Identity::User(claims) => claims,
        Identity::Refused(denial) => return Err(*denial),
        Identity::NotLooked => return Err(Denial::NotAuthenticated),
    };
    let configured = &checks.gen.config.roles;
    let roles: RoleSet = claims.roles.iter().filter_map(|r| configured.id(r)).collect();
    let grants = Grants { scopes: &claims.scopes, audiences: &claims.audiences };
    outcome(ruling.decide(Who::User { user_id: &claims.user_id, roles, grants }))
}

/// A policy decision as admission's result.
fn outcome(decision: Decision) -> Result<(), Denial> {
    match decision {
        Decision::Allow => Ok(()),
        Decision::Forbidden(reason) => Err(Denial::Forbidden(reason)),
        Decision::Unauthenticated => Err(Denial::NotAuthenticated),
    }
}

/// Verifies the bearer token and checks it against the revocation points.
fn look_up(checks: &Checks<'_>, metrics: Option<&Metrics>) -> Identity {
    let claims = match verify_bearer(checks.gen, checks.facts.headers, checks.now, metrics) {
        Ok(claims) => claims,
        Err(denial) => return Identity::Refused(denial),
    };
    // Revocation points are the gateway's own users'; an external issuer's
    // user ids are another namespace (its `sub` "7" is not our user 7).
    let own = claims.issuer.is_none();
    if own && checks.revocations.is_revoked(&claims.user_id, || claims.issued_ms()) {
        if let Some(metrics) = metrics {
            metrics.token_verify.with_label_values(&["revoked"]).inc();
        }
        return Identity::Refused(Denial::Revoked);
    }
    Identity::User(claims)
}

/// A refused token's denial: 401, except when its issuer's keys are not
/// available (503: the gateway's trouble, not the client's).
fn token_denial(e: TokenError) -> Denial {
    match e {
        TokenError::KeysUnavailable => Denial::IssuerUnavailable,
        e => Denial::InvalidToken(e),
    }
}

/// Extracts and verifies the bearer token, counting the result.
fn verify_bearer(
    gen: &Generation,
    headers: &HeaderMap,
    now: u64,
    metrics: Option<&Metrics>,
) -> Result<Arc<AccessClaims>, Denial> {
    let token = bearer_token(headers)?;
    let verified = gen.verifier.verify_access(token, now);
    let Some(metrics) = metrics else {
        return verified.map(|v| v.claims).map_err(token_denial);
    };
    match verified {
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
            Err(token_denial(e))
        }
    }
}
