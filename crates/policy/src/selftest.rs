//! The policy's own tests (docs/REFERENCE.md#policy-tests): each `tests:` entry is a request line,
//! who asks and the expected outcome; [`run_cases`] decides every case exactly as
//! the gateway would and reports the ones that come out otherwise.
//!
//! Pure, no I/O; run by `check` (and on reload), not on the request path.

use std::fmt;

use super::decision::{Decision, Grants, Who};
use super::path::normalize_path;
use super::roles::{RoleSet, Roles};
use super::ruleset::RuleSet;

/// Who asks in a [`PolicyCase`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseWho {
    /// A verified user with this role name (`role: SELLER`).
    Role(String),
    /// No token (`anonymous: true`).
    Anonymous,
}

/// The outcome a [`PolicyCase`] expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Forwarded.
    Allow,
    /// 403, for any reason.
    Deny,
    /// 401.
    Unauthenticated,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
            Expect::Unauthenticated => "unauthenticated",
        })
    }
}

/// One entry of the policy's `tests:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyCase {
    /// `METHOD /path`, optionally with a query string (ignored), e.g. `GET /api/x`.
    pub request: String,
    /// Who asks.
    pub who: CaseWho,
    /// The request's host, if the case names one.
    pub host: Option<String>,
    /// The scopes and audiences the caller's token carries (a role case only).
    pub scopes: Vec<Box<str>>,
    /// See `scopes`.
    pub audiences: Vec<Box<str>>,
    /// The expected outcome.
    pub expect: Expect,
    /// Source line of the case, for `FILE:LINE` messages.
    pub line: u32,
}

/// A case that did not come out as expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFailure {
    /// Source line of the case.
    pub line: u32,
    /// Expected and actual outcome, the normalised path and the rule that decided
    /// (name and line) or `the default`; or why the case could not run.
    pub message: String,
}

/// Runs every case against `rules` and returns the failures, in case order.
///
/// A role case asks as a user whose id is empty, so owner parameters (never empty)
/// do not let it in: only its role counts. A path the gateway would refuse with 400
/// is reported as the outcome `bad request`, which no expectation accepts.
pub fn run_cases(rules: &RuleSet, roles: &Roles, cases: &[PolicyCase]) -> Vec<CaseFailure> {
    cases
        .iter()
        .filter_map(|case| {
            run_case(rules, roles, case)
                .err()
                .map(|message| CaseFailure {
                    line: case.line,
                    message,
                })
        })
        .collect()
}

fn run_case(rules: &RuleSet, roles: &Roles, case: &PolicyCase) -> Result<(), String> {
    let (who, asker) = match &case.who {
        CaseWho::Anonymous => (Who::Anonymous, "anonymous"),
        CaseWho::Role(name) => match roles.id(name) {
            Some(role) => (
                Who::User {
                    user_id: "",
                    roles: RoleSet::of(role),
                    grants: Grants { scopes: &case.scopes, audiences: &case.audiences },
                },
                name.as_str(),
            ),
            None => {
                let known = roles.names().join(", ");
                return Err(format!(
                    "{} as {name}: unknown role {name:?}; the roles are {known}",
                    case.request
                ));
            }
        },
    };
    let mut words = case.request.split_whitespace();
    let (Some(method), Some(target), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!(
            "request {:?} must be 'METHOD /path', as in 'GET /api/products/42'",
            case.request
        ));
    };
    let raw_path = target.split_once('?').map_or(target, |(path, _)| path);
    let on_host = case
        .host
        .as_deref()
        .map(|host| format!(" on {host}"))
        .unwrap_or_default();
    let subject = format!("{method} {target}{on_host} as {asker}");
    let path = normalize_path(raw_path).map_err(|e| {
        format!(
            "{subject}: expected {}, got bad request (400): {e}",
            case.expect
        )
    })?;
    let verdict = rules.decide(method, case.host.as_deref(), &path, who);
    let got = match verdict.decision {
        Decision::Allow => Expect::Allow,
        Decision::Forbidden(_) => Expect::Deny,
        Decision::Unauthenticated => Expect::Unauthenticated,
    };
    if got == case.expect {
        return Ok(());
    }
    let decided_by = match verdict.rule {
        Some(rule) => format!("rule '{}' (line {})", rule.name(), rule.line()),
        None => "the default".to_owned(),
    };
    Err(format!(
        "{subject}: expected {}, got {got} (path {path}, decided by {decided_by})",
        case.expect
    ))
}
