//! The compiled route policy: path normalisation, rule matching and access decisions.
//!
//! Pure, no I/O, no Pingora, no serde: `config` compiles the YAML routes into a
//! [`RuleSet`] through [`RuleSetBuilder`], and the proxy, `check`, `explain` and
//! forward-auth ask it questions. Nothing on the request path allocates.
//!
//! # Request lifecycle
//!
//! ```text
//! raw path ──normalize_path──▶ canonical path (400 on PathError)
//!          ──RuleSet::find(method, host, path)──▶ Option<&Rule>
//!          ──Access::Public? forward, no token work
//!          ──RuleSet::ruling(rule, path)──▶ Ruling ──without_identity? decided
//!          ──verify token──▶ Who ──Ruling::decide(who)──▶ Decision
//! ```
//!
//! # Matching semantics
//!
//! * **Paths** are matched after [`normalize_path`] and the upstream receives the
//!   same canonical path. Patterns (docs/REFERENCE.md#patterns): `/exact`; `/prefix/**` (the
//!   prefix itself and everything below, whole segments only: `/admin/**` matches
//!   `/admin`, `/admin/` and `/admin/x/y`, not `/administrator`); `/**` (everything);
//!   `/a/*/c` and `/a/{name}/c` (exactly one non-empty segment). Matching is
//!   case-sensitive. A trailing slash on the request is ignored (`/api/orders/{id}`
//!   matches `/api/orders/5/`), so adding or dropping one never moves a request to
//!   another rule. A literal segment is compared with the request's segment after
//!   decoding the escapes the normaliser keeps, as the upstream will: a rule on
//!   `/api/items:purge` also takes `/api/items%3Apurge`.
//! * **Methods** are exact uppercase tokens; `GET` does not imply `HEAD`. No list
//!   means any method.
//! * **Hosts** compare case-insensitively, ignoring the request's `:port` and one
//!   trailing dot. `*.example.com` matches one or more labels before
//!   `.example.com`, not `example.com` itself. A rule without a host matches any
//!   request, with or without a host; a rule with one never matches a request
//!   without a host.
//! * **First match wins**: the rule that decides is the first in file order whose
//!   method, host and path all match, as operators read a policy top to bottom. The
//!   lookup index returns exactly that rule without scanning them all. No match:
//!   the [`DefaultAccess`].
//!
//! # Decisions
//!
//! [`Access::Public`] allows everyone, anonymous too. [`Access::Authenticated`]
//! allows any verified user. [`Access::Roles`] allows a user whose role is listed,
//! or, on a rule with `owner: P`, the user whose id equals the `{P}` segment (string
//! equality); ADMIN is allowed only where listed. [`Access::Deny`] refuses everyone
//! (403). An anonymous request on any other non-public rule gets 401. With no
//! matching rule, [`DefaultAccess::Deny`] refuses everyone and
//! [`DefaultAccess::Authenticated`] asks anonymous requests to authenticate.
//!
//! Because first-match makes shadowing easy, `check` runs [`RuleSet::analyse`]:
//! rules that can never match, earlier rules that take some of a later rule's
//! requests with a different decision, and public rules inside a protected prefix.
//! It also runs the policy's own tests (docs/REFERENCE.md#policy-tests) through [`run_cases`].

mod analysis;
mod decision;
mod host;
mod index;
mod matcher;
mod path;
mod pattern;
mod roles;
mod rule;
mod ruleset;
mod selftest;

pub use analysis::{Finding, FindingKind};
pub use decision::{authorize, Access, Decision, DefaultAccess, DenyReason, Grants, TokenRequirement, Who};
pub use host::is_host_and_port;
pub use matcher::{ConditionError, HostMatch, Methods};
pub use path::{normalize_path, path_segments, PathError, Segments};
pub use pattern::{Pattern, PatternError, Segment};
pub use roles::{PolicyError, RoleId, RoleSet, Roles, MAX_ROLES};
pub use rule::{Rule, RuleError, RuleId, RuleSpec};
pub use ruleset::{RuleSet, RuleSetBuilder, Ruling, Verdict};
pub use selftest::{run_cases, CaseFailure, CaseWho, Expect, PolicyCase};

#[cfg(test)]
mod tests;
