//! Shadow mode on the hot path: decide each request a second time under the
//! shadow policy (the routes marked `mode: shadow` added to the enforced ones,
//! or the candidate file of `shadow.policy`), and when the outcome differs from
//! the enforced one, count it in `nexora_shadow_decisions_total` and write one
//! `shadow` log line. Nothing here changes what the client gets.
//!
//! Cost: none without a shadow policy (the caller's one branch). With one: one
//! more rule lookup and, when the outcomes are equal, nothing else. A token is
//! verified for the shadow only when the enforced rule did not need it and the
//! shadow rule does (served by the token cache after the first time, and not
//! counted in the token metrics: they describe enforcement). The counter
//! children are resolved once per generation and pair of rules ([`ShadowStats`]).

use crate::config::ShadowPolicy;
use crate::generation::shadow_stats::{Outcome, ShadowDiff, ShadowStats};

use super::{decide, Checks, Denial, Identity};

/// The outcome of an admission result, as shadow mode compares them.
pub fn outcome_of(result: &Result<(), Denial>) -> Outcome {
    match result {
        Ok(()) => Outcome::Allow,
        Err(Denial::Forbidden(_)) => Outcome::Deny,
        Err(_) => Outcome::Unauthenticated,
    }
}

/// Decides the request under the shadow policy; counts and logs a difference.
/// `identity` is what the enforced decision looked up (never changed here, so
/// the enforced answer and the identity headers stay as they were).
pub(super) fn observe(
    checks: &Checks<'_>,
    policy: &ShadowPolicy,
    stats: &ShadowStats,
    rule: Option<usize>,
    enforced: &Result<(), Denial>,
    identity: &Identity,
    path: &str,
) -> Option<ShadowDiff> {
    let facts = checks.facts;
    let found = policy.rules.find(facts.method, facts.host, path);
    let shadow = match identity {
        Identity::NotLooked => {
            let mut own = Identity::NotLooked;
            decide(checks, &policy.rules, found, path, &mut own, None)
        }
        Identity::User(claims) => {
            let mut shared = Identity::User(claims.clone());
            decide(checks, &policy.rules, found, path, &mut shared, None)
        }
        Identity::Refused(denial) => {
            let mut shared = Identity::Refused(*denial);
            decide(checks, &policy.rules, found, path, &mut shared, None)
        }
    };
    let (enforced, shadow) = (outcome_of(enforced), outcome_of(&shadow));
    if enforced == shadow {
        return None;
    }
    let diff = ShadowDiff { rule, shadow_rule: found.map(|r| r.index()), enforced, shadow };
    stats.count(&diff);
    let (route, shadow_route) = stats.names(&diff);
    tracing::info!(
        target: "shadow",
        request_id = facts.request_id,
        method = facts.method,
        path,
        route,
        enforced = enforced.as_str(),
        shadow_route,
        shadow = shadow.as_str(),
        "shadow policy decides differently",
    );
    Some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DenyReason;

    #[test]
    fn outcomes_are_status_classes() {
        assert_eq!(outcome_of(&Ok(())), Outcome::Allow);
        assert_eq!(outcome_of(&Err(Denial::Forbidden(DenyReason::DenyRule))), Outcome::Deny);
        assert_eq!(outcome_of(&Err(Denial::Revoked)), Outcome::Unauthenticated);
        assert_eq!(outcome_of(&Err(Denial::BadAuthorizationHeader)), Outcome::Unauthenticated);
    }
}
